import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSetupScript } from "../../components/postgres";
import { BackupStore, listLocal } from "../../scripts/backup/store";
import { incompatibilities } from "../../scripts/backup/manifest";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";
import { freePort, PostgresServer, startPostgres } from "../support/postgres-server";
import { fromSource, runPodSteps } from "../support/pod-steps";
import { minioBinDir, start, Started, waitForHttp } from "../support/processes";

/**
 * The backup and restore pods as rendered, step by step (bash scripts of the Postgres image, mc
 * commands of the client image) against a real PostgreSQL and a real MinIO, and the operator
 * side (`npm run backup`/`restore`: scripts/backup) against the same MinIO. The whole drill on a
 * real cluster is in scripts/test-cluster.sh.
 */
let program: LoadedProgram;
let pg: PostgresServer;
let minio: Started;
let minioPort: number;
let store: BackupStore;
let client: Client;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-backup-"));
const secrets: Record<string, string> = {
    "minio-credentials/root-user": `mlops${randomBytes(6).toString("hex")}`,
    "minio-credentials/root-password": randomBytes(16).toString("hex"),
    "postgres-roles/airflow": randomBytes(16).toString("hex"),
    "postgres-roles/mlflow": randomBytes(16).toString("hex"),
    "postgres-roles/mlflow_auth": randomBytes(16).toString("hex"),
    "postgres-roles/mlops": randomBytes(16).toString("hex"),
    "postgres-service-roles/model_api": randomBytes(16).toString("hex"),
    "postgres-service-roles/data_api": randomBytes(16).toString("hex"),
    ...minioUserSecrets(),
};

function minioUserSecrets(): Record<string, string> {
    return Object.fromEntries(
        ["mlflow", "airflow-logs", "backup"].flatMap((u) => [
            [`minio-${u}/access-key`, `mlops${randomBytes(6).toString("hex")}`],
            [`minio-${u}/secret-key`, randomBytes(16).toString("hex")],
        ]),
    );
}

/** Runs the steps of a rendered pod in order, as the kubelet would, with BACKUP_ID set. */
function runSteps(pod: any, id: string, scratch: string) {
    return runPodSteps(pod, {
        secrets,
        rewrite: (v) =>
            v
                .replace("@minio.mlops.svc.cluster.local:9000", `@127.0.0.1:${minioPort}`)
                .replace(/^postgres\.mlops\.svc\.cluster\.local$/, "127.0.0.1")
                .replace(/^5432$/, String(pg.port))
                .replace(/^\/tmp\/\.mc$/, path.join(tmp, ".mc")),
        mounts: { "/backup": scratch, "/policies": path.join(tmp, "policies") },
        configMaps: { policies: k8sObject(program.recorder, "ConfigMap", "minio-policies").data },
        fieldValues: { BACKUP_ID: id },
        path: [pg.binDir],
        home: tmp,
    });
}

function cronPod(name: string): any {
    return k8sObject(program.recorder, "CronJob", name).spec.jobTemplate.spec.template.spec;
}

function psql(db: string, sql: string, user = "postgres"): string {
    const env = user === "postgres" ? pg.env() : pg.env({ PGUSER: user, PGPASSWORD: (secrets[`postgres-roles/${user}`] ?? secrets[`postgres-service-roles/${user}`])! });
    const r = spawnSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-Atq", "-d", db, "-c", sql], { encoding: "utf8", env });
    if (r.status !== 0) throw new Error(`psql ${db}: ${sql}: ${r.stderr}`);
    return r.stdout.trim();
}

function mc(args: string[], input?: Buffer) {
    return spawnSync(path.join(minioBinDir(), "mc"), args, {
        input,
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: tmp, MC_CONFIG_DIR: path.join(tmp, ".mc-check"), MC_HOST_m: `http://${secrets["minio-credentials/root-user"]}:${secrets["minio-credentials/root-password"]}@127.0.0.1:${minioPort}` },
    });
}

/** What the restore must bring back: every row of each database, as text. */
function snapshot(): Record<string, string> {
    return {
        mlflow: psql("mlflow", "SELECT string_agg(name || '=' || alias, ',' ORDER BY name) FROM registered_models"),
        // MLflow's auth store: the logins (people the admin added among them) and their grants.
        mlflow_auth: psql("mlflow_auth", "SELECT string_agg(username || ':' || is_admin, ',' ORDER BY username) FROM users"),
        airflow: psql("airflow", "SELECT string_agg(id || ':' || dag_id, ',' ORDER BY id) FROM dag_run"),
        mlops: psql("mlops", "SELECT count(*) || ' ' || sum(price) FROM clean.listings"),
        owners:
            psql("mlflow", "SELECT tableowner FROM pg_tables WHERE tablename = 'registered_models'") +
            psql("mlflow_auth", "SELECT tableowner FROM pg_tables WHERE tablename = 'users'") +
            psql("mlops", "SELECT tableowner FROM pg_tables WHERE tablename = 'listings'"),
    };
}

