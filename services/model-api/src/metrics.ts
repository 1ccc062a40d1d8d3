import * as client from "prom-client";

/** One registry per app instance (tests build several apps in one process). */
export function createMetrics() {
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry });
    const m = {
        registry,
        httpDuration: new client.Histogram({
            name: "model_api_http_request_duration_seconds",
            help: "HTTP request duration by route, method and status code",
            labelNames: ["route", "method", "status_code"] as const,
            buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
            registers: [registry],
        }),
        predictions: new client.Counter({
            name: "model_api_predictions_total",
            help: "Predicted rows by model version",
            labelNames: ["model_name", "model_version"] as const,
            registers: [registry],
        }),
        inferenceDuration: new client.Histogram({
            name: "model_api_inference_duration_seconds",
            help: "ONNX session run duration per request (single or batch)",
            labelNames: ["kind"] as const,
            buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
            registers: [registry],
        }),
        modelLoads: new client.Counter({
            name: "model_api_model_loads_total",
            help: "Models loaded and swapped in",
            labelNames: ["source"] as const,
            registers: [registry],
        }),
        modelLoadFailures: new client.Counter({
            name: "model_api_model_load_failures_total",
            help: "Failed attempts to resolve, download or load a model (the previous model keeps serving)",
            labelNames: ["source"] as const,
            registers: [registry],
        }),
        modelVersion: new client.Gauge({
            name: "model_api_model_version",
            help: "Version of the model being served (0 before the first load)",
            labelNames: ["model_name"] as const,
            registers: [registry],
        }),
        logWritten: new client.Counter({
            name: "model_api_inference_log_rows_written_total",
            help: "Inference log rows written to Postgres",
            registers: [registry],
        }),
        logDropped: new client.Counter({
            name: "model_api_inference_log_rows_dropped_total",
            help: "Inference log rows dropped: write_failed (database unreachable or failing), unstorable (a row Postgres refused; the rest of its batch was written), queue_full",
            labelNames: ["reason"] as const,
            registers: [registry],
        }),
    };
    // Every label exists from the start so dashboards and tests see 0, not an absent series.
    m.logDropped.inc({ reason: "write_failed" }, 0);
    m.logDropped.inc({ reason: "unstorable" }, 0);
    m.logDropped.inc({ reason: "queue_full" }, 0);
    m.modelLoadFailures.inc({ source: "mlflow" }, 0);
    return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
