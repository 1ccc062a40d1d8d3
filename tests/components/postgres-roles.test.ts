import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sObject } from "../helpers";
import { LoadedProgram, ROOT, runProgram } from "../program";
import { PostgresServer, startPostgres } from "../support/postgres-server";
import { fromSource, runPodSteps } from "../support/pod-steps";

/**
 * The services' own Postgres roles, for real: the setup Job as rendered, then each service's
 * migrate init container as rendered (its program run from source by tsx, with the rendered
 * environment: the owner's DSN, the role to grant), against a real PostgreSQL. Then every
 * statement each role must be able to run, and the ones it must be refused.
 */
let program: LoadedProgram;
let pg: PostgresServer;
const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-roles-"));
const pw = () => randomBytes(16).toString("hex");
const secrets: Record<string, string> = {
    "postgres-roles/airflow": pw(),
    "postgres-roles/mlflow": pw(),
    "postgres-roles/mlflow_auth": pw(),
    "postgres-roles/mlops": pw(),
    "postgres-service-roles/model_api": pw(),
    "postgres-service-roles/data_api": pw(),
};

/**
 * A service's module, imported at run time: the services are TypeScript projects of their own
 * (ESM, NodeNext), outside what this project's compiler checks.
 */
async function serviceModule(file: string): Promise<any> {
    return import(path.join(ROOT, "services", file));
}

/** The pipeline's tables, created as the pipeline creates them (its first Alembic revision's DDL), as the owner. */
const PIPELINE_DDL = /DDL = """([\s\S]*?)"""/.exec(fs.readFileSync(path.join(ROOT, "dags/include/migrations/versions/0001_raw_and_clean_tables.py"), "utf8"))![1]!;

function podOf(kind: string, name: string): any {
    const o = k8sObject(program.recorder, kind, name);
    return o.spec.template.spec;
}

/** Runs rendered containers in order as the kubelet would, against the local server. */
function run(containers: any[], extra: Pick<Parameters<typeof runPodSteps>[1], "mounts" | "fieldValues"> = {}) {
    // The setup Job's PGHOST is the Service's in-cluster name: moved by name.
    const local = containers.map((c) => ({ ...c, env: c.env.map((e: any) => (e.name === "PGHOST" ? { ...e, value: "127.0.0.1" } : e)) }));
    const r = runPodSteps(
        { containers: local },
        {
            secrets,
            rewrite: (v) =>
                v
                    .replace("@postgres.mlops.svc.cluster.local:5432/", `@127.0.0.1:${pg.port}/`)
                    .replace(/^postgres\.mlops\.svc\.cluster\.local$/, "127.0.0.1")
                    .replace(/^5432$/, String(pg.port)),
            path: [pg.binDir],
            home,
            ...extra,
        },
    );
    expect(r.status, r.output).toBe(0);
    return r.output;
}

const setupJob = () => podOf("Job", "postgres-setup").containers;
const migrateSteps = () => [fromSource(podOf("Deployment", "model-api").initContainers[0]), fromSource(podOf("Deployment", "data-api").initContainers[0])];

function dsn(user: string, database = "mlops"): string {
    const password = user === "postgres" ? pg.superuserPassword : (secrets[`postgres-roles/${user}`] ?? secrets[`postgres-service-roles/${user}`])!;
    return `postgresql://${user}:${password}@127.0.0.1:${pg.port}/${database}`;
}

/** `sql` as `user` on a connection of its own: what Postgres answered. */
async function as(user: string, sql: string, database = "mlops"): Promise<{ ok: true; rows: any[] } | { ok: false; error: string }> {
    const c = new Client({ connectionString: dsn(user, database) });
    try {
        await c.connect();
        return { ok: true, rows: (await c.query(sql)).rows };
    } catch (err) {
        return { ok: false, error: (err as Error).message };
    } finally {
        await c.end().catch(() => undefined);
    }
}

