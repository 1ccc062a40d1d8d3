import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
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

/** A role name as the platform's setup Job creates them (components/postgres.ts). */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Gives `role`, the server's own login role (created by the platform's Postgres setup Job),
 * exactly what the server runs (src/state.ts PostgresStateStore) and nothing else in schema
 * `public`: SELECT, INSERT, UPDATE and DELETE on data_api_batch_state (advance: INSERT ... ON
 * CONFLICT DO NOTHING, SELECT ... FOR UPDATE, UPDATE; reset: DELETE). No TRUNCATE, no CREATE, no
 * access to the version table or to anyone else's tables (the pipeline's, the model API's).
 *
 * Everything else the role holds in the schema is revoked first, so each run ends in the same
 * state; it runs on every start (the platform's init container), so the grants also come back
 * after a restore. Run it as the owner, after migrate(): one transaction under the migrations'
 * lock key, because concurrent GRANTs on one table can fail ("tuple concurrently updated") when
 * replicas start together.
 */
export async function grantRuntimeRole(client: pg.ClientBase, role: string): Promise<void> {
    if (!ROLE_NAME.test(role)) throw new Error(`the runtime role must be a role name matching [a-z_][a-z0-9_]* (got '${role}')`);
    const r = pg.escapeIdentifier(role);
    await client.query("BEGIN");
    try {
        await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
        await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${r}`);
        await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${r}`);
        // USAGE only (PUBLIC has it too); CREATE, should anyone have granted it, goes.
        await client.query(`REVOKE ALL ON SCHEMA public FROM ${r}`);
        await client.query(`GRANT USAGE ON SCHEMA public TO ${r}`);
        await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON public.data_api_batch_state TO ${r}`);
        await client.query("COMMIT");
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

/**
 * The migrate program, run by the platform's init container before the server starts:
 *
 *   DATA_API_DATABASE_URL=<as the owner> DATA_API_DATABASE_RUNTIME_ROLE=data_api node services/data-api/dist/migrate.js
 *
 * Applies the migrations, then (with DATA_API_DATABASE_RUNTIME_ROLE) grantRuntimeRole. Prints JSON
 * lines; exit 0 when done, 1 on an error, 2 on bad settings.
 */
async function main(): Promise<number> {
    const url = process.env.DATA_API_DATABASE_URL?.trim();
    const role = process.env.DATA_API_DATABASE_RUNTIME_ROLE?.trim() || undefined;
    const problems: string[] = [];
    if (!url) problems.push("DATA_API_DATABASE_URL is not set");
    if (role !== undefined && !ROLE_NAME.test(role)) problems.push(`DATA_API_DATABASE_RUNTIME_ROLE must be a role name matching [a-z_][a-z0-9_]* (got '${role}')`);
    if (problems.length > 0) {
        console.error(JSON.stringify({ event: "migrate_config_error", errors: problems }));
        return 2;
    }
    // The same 5 s statement_timeout as the server's pool: what migrations are written against.
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, statement_timeout: 5_000, application_name: "data-api-migrate" });
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

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
    main().then((code) => process.exit(code));
}
