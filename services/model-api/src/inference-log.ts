import { Pool, type PoolConfig } from "pg";
import type { FastifyBaseLogger } from "fastify";
import type { Metrics } from "./metrics";
import { migrate } from "./migrate";

export interface InferenceLogRow {
    ts: string;
    request_id: string;
    model_name: string;
    model_version: string;
    /** sha256 of the model.onnx that answered (hex). */
    model_sha256: string;
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
    /**
     * Bring the table to the latest migration before the first write, and again after a failed
     * one. Off where the migrations run elsewhere, as the owner (the platform's migrate init
     * container), and the server's role may only insert: it could not migrate, and trying
     * would fail every write.
     * @default true
     */
    migrate?: boolean;
}

const INSERT = `
INSERT INTO serving.inference_log (ts, request_id, model_name, model_version, model_sha256, input, price, latency_ms)
SELECT ts, request_id, model_name, model_version, model_sha256, input, price, latency_ms
FROM jsonb_to_recordset($1::jsonb) AS r(ts timestamptz, request_id text, model_name text, model_version text, model_sha256 text, input jsonb, price float8, latency_ms float8)`;

/**
 * A fault of the data, not of the database: SQLSTATE class 22 (data exception, e.g. jsonb
 * refusing "\u0000") or 23 (integrity constraint violation, e.g. a null price). Writing the
 * same batch again fails again; writing it in parts fails only for the guilty rows.
 */
export function isDataError(err: unknown): boolean {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Writes prediction rows to `mlops.serving.inference_log` in batches, off the request path;
 * serving never waits for, nor fails because of, the database.
 *
 * - Database unreachable, timing out or failing (any error but a data error): that batch and
 *   everything queued are dropped and counted `write_failed`; the next batch tries again.
 * - A batch Postgres refuses for its data: the batch is split in halves, recursively, so only
 *   the rows Postgres refuses on their own are dropped, counted `unstorable` and logged by
 *   request id; the other rows are written. k bad rows in n cost about 2k*log2(n) statements.
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
                const settled = { rows: 0 };
                try {
                    await this.write(batch, settled);
                } catch (err) {
                    this.migrated = false;
                    const lost = batch.length - settled.rows;
                    this.opts.metrics.logDropped.inc({ reason: "write_failed" }, lost);
                    this.opts.log.warn({ event: "inference_log_dropped", rows: lost, error: (err as Error).message }, "inference log write failed; rows dropped");
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

    /**
     * Inserts `rows`, or on a data error the halves of `rows` (down to single rows, which are
     * dropped as unstorable). `settled` counts the rows written or dropped so far, so that a
     * connection failure half-way through counts only the rest as write_failed. Any other
     * error is thrown.
     */
    private async write(rows: InferenceLogRow[], settled: { rows: number }): Promise<void> {
        // Outside the try: a failed migration is never the rows' fault, whatever its SQLSTATE.
        if (!this.migrated && this.opts.migrate !== false) {
            await this.migrate();
            this.migrated = true;
        }
        try {
            await this.pool.query(INSERT, [JSON.stringify(rows)]);
        } catch (err) {
            if (!isDataError(err)) throw err;
            if (rows.length === 1) {
                const row = rows[0]!;
                const e = err as { code: string; message: string };
                this.opts.metrics.logDropped.inc({ reason: "unstorable" });
                this.opts.log.warn(
                    { event: "inference_log_unstorable", request_id: row.request_id, sqlstate: e.code, error: e.message },
                    "Postgres refused an inference log row; dropped, the rest of its batch is written",
                );
                settled.rows += 1;
                return;
            }
            const mid = Math.ceil(rows.length / 2);
            await this.write(rows.slice(0, mid), settled);
            await this.write(rows.slice(mid), settled);
            return;
        }
        this.opts.metrics.logWritten.inc(rows.length);
        settled.rows += rows.length;
    }

    /**
     * Brings the table to the latest migration (services/model-api/migrations) on one pooled
     * connection; the first write waits for it, and a failed write runs it again (the database
     * may have been replaced). Never with `migrate: false`. A connection that failed is
     * discarded, not returned to the pool.
     */
    private async migrate(): Promise<void> {
        const client = await this.pool.connect();
        let failure: Error | undefined;
        try {
            const applied = await migrate(client, {
                log: (level, message) => this.opts.log[level]({ event: "inference_log_migration" }, message),
            });
            if (applied.length > 0) this.opts.log.info({ event: "inference_log_migrated", applied }, "inference log schema migrated");
        } catch (err) {
            failure = err as Error;
            throw err;
        } finally {
            client.release(failure);
        }
    }

    async close(): Promise<void> {
        if (this.timer) clearInterval(this.timer);
        await this.flush().catch(() => undefined);
        await this.pool.end().catch(() => undefined);
    }
}