/** Every table privilege the two roles hold in `mlops`. */
const grants = () =>
    as(
        "postgres",
        `SELECT grantee, table_schema || '.' || table_name AS t, string_agg(privilege_type, ',' ORDER BY privilege_type) AS p
         FROM information_schema.role_table_grants WHERE grantee IN ('model_api', 'data_api') GROUP BY 1, 2 ORDER BY 1, 2`,
    );
const EXACT_GRANTS = {
    ok: true,
    rows: [
        { grantee: "data_api", t: "public.data_api_batch_state", p: "DELETE,INSERT,SELECT,UPDATE" },
        { grantee: "model_api", t: "serving.inference_log", p: "INSERT" },
    ],
};

const ROW = `(ts, request_id, model_name, model_version, model_sha256, input, price, latency_ms) VALUES (now(), 'r1', 'realtor-price', '3', '${"a".repeat(64)}', '{"bed": 3}', 250000, 1.5)`;

beforeAll(async () => {
    program = await runProgram("dev");
    pg = await startPostgres();
    secrets["postgres-superuser/password"] = pg.superuserPassword;
    run(setupJob());
    run(migrateSteps());
    const pipeline = await as("mlops", PIPELINE_DDL);
    expect(pipeline.ok, JSON.stringify(pipeline)).toBe(true);
}, 120_000);

afterAll(() => {
    pg?.stop();
    fs.rmSync(home, { recursive: true, force: true });
});

