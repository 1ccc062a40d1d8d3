import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../../tests/support/postgres-server";
import { InferenceLog } from "../src/inference-log";
import { createMetrics } from "../src/metrics";
import { grantRuntimeRole, MIGRATION_LOCK_KEY, migrationsDir } from "../src/migrate";
import { testLogger } from "./support/helpers";
import { createOwnedDatabase, createServiceRole, migrateOn, queryOn } from "./support/mlops-db";

/**
 * The model API's migrations (services/model-api/migrations, node-pg-migrate) against a real
 * Postgres, each case on its own database owned by a non-superuser role as in the cluster:
 * a fresh database, an install made by the previous schema (the CREATE ... IF NOT EXISTS the
 * model API ran before versioned migrations, kept in test/fixtures) with rows in it, a second
 * run, concurrent runs, and the advisory lock.
 */
const ALL = ["0001_inference-log", "0002_model-sha256"];
const PREVIOUS_SCHEMA = fs.readFileSync(path.join(__dirname, "fixtures/inference-log-previous-schema.sql"), "utf8");

/** What a reader of the catalog sees of serving.inference_log: columns, indexes, constraints. */
async function shape(dsn: string) {
    const q = (sql: string) => queryOn(dsn, sql);
    return {
        columns: await q(`SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
                          WHERE table_schema = 'serving' AND table_name = 'inference_log' ORDER BY ordinal_position`),
        indexes: await q("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'serving' AND tablename = 'inference_log' ORDER BY indexname"),
        constraints: await q("SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE conrelid = 'serving.inference_log'::regclass ORDER BY conname"),
        tables: (await q("SELECT table_name FROM information_schema.tables WHERE table_schema = 'serving' ORDER BY 1")).map((r) => r.table_name),
    };
}

const versions = async (dsn: string) => (await queryOn(dsn, "SELECT name FROM serving.model_api_migrations ORDER BY id")).map((r) => r.name);