const SERVICE_ROLES = [
    { name: "model_api", database: "mlops" },
    { name: "data_api", database: "mlops" },
];

/**
 * The model API's and data API's migrate init containers as rendered (as the owner of `mlops`:
 * migrations, then their role's grants), their programs run from source by tsx (nothing is
 * built in this tier).
 */
function migrateServices(): void {
    for (const name of ["model-api", "data-api"]) {
        const c = k8sObject(program.recorder, "Deployment", name).spec.template.spec.initContainers[0];
        const r = runPodSteps({ containers: [fromSource(c)] }, {
            secrets,
            rewrite: (v) => v.replace("@postgres.mlops.svc.cluster.local:5432/", `@127.0.0.1:${pg.port}/`),
            home: tmp,
        });
        expect(r.status, r.output).toBe(0);
    }
}

const LOG_ROW = "INSERT INTO serving.inference_log (ts, request_id, model_name, model_version, input, price, latency_ms) VALUES (now(), 'r', 'realtor-price', '1', '{}', 1, 1)";

function mlflowObjects(): string[] {
    return mc(["ls", "--recursive", "--json", "m/mlflow"])
        .stdout.trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).key)
        .sort();
}

beforeAll(async () => {
    program = await runProgram("dev");
    pg = await startPostgres();
    const setup = spawnSync("bash", ["-c", renderSetupScript(["airflow", "mlflow", "mlflow_auth", "mlops"], SERVICE_ROLES)], {
        encoding: "utf8",
        env: pg.env({
            AIRFLOW_PASSWORD: secrets["postgres-roles/airflow"]!,
            MLFLOW_PASSWORD: secrets["postgres-roles/mlflow"]!,
            MLFLOW_AUTH_PASSWORD: secrets["postgres-roles/mlflow_auth"]!,
            MLOPS_PASSWORD: secrets["postgres-roles/mlops"]!,
            MODEL_API_PASSWORD: secrets["postgres-service-roles/model_api"]!,
            DATA_API_PASSWORD: secrets["postgres-service-roles/data_api"]!,
        }),
    });
    expect(setup.status, setup.stderr).toBe(0);
    secrets["postgres-superuser/password"] = pg.superuserPassword;

    minioPort = await freePort();
    minio = start(path.join(minioBinDir(), "minio"), ["server", path.join(tmp, "data"), "--address", `127.0.0.1:${minioPort}`, "--console-address", `127.0.0.1:${await freePort()}`], {
        PATH: process.env.PATH,
        HOME: tmp,
        MINIO_ROOT_USER: secrets["minio-credentials/root-user"],
        MINIO_ROOT_PASSWORD: secrets["minio-credentials/root-password"],
    });
    await waitForHttp(`http://127.0.0.1:${minioPort}/minio/health/ready`, minio, 60_000);
    // The bucket Job as rendered: the three buckets, mlflow versioned.
    const buckets = runSteps(k8sObject(program.recorder, "Job", "minio-buckets").spec.template.spec, "unused", path.join(tmp, "unused"));
    expect(buckets.status, buckets.output).toBe(0);
    client = new Client({ endPoint: "127.0.0.1", port: minioPort, useSSL: false, accessKey: secrets["minio-credentials/root-user"]!, secretKey: secrets["minio-credentials/root-password"]! });
    store = new BackupStore(client, "backups");
}, 900_000);

