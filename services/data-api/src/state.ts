import * as fs from "node:fs";
import * as path from "node:path";
import pg from "pg";
import { migrate } from "./migrate.js";

/** What a /data call gets: the batch to serve, or "every batch has been served". */
export type Advance = { readonly kind: "batch"; readonly batchNumber: number; readonly advanced: boolean } | { readonly kind: "exhausted" };

export interface AdvanceRule {
    readonly intervalMs: number;
    readonly batches: number;
}

/**
 * The per-(group, day) batch counter. `advance` is the only write: first call -> batch 1;
 * later calls move to the next batch once `intervalMs` has passed since the previous move,
 * and otherwise serve the same batch again; past the last batch -> exhausted. Each
 * implementation makes the read-modify-write atomic, so concurrent calls never skip or
 * repeat a batch number.
 */
export interface BatchStateStore {
    advance(group: number, day: string, rule: AdvanceRule): Promise<Advance>;
    reset(group: number, day: string): Promise<void>;
    close(): Promise<void>;
}

interface Entry {
    batch_number: number;
    advanced_at: number;
}

function step(prev: Entry | undefined, now: number, rule: AdvanceRule): { next: Entry; advanced: boolean } {
    if (!prev) return { next: { batch_number: 1, advanced_at: now }, advanced: true };
    if (prev.batch_number <= rule.batches && now - prev.advanced_at >= rule.intervalMs) {
        return { next: { batch_number: prev.batch_number + 1, advanced_at: now }, advanced: true };
    }
    return { next: prev, advanced: false };
}

const toAdvance = (e: Entry, advanced: boolean, rule: AdvanceRule): Advance =>
    e.batch_number > rule.batches ? { kind: "exhausted" } : { kind: "batch", batchNumber: e.batch_number, advanced };

/**
 * State in a JSON file. Node runs the read-modify-write synchronously (no await between
 * reading the counter and writing it), so one process cannot interleave two advances; the file
 * is replaced atomically (write + rename) so a crash never leaves half a file. One process
 * per file: for several replicas use the postgres store.
 */
export class FileStateStore implements BatchStateStore {
    private readonly entries: Map<string, Entry>;

    constructor(private readonly file: string) {
        this.entries = new Map();
        if (fs.existsSync(file)) {
            const data = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, Entry>;
            for (const [k, v] of Object.entries(data)) this.entries.set(k, v);
        } else {
            fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        }
    }

    private persist(): void {
        const tmp = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.entries)));
        fs.renameSync(tmp, this.file);
    }

    async advance(group: number, day: string, rule: AdvanceRule): Promise<Advance> {
        const key = `${group}|${day}`;
        const { next, advanced } = step(this.entries.get(key), Date.now(), rule);
        if (advanced) {
            this.entries.set(key, next);
            this.persist();
        }
        return toAdvance(next, advanced, rule);
    }

    async reset(group: number, day: string): Promise<void> {
        if (this.entries.delete(`${group}|${day}`)) this.persist();
    }

    async close(): Promise<void> {}
}

/**
 * The state store could not answer: Postgres down, restarting, unreachable, or too slow (connect
 * or statement timeout). Answered 503: a client retries later; nothing was changed.
 */
export class StateUnavailableError extends Error {
    constructor(cause: Error) {
        super(`the batch state store (Postgres) is unavailable: ${cause.message}`, { cause });
    }
}

/**
 * SQLSTATE classes that mean "the server is not there or gave up on us" rather than a fault of
 * the statement: 08 connection exception, 53 insufficient resources, 57 operator intervention
 * (admin shutdown, cannot connect now, statement timeout 57014, also
 * when the statement waited on a lock), 58 system error. An error with
 * no SQLSTATE at all comes from the driver or the socket (refused, reset, connect or query timeout).
 */
export function isUnavailable(err: unknown): boolean {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return /^(08|53|57|58)/.test(code);
    return true;
}

export interface PostgresStoreOptions {
    /** Gives up on opening a connection after this long (a server that accepts and never answers). @default 2000 */
    readonly connectTimeoutMs?: number;
    /** Server-side statement_timeout; the client gives up 1 s later if the server does not answer at all. @default 5000 */
    readonly statementTimeoutMs?: number;
    /** Where a connection lost while idle in the pool is reported (it must not crash the process). */
    readonly onPoolError?: (err: Error) => void;
    /** Where migration messages go: what was applied (info), the migration library's own lines (debug, warn, error). */
    readonly log?: (level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
    /**
     * Bring the table to the latest migration before the first call. Off where the migrations
     * run elsewhere, as the owner (the platform's migrate init container, `dist/migrate.js`),
     * and the server's role may only use the table: it could not migrate, and trying would fail
     * every call.
     * @default true
     */
    readonly migrate?: boolean;
}

/**
 * State in Postgres: one transaction per call that locks the counter's row (SELECT ... FOR
 * UPDATE), so concurrent calls from any number of replicas serialise on it; the database clock
 * decides the interval, so replicas with skewed clocks still agree. When Postgres is down or
 * slow, calls fail within the timeouts with StateUnavailableError (nothing waits for it to come
 * back), and the first call after it is back opens fresh connections.
 */
export class PostgresStateStore implements BatchStateStore {
    private readonly pool: pg.Pool;
    private schema?: Promise<void>;