describe("GIVEN the setup Job and the migrate init containers as rendered, run against a real PostgreSQL", () => {
    it("the services' roles log in with no attribute beyond LOGIN, and may connect to `mlops` only (no CREATE, no TEMP)", async () => {
        const roles = await as("postgres", "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname IN ('model_api', 'data_api') ORDER BY 1", "postgres");
        expect(roles).toEqual({
            ok: true,
            rows: ["data_api", "model_api"].map((rolname) => ({ rolname, rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false })),
        });
        const privileges = await as(
            "postgres",
            `SELECT r, d, has_database_privilege(r, d, 'CONNECT') AS connect, has_database_privilege(r, d, 'CREATE') AS create, has_database_privilege(r, d, 'TEMP') AS temp
             FROM unnest(ARRAY['model_api', 'data_api']) r, unnest(ARRAY['mlops', 'mlflow', 'airflow']) d ORDER BY 1, 2`,
            "postgres",
        );
        expect(privileges.ok && privileges.rows.filter((p) => p.connect || p.create || p.temp)).toEqual([
            { r: "data_api", d: "mlops", connect: true, create: false, temp: false },
            { r: "model_api", d: "mlops", connect: true, create: false, temp: false },
        ]);
        expect(await as("model_api", "SELECT 1", "mlflow")).toEqual({ ok: false, error: 'permission denied for database "mlflow"' });
        expect(await as("data_api", "SELECT 1", "airflow")).toEqual({ ok: false, error: 'permission denied for database "airflow"' });
    });

    it("model_api inserts a row into serving.inference_log (its id from the sequence)", async () => {
        expect(await as("model_api", `INSERT INTO serving.inference_log ${ROW}`)).toEqual({ ok: true, rows: [] });
        expect(await as("mlops", "SELECT request_id, price FROM serving.inference_log")).toEqual({ ok: true, rows: [{ request_id: "r1", price: 250000 }] });
    });

    it.each([
        ["SELECT", "SELECT * FROM serving.inference_log", "permission denied for table inference_log"],
        ["INSERT ... RETURNING (a read)", `INSERT INTO serving.inference_log ${ROW} RETURNING id`, "permission denied for table inference_log"],
        ["UPDATE", "UPDATE serving.inference_log SET price = 0", "permission denied for table inference_log"],
        ["DELETE", "DELETE FROM serving.inference_log", "permission denied for table inference_log"],
        ["TRUNCATE", "TRUNCATE serving.inference_log", "permission denied for table inference_log"],
        ["ALTER TABLE", "ALTER TABLE serving.inference_log ADD COLUMN x int", "must be owner of table inference_log"],
        ["CREATE TABLE in serving", "CREATE TABLE serving.x (id int)", "permission denied for schema serving"],
        ["CREATE TABLE in public", "CREATE TABLE public.x (id int)", "permission denied for schema public"],
        ["CREATE TEMP TABLE", "CREATE TEMP TABLE x (id int)", 'permission denied to create temporary tables in database "mlops"'],
        ["CREATE SCHEMA", "CREATE SCHEMA x", "permission denied for database mlops"],
        ["the migrations' version table", "SELECT * FROM serving.model_api_migrations", "permission denied for table model_api_migrations"],
        ["recording a migration", "INSERT INTO serving.model_api_migrations (name, run_on) VALUES ('0003_x', now())", "permission denied for table model_api_migrations"],
        ["the data API's counters", "SELECT * FROM public.data_api_batch_state", "permission denied for table data_api_batch_state"],
        ["the pipeline's tables", "SELECT * FROM clean.listings", "permission denied for schema clean"],
    ])("model_api is refused %s", async (_what, sql, error) => {
        expect(await as("model_api", sql)).toEqual({ ok: false, error });
    });

    it("data_api runs the data API's own statements: the state store, with migrations off, advances and resets the counters", async () => {
        const { PostgresStateStore } = await serviceModule("data-api/src/state.ts");
        const store = new PostgresStateStore(dsn("data_api"), { migrate: false });
        try {
            const rule = { intervalMs: 0, batches: 2 };
            expect(await store.advance(3, "Tuesday", rule)).toEqual({ kind: "batch", batchNumber: 1, advanced: true });
            expect(await store.advance(3, "Tuesday", rule)).toEqual({ kind: "batch", batchNumber: 2, advanced: true });
            expect(await store.advance(3, "Tuesday", rule)).toEqual({ kind: "exhausted" });
            await store.reset(3, "Tuesday");
            expect(await store.advance(3, "Tuesday", rule)).toEqual({ kind: "batch", batchNumber: 1, advanced: true });
        } finally {
            await store.close();
        }
    });

    it.each([
        ["TRUNCATE of its counters", "TRUNCATE data_api_batch_state", "permission denied for table data_api_batch_state"],
        ["DROP of its counters", "DROP TABLE data_api_batch_state", "must be owner of table data_api_batch_state"],
        ["its migrations' version table", "SELECT * FROM data_api_migrations", "permission denied for table data_api_migrations"],
        ["reading the inference log", "SELECT * FROM serving.inference_log", "permission denied for schema serving"],
        ["writing the inference log", `INSERT INTO serving.inference_log ${ROW}`, "permission denied for schema serving"],
        ["the pipeline's raw listings", "SELECT * FROM raw.listings", "permission denied for schema raw"],
        ["the pipeline's clean listings", "DELETE FROM clean.listings", "permission denied for schema clean"],
        ["the pipeline's version table", "SELECT * FROM public.pipeline_alembic_version", "permission denied for table pipeline_alembic_version"],
        ["CREATE TABLE", "CREATE TABLE public.x (id int)", "permission denied for schema public"],
        ["CREATE SCHEMA", "CREATE SCHEMA x", "permission denied for database mlops"],
    ])("data_api is refused %s", async (_what, sql, error) => {
        if (sql.includes("pipeline_alembic_version")) {
            // The pipeline's Alembic version table, as its migrations create it (dags/include/migrations/env.py).
            const made = await as("mlops", "CREATE TABLE IF NOT EXISTS public.pipeline_alembic_version (version_num varchar(32) PRIMARY KEY)");
            expect(made.ok, JSON.stringify(made)).toBe(true);
        }
        expect(await as("data_api", sql)).toEqual({ ok: false, error });
    });

    it("the setup Job again (a re-run), then a rotation: the new passwords work, the old are refused, the grants are unchanged", async () => {
        run(setupJob());
        expect((await as("model_api", `INSERT INTO serving.inference_log ${ROW}`)).ok).toBe(true);
        const old = { ...secrets };
        for (const key of Object.keys(secrets)) if (key.startsWith("postgres-roles/") || key.startsWith("postgres-service-roles/")) secrets[key] = pw();
        run(setupJob());
        expect((await as("model_api", `INSERT INTO serving.inference_log ${ROW}`)).ok).toBe(true);
        expect(await as("model_api", "SELECT count(*) FROM serving.inference_log")).toEqual({ ok: false, error: "permission denied for table inference_log" });
        expect((await as("data_api", "SELECT count(*) FROM data_api_batch_state")).ok).toBe(true);
        const stale = new Client({ connectionString: `postgresql://model_api:${old["postgres-service-roles/model_api"]}@127.0.0.1:${pg.port}/mlops` });
        await expect(stale.connect()).rejects.toThrow('password authentication failed for user "model_api"');
        await stale.end().catch(() => undefined);
    });

    it("each start's migrate step converges: a privilege granted by hand is taken away again, and repeating it changes nothing", async () => {
        expect((await as("mlops", "GRANT SELECT, DELETE ON serving.inference_log TO model_api; GRANT TRUNCATE ON data_api_batch_state TO data_api")).ok).toBe(true);
        expect((await as("model_api", "SELECT count(*) FROM serving.inference_log")).ok).toBe(true);
        const output = run(migrateSteps());
        expect(output).toContain('"event":"migrate_done","applied":[],"grantedTo":"model_api"');
        expect(output).toContain('"event":"migrate_done","applied":[],"grantedTo":"data_api"');
        expect(await grants()).toEqual(EXACT_GRANTS);
        run(migrateSteps());
        expect(await grants()).toEqual(EXACT_GRANTS);
        expect(await as("model_api", "SELECT count(*) FROM serving.inference_log")).toEqual({ ok: false, error: "permission denied for table inference_log" });
    });

    it("a restore (the rendered restore step, from a dump of `mlops`) lets the roles connect again, with exactly their grants", async () => {
        const id = "platform-backup-29400001";
        const scratch = path.join(home, "restore");
        const dumps = path.join(scratch, id, "dumps");
        fs.mkdirSync(dumps, { recursive: true });
        const dump = spawnSync(path.join(pg.binDir, "pg_dump"), ["--format=custom", "--dbname=mlops", `--file=${path.join(dumps, "mlops.dump")}`], { env: pg.env(), encoding: "utf8" });
        expect(dump.status, dump.stderr).toBe(0);
        const sha = createHash("sha256").update(fs.readFileSync(path.join(dumps, "mlops.dump"))).digest("hex");
        fs.writeFileSync(path.join(dumps, "SHA256SUMS"), `${sha}  mlops.dump\n`);
        fs.writeFileSync(path.join(scratch, id, "manifest.json"), "{}");
        const restore = k8sObject(program.recorder, "CronJob", "platform-restore").spec.jobTemplate.spec.template.spec;
        // Its `fetch` init container copies the backup from MinIO into /backup; it is already there.
        expect(run(restore.containers, { mounts: { "/backup": scratch }, fieldValues: { BACKUP_ID: id } })).toContain(`backup ${id} restored`);

        const connect = await as("postgres", "SELECT r, has_database_privilege(r, 'mlops', 'CONNECT') AS c, has_database_privilege(r, 'mlops', 'TEMP') AS t FROM unnest(ARRAY['model_api', 'data_api']) r ORDER BY r", "postgres");
        expect(connect).toEqual({ ok: true, rows: [{ r: "data_api", c: true, t: false }, { r: "model_api", c: true, t: false }] });
        expect(await grants()).toEqual(EXACT_GRANTS);
        expect((await as("model_api", `INSERT INTO serving.inference_log ${ROW}`)).ok).toBe(true);
        expect(await as("model_api", "SELECT 1 FROM serving.inference_log")).toEqual({ ok: false, error: "permission denied for table inference_log" });
    });
});
