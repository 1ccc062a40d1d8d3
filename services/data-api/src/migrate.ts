import { fileURLToPath } from "node:url";
import type pg from "pg";
import { runner } from "node-pg-migrate";

/**
 * The data API's own table (`data_api_batch_state`, the postgres state backend) as ordered SQL
 * migrations in services/data-api/migrations, applied by node-pg-migrate. Database `mlops` is
 * shared with the model API and the pipeline, so each owner has its own version table and lock key.
 */

/** The version table: one row per migration applied. */
export const MIGRATIONS_TABLE = { schema: "public", table: "data_api_migrations" } as const;

/**
 * The session advisory lock that serialises replicas migrating at once: "mlops" in ASCII, then
 * the owner's number (1 model API, 2 data API, 3 pipeline), so owners never wait on each other.
 */
export const MIGRATION_LOCK_KEY = 0x6d6c6f707302;

/** services/data-api/migrations: one level above src/ (tests) and dist/ (the build, the image). */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export interface MigrateOptions {
    /** @default MIGRATIONS_DIR */
    readonly dir?: string;
    /** Apply only the first `count` migrations (tests of an upgrade). @default all */
    readonly count?: number;
    /** Where the library's own messages go (the SQL it runs, at debug). */
    readonly log?: (level: "debug" | "warn" | "error", message: string) => void;
}

/**
 * Applies the migrations not yet recorded, in order, in one transaction, on `client` (a
 * session: the advisory lock is held on it until the end). Concurrent callers wait for the
 * lock, then find nothing left to do. Returns the names applied (empty when up to date).
 */
export async function migrate(client: pg.ClientBase, opts: MigrateOptions = {}): Promise<string[]> {
    const log = opts.log ?? (() => undefined);
    const applied = await runner({
        dbClient: client,
        dir: opts.dir ?? MIGRATIONS_DIR,
        direction: "up",
        count: opts.count,
        migrationsSchema: MIGRATIONS_TABLE.schema,
        migrationsTable: MIGRATIONS_TABLE.table,
        lockValue: MIGRATION_LOCK_KEY,
        advisoryLockMode: "wait",
        checkOrder: true,
        singleTransaction: true,
        logger: { debug: (m) => log("debug", String(m)), info: (m) => log("debug", String(m)), warn: (m) => log("warn", String(m)), error: (m) => log("error", String(m)) },
        verbose: true,
    });
    return applied.map((m) => m.name);
}
