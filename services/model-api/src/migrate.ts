import * as fs from "node:fs";
import * as path from "node:path";
import type { ClientBase } from "pg";
import { runner } from "node-pg-migrate";

/**
 * The model API's own tables (`serving.inference_log`), as ordered SQL migrations in
 * services/model-api/migrations, applied by node-pg-migrate. Database `mlops` is shared with
 * the data API and the pipeline, so each owner has its own version table and lock key.
 */

/** The version table: one row per migration applied. */
export const MIGRATIONS_TABLE = { schema: "serving", table: "model_api_migrations" } as const;

/**
 * The session advisory lock that serialises replicas migrating at once: "mlops" in ASCII, then
 * the owner's number (1 model API, 2 data API, 3 pipeline), so owners never wait on each other.
 */
export const MIGRATION_LOCK_KEY = 0x6d6c6f707301;

/**
 * services/model-api/migrations: beside the nearest package.json above this file, which is
 * the service's in the repository (src/, dist/src/) and in the image (/app/services/model-api).
 */
export function migrationsDir(from: string = __dirname): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "package.json"))) return path.join(dir, "migrations");
        if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: cannot find the migrations`);
    }
}

export interface MigrateOptions {
    /** @default migrationsDir() */
    readonly dir?: string;
    /** Apply only the first `count` migrations (tests of an upgrade). @default all */
    readonly count?: number;
    /** Where the library's own messages go (the SQL it runs, at debug). */
    readonly log?: (level: "debug" | "info" | "warn" | "error", message: string) => void;
}

/**
 * Applies the migrations not yet recorded, in order, in one transaction, on `client` (a
 * session: the advisory lock is held on it until the end). Concurrent callers wait for the
 * lock, then find nothing left to do. Returns the names applied (empty when up to date).
 */
export async function migrate(client: ClientBase, opts: MigrateOptions = {}): Promise<string[]> {
    const log = opts.log ?? (() => undefined);
    const applied = await runner({
        dbClient: client,
        dir: opts.dir ?? migrationsDir(),
        direction: "up",
        count: opts.count,
        migrationsSchema: MIGRATIONS_TABLE.schema,
        createMigrationsSchema: true,
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