afterAll(async () => {
    await minio?.stop();
    pg?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

const FULL = "platform-backup-29400001";

describe("backups and restores as rendered, against a real PostgreSQL and MinIO", () => {
    it("the pre-migration steps skip a database with no table yet (a first install): nothing is written", () => {
        const pod = k8sObject(program.recorder, "Job", "mlflow-db-upgrade").spec.template.spec;
        const r = runSteps({ initContainers: pod.initContainers, containers: [] }, "mlflow-db-upgrade-first", path.join(tmp, "pre-1"));
        expect(r.status, r.output).toBe(0);
        expect(r.output).toContain("database mlflow has no table yet: nothing to back up");
        expect(mc(["ls", "--recursive", "m/backups"]).stdout).toBe("");
    });

    it("the scheduled backup dumps every database, copies the artifacts, and writes the manifest last", async () => {
        psql("mlflow", "CREATE TABLE registered_models (name text PRIMARY KEY, alias text); INSERT INTO registered_models VALUES ('price', 'production@3'), ('other', 'none')", "mlflow");
        psql("airflow", "CREATE TABLE dag_run (id int PRIMARY KEY, dag_id text); INSERT INTO dag_run SELECT g, 'ingest' FROM generate_series(1, 500) g", "airflow");
        psql("mlops", "CREATE SCHEMA clean; CREATE TABLE clean.listings (id bigserial PRIMARY KEY, price float8); INSERT INTO clean.listings (price) SELECT g * 1000 FROM generate_series(1, 2000) g", "mlops");
        migrateServices();
        psql("mlops", LOG_ROW, "model_api");
        psql("mlops", "INSERT INTO data_api_batch_state VALUES (1, 'Tuesday', 3, now())", "data_api");
        psql("mlflow_auth", "CREATE TABLE users (id int PRIMARY KEY, username text, is_admin boolean); INSERT INTO users VALUES (1, 'admin', true), (2, 'alice', false)", "mlflow_auth");
        for (const key of ["1/abc/artifacts/model/model.onnx", "1/abc/artifacts/model/MLmodel"]) {
            expect(mc(["pipe", `m/mlflow/${key}`], randomBytes(4096)).status).toBe(0);
        }
        const r = runSteps(cronPod("platform-backup"), FULL, path.join(tmp, "full"));
        expect(r.status, r.output).toBe(0);
        expect(r.output).toMatch(/dumped database mlops: \d+ bytes/);

        const m = await store.manifest(FULL);
        expect(m.kind).toBe("full");
        expect(m.databases.map((d) => d.name)).toEqual(["airflow", "mlflow", "mlflow_auth", "mlops"]);
        expect(m.artifacts).toEqual({ mlflow: "artifacts/mlflow/" });
        expect(m.versions).toEqual({ postgres: "17.2-bookworm", mlflow: expect.any(String), airflow: expect.any(String) });
        for (const d of m.databases) {
            const dump = mc(["cat", `m/backups/${FULL}/${d.file}`]);
            expect(dump.status).toBe(0);
        }
        // The dumps are what the manifest says (sha256 of the bytes in the bucket).
        const dir = path.join(tmp, "download");
        await store.download(FULL, dir, () => undefined);
        for (const d of m.databases) {
            const bytes = fs.readFileSync(path.join(dir, FULL, d.file));
            expect(bytes.length).toBe(d.bytes);
            expect(createHash("sha256").update(bytes).digest("hex")).toBe(d.sha256);
        }
        expect(fs.readdirSync(path.join(dir, FULL, "artifacts/mlflow/1/abc/artifacts/model")).sort()).toEqual(["MLmodel", "model.onnx"]);
        expect((await store.list()).map((l) => [l.id, l.manifest?.kind])).toEqual([[FULL, "full"]]);
    });

    it("restores every row, the owners and the grants, and the artifacts, after the data was lost", async () => {
        const before = snapshot();
        const objects = mlflowObjects();
        psql("mlflow", "DROP TABLE registered_models", "mlflow");
        psql("airflow", "DELETE FROM dag_run WHERE id > 10", "airflow");
        psql("mlops", "TRUNCATE clean.listings", "mlops");
        psql("mlflow_auth", "DELETE FROM users WHERE username = 'alice'", "mlflow_auth");
        expect(mc(["rm", "--recursive", "--force", "m/mlflow/1"]).status).toBe(0);
        expect(mlflowObjects()).toEqual([]);

        const manifest = await store.manifest(FULL);
        expect(await store.restoreArtifacts(manifest, () => undefined)).toBe(2);
        const r = runSteps(cronPod("platform-restore"), FULL, path.join(tmp, "restore-1"));
        expect(r.status, r.output).toBe(0);
        expect(r.output).toContain(`backup ${FULL} restored`);
        expect(snapshot()).toEqual(before);
        expect(mlflowObjects()).toEqual(objects);
        // The setup Job's rules hold again: the owner owns the database, PUBLIC cannot connect.
        expect(psql("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'mlflow'")).toBe("mlflow");
        expect(psql("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'mlflow_auth'")).toBe("mlflow_auth");
        expect(psql("postgres", "SELECT has_database_privilege('public', 'mlflow', 'CONNECT')")).toBe("f");
        expect(psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE '%_restoring'")).toBe("0");
        // The services' roles: CONNECT again (the restore grants it, as the setup Job does), and their
        // table grants exactly as before (they travel in the dump), before any migrate step ran again.
        expect(psql("postgres", "SELECT has_database_privilege('model_api', 'mlops', 'CONNECT') || ',' || has_database_privilege('data_api', 'mlops', 'CONNECT')")).toBe("true,true");
        expect(psql("postgres", "SELECT has_database_privilege('model_api', 'mlops', 'TEMP') OR has_database_privilege('data_api', 'mlops', 'CREATE')")).toBe("f");
        psql("mlops", LOG_ROW, "model_api");
        expect(() => psql("mlops", "SELECT count(*) FROM serving.inference_log", "model_api")).toThrow("permission denied for table inference_log");
        expect(psql("mlops", "SELECT batch_number FROM data_api_batch_state WHERE group_number = 1", "data_api")).toBe("3");
        expect(() => psql("mlops", "SELECT count(*) FROM clean.listings", "data_api")).toThrow("permission denied for schema clean");
    });

    it("refuses a dump that does not match its checksum, and changes nothing", () => {
        psql("mlops", "INSERT INTO clean.listings (price) VALUES (1)", "mlops");
        const now = snapshot();
        expect(mc(["pipe", `m/backups/${FULL}/dumps/mlops.dump`], randomBytes(2048)).status).toBe(0);
        const r = runSteps(cronPod("platform-restore"), FULL, path.join(tmp, "restore-2"));
        expect(r.status).toBe(3);
        expect(r.output).toContain("a dump does not match its checksum; nothing restored");
        expect(snapshot()).toEqual(now);
    });

    it("refuses an id that names no backup", () => {
        const r = runSteps(cronPod("platform-restore"), "platform-backup-nope", path.join(tmp, "restore-3"));
        expect(r.status).not.toBe(0);
        expect(r.failed).toBe("fetch");
    });

    it("a backup copied off the bucket comes back: listed locally, uploaded with its manifest last, restorable", async () => {
        const dir = path.join(tmp, "offsite");
        const good = "platform-backup-29400002";
        expect(runSteps(cronPod("platform-backup"), good, path.join(tmp, "full-2")).status).toBe(0);
        await store.download(good, dir, () => undefined);
        expect(mc(["rm", "--recursive", "--force", `m/backups/${good}`]).status).toBe(0);
        expect((await store.list()).map((l) => l.id)).not.toContain(good);
        expect(listLocal(dir).map((l) => [l.id, l.manifest?.kind])).toEqual([[good, "full"]]);
        const lines: string[] = [];
        await store.upload(good, dir, (l) => lines.push(l));
        expect(lines.at(-1)).toMatch(new RegExp(`^\\[(\\d+)/\\1\\] ${good}/manifest.json`));
        psql("airflow", "DELETE FROM dag_run", "airflow");
        const r = runSteps(cronPod("platform-restore"), good, path.join(tmp, "restore-4"));
        expect(r.status, r.output).toBe(0);
        expect(psql("airflow", "SELECT count(*) FROM dag_run")).toBe("500");
    });

    it("the pre-migration steps back up a populated database as its owner, and it restores", async () => {
        const pod = k8sObject(program.recorder, "Job", "mlflow-db-upgrade").spec.template.spec;
        const id = "mlflow-db-upgrade-abc123";
        const r = runSteps({ initContainers: pod.initContainers, containers: [] }, id, path.join(tmp, "pre-2"));
        expect(r.status, r.output).toBe(0);
        const m = await store.manifest(id);
        expect([m.kind, m.databases.map((d) => d.name), m.artifacts]).toEqual(["pre-migrate", ["mlflow"], {}]);
        expect(incompatibilities(m, m.versions)).toEqual([]);
        expect(incompatibilities(m, { ...m.versions, mlflow: "9.9.9" })).toEqual([
            `it holds the mlflow database of mlflow ${m.versions.mlflow}, and this platform runs mlflow 9.9.9: set mlflow.image to the ${m.versions.mlflow} image, 'pulumi up', restore, then upgrade again`,
        ]);
        // Airflow's version does not matter to a backup without its database.
        expect(incompatibilities(m, { ...m.versions, airflow: "9.9.9" })).toEqual([]);
        psql("mlflow", "UPDATE registered_models SET alias = 'broken by a migration'", "mlflow");
        const restored = runSteps(cronPod("platform-restore"), id, path.join(tmp, "restore-5"));
        expect(restored.status, restored.output).toBe(0);
        expect(psql("mlflow", "SELECT string_agg(alias, ',' ORDER BY name) FROM registered_models")).toBe("none,production@3");
    });
});
