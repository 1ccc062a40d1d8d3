import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../../tests/support/postgres-server.js";
import { grantRuntimeRole, migrate, MIGRATION_LOCK_KEY, MIGRATIONS_DIR, type MigrateOptions } from "../src/migrate.js";
import { createOwnedDatabase, createServiceRole, queryOn, startDataApi } from "./helpers.js";

/**
 * The data API's migrations (services/data-api/migrations, node-pg-migrate) against a real
 * Postgres, each case on its own database owned by a non-superuser role as in the cluster: a
 * fresh database, an install made by the previous schema (the CREATE ... IF NOT EXISTS the
 * data API ran before versioned migrations, kept in test/fixtures) with counters in it, a
 * second run, concurrent runs, and the advisory lock.
 */
const ALL = ["0001_batch-state"];
const PREVIOUS_SCHEMA = fs.readFileSync(new URL("./fixtures/batch-state-previous-schema.sql", import.meta.url), "utf8");

async function migrateOn(dsn: string, opts: MigrateOptions = {}): Promise<string[]> {
    const c = new pg.Client({ connectionString: dsn });
    await c.connect();
    try {
        return await migrate(c, opts);
    } finally {
        await c.end();
    }
}

/** What a reader of the catalog sees of data_api_batch_state: columns, indexes, constraints. */
async function shape(dsn: string) {
    const q = (sql: string) => queryOn(dsn, sql);
    return {
        columns: await q(`SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
                          WHERE table_schema = 'public' AND table_name = 'data_api_batch_state' ORDER BY ordinal_position`),
        indexes: await q("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'data_api_batch_state' ORDER BY indexname"),
        constraints: await q("SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'data_api_batch_state'::regclass ORDER BY conname"),
        tables: (await q("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).map((r) => r.table_name),
    };
}

const versions = async (dsn: string) => (await queryOn(dsn, "SELECT name FROM data_api_migrations ORDER BY id")).map((r) => r.name);

describe.sequential("batch state migrations (real Postgres)", () => {
    let server: PostgresServer;
    let n = 0;
    /** A fresh database for one case. */
    const fresh = () => createOwnedDatabase(server, `mig_${n++}`);

    beforeAll(async () => {
        server = await startPostgres();
    });
    afterAll(() => server?.stop());

    it("ships exactly the migrations it knows, in order", () => {
        expect(fs.readdirSync(MIGRATIONS_DIR).sort()).toEqual(ALL.map((m) => `${m}.sql`));
    });

    it("a fresh database migrates to the latest version", async () => {
        const dsn = fresh();
        expect(await migrateOn(dsn)).toEqual(ALL);
        expect(await versions(dsn)).toEqual(ALL);
        const s = await shape(dsn);
        expect(s.tables).toEqual(["data_api_batch_state", "data_api_migrations"]);
        expect(s.columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
            ["group_number", "integer", "NO"],
            ["day", "text", "NO"],
            ["batch_number", "integer", "NO"],
            ["advanced_at", "timestamp with time zone", "NO"],
        ]);
        expect(s.constraints.map((c) => [c.conname, c.def])).toEqual([["data_api_batch_state_pkey", "PRIMARY KEY (group_number, day)"]]);
    });

    it("migration 0001 is the previous schema, exactly", async () => {
        const byFixture = fresh();
        await queryOn(byFixture, PREVIOUS_SCHEMA);
        const byMigration = fresh();
        expect(await migrateOn(byMigration, { count: 1 })).toEqual(["0001_batch-state"]);
        const a = await shape(byFixture);
        const b = await shape(byMigration);
        expect(b.columns).toEqual(a.columns);
        expect(b.indexes).toEqual(a.indexes);
        expect(b.constraints).toEqual(a.constraints);
    });

    it("an install made by the previous schema, with counters, is adopted: every row kept, the version recorded, the counters go on", async () => {
        const dsn = fresh();
        await queryOn(dsn, PREVIOUS_SCHEMA);
        await queryOn(
            dsn,
            `INSERT INTO data_api_batch_state (group_number, day, batch_number, advanced_at)
             SELECT g, d, g % 7, now() - make_interval(hours => g)
             FROM generate_series(1, 300) AS g, unnest(ARRAY['Tuesday', 'Wednesday']) AS d`,
        );
        const before = await queryOn(dsn, "SELECT * FROM data_api_batch_state ORDER BY group_number, day");
        expect(before).toHaveLength(600);

        expect(await migrateOn(dsn)).toEqual(ALL);
        expect(await versions(dsn)).toEqual(ALL);
        expect(await queryOn(dsn, "SELECT * FROM data_api_batch_state ORDER BY group_number, day")).toEqual(before);

        // The data API itself on the adopted table: group 5 had served batch 5, so it serves 6.
        const api = await startDataApi({ DATA_API_STATE_BACKEND: "postgres", DATA_API_DATABASE_URL: dsn, DATA_API_BATCHES: "10", DATA_API_BATCH_SIZE: "2", DATA_API_INTERVAL_SECONDS: "0" });
        try {
            expect((await api.get("/data?group_number=5&day=Tuesday")).body.batch_number).toBe(6);
        } finally {
            await api.close();
        }
        expect(await versions(dsn)).toEqual(ALL);
    });

    it("running the migrations again applies nothing", async () => {
        const dsn = fresh();
        expect(await migrateOn(dsn)).toEqual(ALL);
        expect(await migrateOn(dsn)).toEqual([]);
        expect(await migrateOn(dsn)).toEqual([]);
        expect(await versions(dsn)).toEqual(ALL);
    });

    it("six replicas starting at once on a fresh database: one applies, the others wait and apply nothing", async () => {
        const dsn = fresh();
        const results = await Promise.all(Array.from({ length: 6 }, () => migrateOn(dsn)));
        expect(results.filter((r) => r.length > 0)).toEqual([ALL]);
        expect(results.filter((r) => r.length === 0)).toHaveLength(5);
        expect(await versions(dsn)).toEqual(ALL);
    });

    it("waits while another session holds the lock key, and only on its own key", async () => {
        /** A session of its own on `dsn` holding advisory lock `key`. */
        const hold = async (dsn: string, key: number) => {
            const c = new pg.Client({ connectionString: dsn });
            await c.connect();
            await c.query("SELECT pg_advisory_lock($1)", [key]);
            return c;
        };
        // The model API's key (…01) and the pipeline's (…03), held in the same database, do not hold it up.
        const other = fresh();
        const others = [await hold(other, MIGRATION_LOCK_KEY - 1), await hold(other, MIGRATION_LOCK_KEY + 1)];
        try {
            expect(await migrateOn(other)).toEqual(ALL);
        } finally {
            for (const c of others) await c.end();
        }

        const dsn = fresh();
        const holder = await hold(dsn, MIGRATION_LOCK_KEY);
        try {
            let settled = false;
            const run = migrateOn(dsn).finally(() => (settled = true));
            await new Promise((r) => setTimeout(r, 1_000));
            expect(settled).toBe(false);
            const waiting = await queryOn(dsn, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
            expect(waiting[0].n).toBe(1);
            expect((await queryOn(dsn, "SELECT to_regclass('data_api_migrations')::text AS t"))[0].t).toBeNull();
            await holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
            expect(await run).toEqual(ALL);
        } finally {
            await holder.end();
        }
    });
});

/** The role's privileges on tables and schemas, as the catalog states them. */
async function privilegesOf(dsn: string, role: string) {
    return {
        tables: (
            await queryOn(
                dsn,
                `SELECT table_schema || '.' || table_name AS t, string_agg(privilege_type, ',' ORDER BY privilege_type) AS p
                 FROM information_schema.role_table_grants WHERE grantee = $1 GROUP BY 1 ORDER BY 1`,
                [role],
            )
        ).map((r) => `${r.t}: ${r.p}`),
        publicSchema: (await queryOn(dsn, "SELECT has_schema_privilege($1, 'public', 'USAGE') AS usage, has_schema_privilege($1, 'public', 'CREATE') AS create", [role]))[0],
    };
}

// The built program (`npm run build`), as the platform's migrate init container runs it.
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/migrate.js");
const runCli = (env: Record<string, string>) => spawnSync(process.execPath, [cli], { encoding: "utf8", env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });
const lastLine = (out: string) => JSON.parse(out.trim().split("\n").pop()!);

describe.sequential("the server's own role: migrations as the owner, then exactly the grants the server needs (real Postgres)", () => {
    let server: PostgresServer;
    let n = 0;

    beforeAll(async () => {
        server = await startPostgres();
    });
    afterAll(() => server?.stop());

    /** A database owned by its own role, and a role `role_<n>` that may only connect to it. */
    const layout = () => {
        const name = `grant_${n++}`;
        const owner = createOwnedDatabase(server, name);
        const role = `role_${name}`;
        return { owner, role, runtime: createServiceRole(server, role, name) };
    };
    const grant = async (dsn: string, role: string) => {
        const c = new pg.Client({ connectionString: dsn });
        await c.connect();
        try {
            await grantRuntimeRole(c, role);
        } finally {
            await c.end();
        }
    };

    it("grants SELECT, INSERT, UPDATE, DELETE on the counters, USAGE on the schema, and nothing else; again changes nothing", async () => {
        const { owner, role } = layout();
        await migrateOn(owner);
        await grant(owner, role);
        const expected = { tables: ["public.data_api_batch_state: DELETE,INSERT,SELECT,UPDATE"], publicSchema: { usage: true, create: false } };
        expect(await privilegesOf(owner, role)).toEqual(expected);
        await grant(owner, role);
        expect(await privilegesOf(owner, role)).toEqual(expected);
    });

    it("takes back what was granted by hand in the schema (the version table, TRUNCATE, CREATE)", async () => {
        const { owner, role } = layout();
        await migrateOn(owner);
        await queryOn(owner, `GRANT ALL ON data_api_migrations, data_api_batch_state TO ${role}; GRANT CREATE ON SCHEMA public TO ${role}`);
        await grant(owner, role);
        expect(await privilegesOf(owner, role)).toEqual({ tables: ["public.data_api_batch_state: DELETE,INSERT,SELECT,UPDATE"], publicSchema: { usage: true, create: false } });
    });

    it("six replicas granting at once all succeed (one at a time, under the migrations' lock key)", async () => {
        const { owner, role } = layout();
        await migrateOn(owner);
        await Promise.all(Array.from({ length: 6 }, () => grant(owner, role)));
        expect((await privilegesOf(owner, role)).tables).toEqual(["public.data_api_batch_state: DELETE,INSERT,SELECT,UPDATE"]);
    });

    it("refuses a role name that is not a plain identifier, before touching the database", async () => {
        const { owner } = layout();
        await expect(grant(owner, 'x"; DROP TABLE data_api_batch_state; --')).rejects.toThrow("the runtime role must be a role name matching [a-z_][a-z0-9_]*");
    });

    it("the built program exists (npm run build -w services/data-api)", () => {
        expect(fs.existsSync(cli), `${cli} missing: build first`).toBe(true);
    });

    it("the built program, as the init container runs it: migrates, grants, prints what it did; a second run applies nothing", () => {
        const { owner, role } = layout();
        const env = { DATA_API_DATABASE_URL: owner, DATA_API_DATABASE_RUNTIME_ROLE: role };
        const first = runCli(env);
        expect(first.status, first.stderr).toBe(0);
        expect(lastLine(first.stdout)).toEqual({ event: "migrate_done", applied: ALL, grantedTo: role });
        const again = runCli(env);
        expect(again.status, again.stderr).toBe(0);
        expect(lastLine(again.stdout)).toEqual({ event: "migrate_done", applied: [], grantedTo: role });
    });

    it("the built program: exit 2 naming each bad setting, exit 1 naming the error (a role that does not exist)", () => {
        const bad = runCli({ DATA_API_DATABASE_RUNTIME_ROLE: "Robert'); --" });
        expect(bad.status).toBe(2);
        expect(JSON.parse(bad.stderr.trim())).toEqual({
            event: "migrate_config_error",
            errors: ["DATA_API_DATABASE_URL is not set", "DATA_API_DATABASE_RUNTIME_ROLE must be a role name matching [a-z_][a-z0-9_]* (got 'Robert'); --')"],
        });
        const { owner } = layout();
        const missing = runCli({ DATA_API_DATABASE_URL: owner, DATA_API_DATABASE_RUNTIME_ROLE: "nobody" });
        expect(missing.status).toBe(1);
        expect(JSON.parse(missing.stderr.trim())).toEqual({ event: "migrate_failed", error: 'role "nobody" does not exist' });
    });

    it("the server as its role, migrations off: serves and resets; with them on it could not migrate", async () => {
        const { owner, role, runtime } = layout();
        expect(runCli({ DATA_API_DATABASE_URL: owner, DATA_API_DATABASE_RUNTIME_ROLE: role }).status).toBe(0);
        const api = await startDataApi({ DATA_API_STATE_BACKEND: "postgres", DATA_API_DATABASE_URL: runtime, DATA_API_DB_MIGRATE: "false", DATA_API_BATCHES: "2", DATA_API_BATCH_SIZE: "2", DATA_API_INTERVAL_SECONDS: "0" });
        try {
            expect((await api.get("/data?group_number=1&day=Tuesday")).body.batch_number).toBe(1);
            expect((await api.get("/restart_data_generation?group_number=1&day=Tuesday")).status).toBe(200);
            expect((await api.get("/data?group_number=1&day=Tuesday")).body.batch_number).toBe(1);
        } finally {
            await api.close();
        }
        const c = new pg.Client({ connectionString: runtime });
        await c.connect();
        try {
            await expect(migrate(c)).rejects.toThrow(/permission denied/);
        } finally {
            await c.end();
        }
    });
});