describe.sequential("inference log migrations (real Postgres)", () => {
    let pg: PostgresServer;
    let n = 0;
    /** A fresh database for one case. */
    const fresh = () => createOwnedDatabase(pg, `mig_${n++}`);

    beforeAll(async () => {
        pg = await startPostgres();
    });
    afterAll(() => pg?.stop());

    it("ships exactly the migrations it knows, in order", () => {
        expect(fs.readdirSync(migrationsDir()).sort()).toEqual(ALL.map((m) => `${m}.sql`));
    });

    it("a fresh database migrates to the latest version", async () => {
        const dsn = fresh();
        expect(await migrateOn(dsn)).toEqual(ALL);
        expect(await versions(dsn)).toEqual(ALL);
        const s = await shape(dsn);
        expect(s.tables).toEqual(["inference_log", "model_api_migrations"]);
        expect(s.columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
            ["id", "bigint", "NO"],
            ["ts", "timestamp with time zone", "NO"],
            ["request_id", "text", "NO"],
            ["model_name", "text", "NO"],
            ["model_version", "text", "NO"],
            ["input", "jsonb", "NO"],
            ["price", "double precision", "NO"],
            ["latency_ms", "double precision", "NO"],
            ["model_sha256", "text", "YES"],
        ]);
        expect(s.indexes.map((i) => i.indexname)).toEqual(["inference_log_pkey", "inference_log_ts_idx"]);
        expect(s.constraints.map((c) => [c.conname, c.def, c.convalidated])).toEqual([
            ["inference_log_model_sha256_hex", "CHECK ((model_sha256 ~ '^[0-9a-f]{64}$'::text)) NOT VALID", false],
            ["inference_log_pkey", "PRIMARY KEY (id)", true],
        ]);
    });

    it("migration 0001 is the previous schema, exactly", async () => {
        const byFixture = fresh();
        await queryOn(byFixture, PREVIOUS_SCHEMA);
        const byMigration = fresh();
        expect(await migrateOn(byMigration, { count: 1 })).toEqual(["0001_inference-log"]);
        const a = await shape(byFixture);
        const b = await shape(byMigration);
        expect(b.columns).toEqual(a.columns);
        expect(b.indexes).toEqual(a.indexes);
        expect(b.constraints).toEqual(a.constraints);
    });

    it("an install made by the previous schema, with rows, is adopted and upgraded: every row kept, the latest version recorded, the code writes to it", async () => {
        const dsn = fresh();
        await queryOn(dsn, PREVIOUS_SCHEMA);
        await queryOn(
            dsn,
            `INSERT INTO serving.inference_log (ts, request_id, model_name, model_version, input, price, latency_ms)
             SELECT now() - make_interval(secs => g), 'old-' || g, 'realtor-price', (g % 3 + 1)::text,
                    jsonb_build_object('bed', g % 5, 'city', 'springfield ' || g), 100000 + g, g / 10.0
             FROM generate_series(1, 5000) AS g`,
        );
        const before = await queryOn(dsn, "SELECT * FROM serving.inference_log ORDER BY id");
        expect(before).toHaveLength(5000);

        expect(await migrateOn(dsn)).toEqual(ALL);
        expect(await versions(dsn)).toEqual(ALL);
        const after = await queryOn(dsn, "SELECT * FROM serving.inference_log ORDER BY id");
        expect(after.map(({ model_sha256, ...rest }) => rest)).toEqual(before);
        expect(after.every((r) => r.model_sha256 === null)).toBe(true);

        // The model API's own insert, through InferenceLog, lands after the old rows with its sha256.
        const metrics = createMetrics();
        const log = new InferenceLog({ connectionString: dsn, flushIntervalMs: 3_600_000, batchSize: 10, maxQueue: 100, metrics, log: testLogger("migrations") });
        const sha = "ab".repeat(32);
        try {
            log.add([{ ts: new Date().toISOString(), request_id: "new-1", model_name: "realtor-price", model_version: "4", model_sha256: sha, input: { bed: 2 }, price: 1, latency_ms: 1 }]);
            await log.flush();
        } finally {
            await log.close();
        }
        const added = await queryOn(dsn, "SELECT id, model_sha256 FROM serving.inference_log WHERE request_id = 'new-1'");
        expect(added).toEqual([{ id: "5001", model_sha256: sha }]);
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
            const c = new Client({ connectionString: dsn });
            await c.connect();
            await c.query("SELECT pg_advisory_lock($1)", [key]);
            return c;
        };
        // The data API's key (…02) and the pipeline's (…03), held in the same database, do not hold it up.
        const other = fresh();
        const others = [await hold(other, MIGRATION_LOCK_KEY + 1), await hold(other, MIGRATION_LOCK_KEY + 2)];
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
            expect((await queryOn(dsn, "SELECT to_regclass('serving.model_api_migrations')::text AS t"))[0].t).toBeNull();
            await holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
            expect(await run).toEqual(ALL);
        } finally {
            await holder.end();
        }
    });
});

/** The role's privileges in the database, as the catalog states them. */
async function privilegesOf(dsn: string, role: string) {
    const q = (sql: string) => queryOn(dsn, sql, [role]);
    return {
        tables: (
            await q(`SELECT table_schema || '.' || table_name AS t, string_agg(privilege_type, ',' ORDER BY privilege_type) AS p
                     FROM information_schema.role_table_grants WHERE grantee = $1 GROUP BY 1 ORDER BY 1`)
        ).map((r) => `${r.t}: ${r.p}`),
        sequences: (await q("SELECT c.relname, has_sequence_privilege($1, c.oid, 'USAGE') AS usage, has_sequence_privilege($1, c.oid, 'SELECT') AS select FROM pg_class c WHERE c.relkind = 'S' ORDER BY 1")).map(
            (r) => `${r.relname}: ${[r.usage && "USAGE", r.select && "SELECT"].filter(Boolean).join(",")}`,
        ),
        serving: (await q("SELECT has_schema_privilege($1, 'serving', 'USAGE') AS usage, has_schema_privilege($1, 'serving', 'CREATE') AS create"))[0],
    };
}

const EXACT = {
    tables: ["serving.inference_log: INSERT"],
    sequences: ["inference_log_id_seq: USAGE", "model_api_migrations_id_seq: "],
    serving: { usage: true, create: false },
};

// The built program (`npm run build -w services/model-api`), as the platform's migrate init container runs it.
const cli = path.join(__dirname, "../dist/src/migrate.js");
const runCli = (env: Record<string, string>) => spawnSync(process.execPath, [cli], { encoding: "utf8", env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });
const lastLine = (out: string) => JSON.parse(out.trim().split("\n").pop()!);