    constructor(databaseUrl: string, private readonly opts: PostgresStoreOptions = {}) {
        const statementTimeout = opts.statementTimeoutMs ?? 5_000;
        this.pool = new pg.Pool({
            connectionString: databaseUrl,
            max: 5,
            connectionTimeoutMillis: opts.connectTimeoutMs ?? 2_000,
            idleTimeoutMillis: 10_000,
            statement_timeout: statementTimeout,
            idle_in_transaction_session_timeout: statementTimeout * 2,
            query_timeout: statementTimeout + 1_000,
            application_name: "data-api",
        });
        // A Postgres restart terminates the idle connections; unhandled, that 'error' event would end the process.
        this.pool.on("error", (err) => opts.onPoolError?.(err));
    }

    /**
     * Runs `fn` on a pooled connection. A connection that failed is destroyed, not returned to the
     * pool, and failures of the server itself become StateUnavailableError.
     */
    private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
        let client: pg.PoolClient;
        try {
            client = await this.pool.connect();
        } catch (err) {
            throw new StateUnavailableError(err as Error);
        }
        // While checked out the pool does not listen: a connection dying between two queries would be an uncaught 'error'.
        const onError = () => undefined;
        client.on("error", onError);
        let failure: Error | undefined;
        try {
            return await fn(client);
        } catch (err) {
            failure = err as Error;
            throw isUnavailable(err) ? new StateUnavailableError(failure) : failure;
        } finally {
            client.removeListener("error", onError);
            client.release(failure);
        }
    }

    /**
     * Brings the table to the latest migration (services/data-api/migrations) once, before the
     * first call; replicas starting together serialise on the migrations' advisory lock. Retried
     * after a failure.
     */
    private ready(): Promise<void> {
        if (this.opts.migrate === false) return Promise.resolve();
        this.schema ??= this.withClient(async (client) => {
            const applied = await migrate(client, { log: this.opts.log });
            if (applied.length > 0) this.opts.log?.("info", "batch state schema migrated", { applied });
        }).catch((err: unknown) => {
            this.schema = undefined;
            throw err;
        });
        return this.schema;
    }

    async advance(group: number, day: string, rule: AdvanceRule): Promise<Advance> {
        await this.ready();
        return this.withClient(async (client) => {
            try {
                await client.query("BEGIN");
                // batch_number 0 = nothing served yet; the row then exists for FOR UPDATE to lock.
                await client.query(
                    "INSERT INTO data_api_batch_state (group_number, day, batch_number, advanced_at) VALUES ($1, $2, 0, 'epoch') ON CONFLICT DO NOTHING",
                    [group, day],
                );
                const cur = await client.query<{ batch_number: number; elapsed_ms: string }>(
                    `SELECT batch_number, (EXTRACT(EPOCH FROM clock_timestamp() - advanced_at) * 1000)::float8 AS elapsed_ms
                     FROM data_api_batch_state WHERE group_number = $1 AND day = $2 FOR UPDATE`,
                    [group, day],
                );
                const row = cur.rows[0]!;
                const prev = row.batch_number === 0 ? undefined : { batch_number: row.batch_number, advanced_at: 0 };
                const { next, advanced } = step(prev, Number(row.elapsed_ms), rule);
                if (advanced) {
                    await client.query("UPDATE data_api_batch_state SET batch_number = $3, advanced_at = clock_timestamp() WHERE group_number = $1 AND day = $2", [
                        group,
                        day,
                        next.batch_number,
                    ]);
                }
                await client.query("COMMIT");
                return toAdvance(next, advanced, rule);
            } catch (err) {
                await client.query("ROLLBACK").catch(() => undefined);
                throw err;
            }
        });
    }

    async reset(group: number, day: string): Promise<void> {
        await this.ready();
        await this.withClient((client) => client.query("DELETE FROM data_api_batch_state WHERE group_number = $1 AND day = $2", [group, day]));
    }

    async close(): Promise<void> {
        await this.schema?.catch(() => undefined);
        await this.pool.end();
    }
}
