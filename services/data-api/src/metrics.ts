import * as client from "prom-client";

/** The data API's Prometheus metrics, in a registry of their own (one per app instance). */
export function createMetrics() {
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix: "data_api_" });
    return {
        registry,
        requests: new client.Counter({
            name: "data_api_requests_total",
            help: "HTTP requests by route and status code",
            labelNames: ["route", "status"] as const,
            registers: [registry],
        }),
        batchesServed: new client.Counter({
            name: "data_api_batches_served_total",
            help: "Successful /data responses per group and day (a batch served again within the interval counts again)",
            labelNames: ["group_number", "day"] as const,
            registers: [registry],
        }),
        currentBatch: new client.Gauge({
            name: "data_api_current_batch",
            help: "Batch number most recently reached per group and day (0 after a restart)",
            labelNames: ["group_number", "day"] as const,
            registers: [registry],
        }),
        batchRows: new client.Gauge({
            name: "data_api_batch_rows",
            help: "Rows in each batch, set when the batch is first served",
            labelNames: ["group_number", "day", "batch_number"] as const,
            registers: [registry],
        }),
        price: new client.Histogram({
            name: "data_api_listing_price_dollars",
            help: "Prices of the listings served (each batch counted once, when first served; rows with no or non-positive price left out)",
            buckets: [100_000, 200_000, 300_000, 400_000, 500_000, 750_000, 1_000_000, 1_500_000, 2_000_000, 3_000_000, 5_000_000],
            registers: [registry],
        }),
    };
}
export type Metrics = ReturnType<typeof createMetrics>;