describe.sequential("the server's own role: migrations as the owner, then exactly the grants the server needs (real Postgres)", () => {
    let pg: PostgresServer;
    let n = 0;

    beforeAll(async () => {
        pg = await startPostgres();
    });
    afterAll(() => pg?.stop());

    /** A database owned by its own role, and a role `role_<n>` that may only connect to it. */
    const layout = () => {
        const name = `grant_${n++}`;
        const owner = createOwnedDatabase(pg, name);
        const role = `role_${name}`;
        return { owner, role, runtime: createServiceRole(pg, role, name) };
    };
    const grant = async (dsn: string, role: string) => {
        const c = new Client({ connectionString: dsn });
        await c.connect();
        try {
            await grantRuntimeRole(c, role);
        } finally {
            await c.end();
        }
    };

    it("grants INSERT on serving.inference_log, USAGE on its sequence and schema, and nothing else; again changes nothing", async () => {
        const { owner, role } = layout();
        await migrateOn(owner);
        await grant(owner, role);
        expect(await privilegesOf(owner, role)).toEqual(EXACT);
        await grant(owner, role);
        expect(await privilegesOf(owner, role)).toEqual(EXACT);
    });

    it("takes back what was granted by hand in the schema (SELECT, DELETE, the version table, CREATE)", async () => {
        const { owner, role } = layout();
        await migrateOn(owner);
        await queryOn(owner, `GRANT ALL ON ALL TABLES IN SCHEMA serving TO ${role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA serving TO ${role}; GRANT CREATE ON SCHEMA serving TO ${role}`);
        await grant(owner, role);
        expect(await privilegesOf(owner, role)).toEqual(EXACT);
    });

    it("six replicas granting at once all succeed (one at a time, under the migrations' lock key)", async () => {
        const { owner, role } = layout();
        await migrateOn(owner);
        await Promise.all(Array.from({ length: 6 }, () => grant(owner, role)));
        expect(await privilegesOf(owner, role)).toEqual(EXACT);
    });

    it("refuses a role name that is not a plain identifier, and a database not migrated yet", async () => {
        const { owner, role } = layout();
        await expect(grant(owner, 'x"; DROP TABLE serving.inference_log; --')).rejects.toThrow("the runtime role must be a role name matching [a-z_][a-z0-9_]*");
        await expect(grant(owner, role)).rejects.toThrow("serving.inference_log (or its id sequence) does not exist: run the migrations first");
    });

    it("the built program exists (npm run build -w services/model-api)", () => {
        expect(fs.existsSync(cli), `${cli} missing: build first`).toBe(true);
    });

    it("the built program, as the init container runs it: migrates, grants, prints what it did; a second run applies nothing", async () => {
        const { owner, role } = layout();
        const env = { DATABASE_URL: owner, DATABASE_RUNTIME_ROLE: role };
        const first = runCli(env);
        expect(first.status, first.stderr).toBe(0);
        expect(lastLine(first.stdout)).toEqual({ event: "migrate_done", applied: ALL, grantedTo: role });
        const again = runCli(env);
        expect(again.status, again.stderr).toBe(0);
        expect(lastLine(again.stdout)).toEqual({ event: "migrate_done", applied: [], grantedTo: role });
        expect(await privilegesOf(owner, role)).toEqual(EXACT);
    });

    it("the built program: exit 2 naming each bad setting, exit 1 naming the error (a role that does not exist)", () => {
        const bad = runCli({ DATABASE_RUNTIME_ROLE: "Robert'); --" });
        expect(bad.status).toBe(2);
        expect(JSON.parse(bad.stderr.trim())).toEqual({
            event: "migrate_config_error",
            errors: ["DATABASE_URL is not set", "DATABASE_RUNTIME_ROLE must be a role name matching [a-z_][a-z0-9_]* (got 'Robert'); --')"],
        });
        const { owner } = layout();
        const missing = runCli({ DATABASE_URL: owner, DATABASE_RUNTIME_ROLE: "nobody" });
        expect(missing.status).toBe(1);
        expect(JSON.parse(missing.stderr.trim())).toEqual({ event: "migrate_failed", error: 'role "nobody" does not exist' });
    });

    it("the role itself could not migrate: node-pg-migrate is refused", async () => {
        const { owner, role, runtime } = layout();
        expect(runCli({ DATABASE_URL: owner, DATABASE_RUNTIME_ROLE: role }).status).toBe(0);
        await expect(migrateOn(runtime)).rejects.toThrow(/permission denied/);
    });
});
