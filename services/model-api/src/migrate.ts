import * as fs from "node:fs";
import * as path from "node:path";
import { Client, escapeIdentifier, type ClientBase } from "pg";
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

/** A role name as the platform's setup Job creates them (components/postgres.ts). */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Gives `role`, the server's own login role (created by the platform's Postgres setup Job),
 * exactly what the server runs and nothing else in schema `serving`: USAGE on the schema, INSERT
 * into serving.inference_log (src/inference-log.ts) and USAGE on its id sequence (the insert's
 * default draws from it). No SELECT, UPDATE, DELETE or TRUNCATE, no CREATE: the internet-facing
 * server can neither read back what it logged nor change or migrate the schema.
 *
 * Everything else the role holds in the schema is revoked first, so each run ends in the same
 * state whatever was granted by hand or by an older version; it runs on every start (the
 * platform's init container), so the grants also come back after a restore. Run it as the
 * owner, after migrate(): one transaction under the migrations' lock key, because concurrent
 * GRANTs on one table can fail ("tuple concurrently updated") when replicas start together.
 */
export async function grantRuntimeRole(client: ClientBase, role: string): Promise<void> {
    if (!ROLE_NAME.test(role)) throw new Error(`the runtime role must be a role name matching [a-z_][a-z0-9_]* (got '${role}')`);
    const r = escapeIdentifier(role);
    await client.query("BEGIN");
    try {
        await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
        const seq = (
            await client.query<{ seq: string | null }>(
                "SELECT CASE WHEN to_regclass('serving.inference_log') IS NOT NULL THEN pg_get_serial_sequence('serving.inference_log', 'id') END AS seq",
            )
        ).rows[0]?.seq;
        if (!seq) throw new Error("serving.inference_log (or its id sequence) does not exist: run the migrations first");
        await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA serving FROM ${r}`);
        await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA serving FROM ${r}`);
        await client.query(`REVOKE ALL ON SCHEMA serving FROM ${r}`);
        await client.query(`GRANT USAGE ON SCHEMA serving TO ${r}`);
        await client.query(`GRANT INSERT ON serving.inference_log TO ${r}`);
        // pg_get_serial_sequence returns the name quoted as needed.
        await client.query(`GRANT USAGE ON SEQUENCE ${seq} TO ${r}`);
        await client.query("COMMIT");
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

/**
 * The migrate program, run by the platform's init container before the server starts:
 *
 *   DATABASE_URL=<as the owner> DATABASE_RUNTIME_ROLE=model_api node services/model-api/dist/src/migrate.js
 *
 * Applies the migrations, then (with DATABASE_RUNTIME_ROLE) grantRuntimeRole. Prints JSON lines;
 * exit 0 when done, 1 on an error, 2 on bad settings.
 */
async function main(): Promise<number> {
    const url = process.env.DATABASE_URL?.trim();
    const role = process.env.DATABASE_RUNTIME_ROLE?.trim() || undefined;
    const problems: string[] = [];
    if (!url) problems.push("DATABASE_URL is not set");
    if (role !== undefined && !ROLE_NAME.test(role)) problems.push(`DATABASE_RUNTIME_ROLE must be a role name matching [a-z_][a-z0-9_]* (got '${role}')`);
    if (problems.length > 0) {
        console.error(JSON.stringify({ event: "migrate_config_error", errors: problems }));
        return 2;
    }
    // The same 5 s statement_timeout as the server's pool: what migrations are written against.
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000, statement_timeout: 5_000, application_name: "model-api-migrate" });
    try {
        await client.connect();
        const applied = await migrate(client, {
            log: (level, message) => {
                if (level !== "debug") console.log(JSON.stringify({ event: "migrate_log", level, message }));
            },
        });
        if (role !== undefined) await grantRuntimeRole(client, role);
        console.log(JSON.stringify({ event: "migrate_done", applied, grantedTo: role ?? null }));
        return 0;
    } catch (err) {
        console.error(JSON.stringify({ event: "migrate_failed", error: (err as Error).message }));
        return 1;
    } finally {
        await client.end().catch(() => {});
    }
}

if (require.main === module) {
    main().then((code) => process.exit(code));
}
