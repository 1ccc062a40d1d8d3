import { Pool, type PoolConfig } from "pg";
import type { FastifyBaseLogger } from "fastify";
import type { Metrics } from "./metrics";

export interface InferenceLogRow {
    ts: string;
    request_id: string;
    model_name: string;
    model_version: string;
    input: unknown;
    price: number;
    latency_ms: number;
}

export interface InferenceLogOptions {
    /** libpq-style connection string of the `mlops` database. */
    connectionString: string;
    flushIntervalMs: number;
    batchSize: number;
    /** Rows kept in memory while the database is slow or down; beyond it rows are dropped. */
    maxQueue: number;
    metrics: Metrics;
    log: FastifyBaseLogger;
}

/** Idempotent migration, run before the first write and again after a failed one. */
export const MIGRATION = `
CREATE SCHEMA IF NOT EXISTS serving;
CREATE TABLE IF NOT EXISTS serving.inference_log (
    id            bigserial PRIMARY KEY,
    ts            timestamptz NOT NULL,
    request_id    text NOT NULL,
    model_name    text NOT NULL,
    model_version text NOT NULL,
    input         jsonb NOT NULL,
    price         double precision NOT NULL,
    latency_ms    double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS inference_log_ts_idx ON serving.inference_log (ts);
`;

const INSERT = `
INSERT INTO serving.inference_log (ts, request_id, model_name, model_version, input, price, latency_ms)
SELECT ts, request_id, model_name, model_version, input, price, latency_ms
FROM jsonb_to_recordset($1::jsonb) AS r(ts timestamptz, request_id text, model_name text, model_version text, input jsonb, price float8, latency_ms float8)`;

/**
 * Writes prediction rows to `mlops.serving.inference_log` in batches, off the request path.
 * A failed write drops that batch and counts it: serving never waits for, nor fails because
 * of, the database.
 */
export class InferenceLog {
    private readonly pool: Pool;
    private queue: InferenceLogRow[] = [];
    private timer?: NodeJS.Timeout;
    private flushing?: Promise<void>;
    private migrated = false;

    constructor(private readonly opts: InferenceLogOptions) {
        const config: PoolConfig = {
            connectionString: opts.connectionString,
            max: 2,
            connectionTimeoutMillis: 2_000,
            idleTimeoutMillis: 10_000,
            statement_timeout: 5_000,
            query_timeout: 6_000,
            application_name: "model-api",
        };
        this.pool = new Pool(config);
        // An idle client's connection dying (database restart) must not crash the process.
        this.pool.on("error", (err) => opts.log.warn({ event: "inference_log_pool_error", error: err.message }, "inference log connection lost"));
        this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
        this.timer.unref();
    }

    /** Queues rows; never blocks and never throws. */
    add(rows: InferenceLogRow[]): void {
        const room = this.opts.maxQueue - this.queue.length;
        if (room < rows.length) {
            this.opts.metrics.logDropped.inc({ reason: "queue_full" }, rows.length - Math.max(room, 0));
            rows = rows.slice(0, Math.max(room, 0));
        }
        for (const r of rows) this.queue.push(r);
        if (this.queue.length >= this.opts.batchSize && !this.flushing) void this.flush();
    }

    get queued(): number {
        return this.queue.length;
    }

    /** Writes everything queued so far (one batch at a time). */
    flush(): Promise<void> {
        if (this.flushing) return this.flushing;
        this.flushing = (async () => {
            while (this.queue.length > 0) {
                const batch = this.queue.splice(0, this.opts.batchSize);
                try {
                    if (!this.migrated) {
                        await this.pool.query(MIGRATION);
                        this.migrated = true;
                    }
                    await this.pool.query(INSERT, [JSON.stringify(batch)]);
                    this.opts.metrics.logWritten.inc(batch.length);
                } catch (err) {
                    this.migrated = false;
                    this.opts.metrics.logDropped.inc({ reason: "write_failed" }, batch.length);
                    this.opts.log.warn({ event: "inference_log_dropped", rows: batch.length, error: (err as Error).message }, "inference log write failed; rows dropped");
                    // While the database is down, drop what is queued rather than retrying each batch.
                    const rest = this.queue.length;
                    if (rest > 0) {
                        this.opts.metrics.logDropped.inc({ reason: "write_failed" }, rest);
                        this.queue = [];
                    }
                }
            }
        })().finally(() => {
            this.flushing = undefined;
        });
        return this.flushing;
    }

    async close(): Promise<void> {
        if (this.timer) clearInterval(this.timer);
        await this.flush().catch(() => undefined);
        await this.pool.end().catch(() => undefined);
    }
}
