import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSetupScript } from "../../components/postgres";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";
import { freePort, PostgresServer, startPostgres } from "../support/postgres-server";
import { runPodSteps } from "../support/pod-steps";
import { minioBinDir, resolveEnv, start, Started, venv, waitForHttp } from "../support/processes";

/**
 * The MLflow objects the program renders, run for real: the pinned MLflow (the image's
 * pins, tools/python/mlflow.txt) with the exact flags and environment of the Deployment
 * and the schema Job, against a real Postgres (set up by our setup script) and a real MinIO.
 * Only addresses are rewritten to loopback.
 */
let program: LoadedProgram;
let pg: PostgresServer;
let minio: Started;
let mlflow: Started | undefined;
let mlflowVenv: string;
let minioPort: number;
let mlflowPort: number;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-mlflow-"));
const secrets: Record<string, string> = {
    "postgres-roles/mlflow": randomBytes(16).toString("hex"),
    "minio-credentials/root-user": `mlops${randomBytes(6).toString("hex")}`,
    "minio-credentials/root-password": randomBytes(16).toString("hex"),
    ...Object.fromEntries(
        ["mlflow", "airflow-logs", "backup"].flatMap((u) => [
            [`minio-${u}/access-key`, `mlops${randomBytes(6).toString("hex")}`],
            [`minio-${u}/secret-key`, randomBytes(16).toString("hex")],
        ]),
    ),
};

beforeAll(async () => {
    program = await runProgram("dev");
    mlflowVenv = venv("mlflow");
    pg = await startPostgres();
    // The databases exactly as the cluster's setup Job creates them.
    const setup = spawnSync("bash", ["-c", renderSetupScript(["mlflow"])], { encoding: "utf8", env: pg.env({ MLFLOW_PASSWORD: secrets["postgres-roles/mlflow"]! }) });
    expect(setup.status, setup.stderr).toBe(0);

    const bin = minioBinDir();
    minioPort = await freePort();
    minio = start(path.join(bin, "minio"), ["server", path.join(tmp, "data"), "--address", `127.0.0.1:${minioPort}`, "--console-address", `127.0.0.1:${await freePort()}`], {
        ...process.env,
        MINIO_ROOT_USER: secrets["minio-credentials/root-user"],
        MINIO_ROOT_PASSWORD: secrets["minio-credentials/root-password"],
        HOME: tmp,
    });
    await waitForHttp(`http://127.0.0.1:${minioPort}/minio/health/ready`, minio, 60_000);
    // The bucket Job as rendered: the buckets, and MLflow's own MinIO user, which the server logs in as.
    const buckets = runPodSteps(k8sObject(program.recorder, "Job", "minio-buckets").spec.template.spec, {
        secrets,
        rewrite: (v) => v.replace("@minio:9000", `@127.0.0.1:${minioPort}`).replace(/^\/tmp\/\.mc$/, path.join(tmp, ".mc-job")),
        mounts: { "/policies": path.join(tmp, "policies") },
        configMaps: { policies: k8sObject(program.recorder, "ConfigMap", "minio-policies").data },
        home: tmp,
    });
    expect(buckets.status, buckets.output).toBe(0);
    mlflowPort = await freePort();
}, 600_000);

afterAll(async () => {
    await mlflow?.stop();
    await minio?.stop();
    pg?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

/** A GET with an explicit Host header (fetch() drops Host as a forbidden header). */
function getWithHost(url: string, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers: { Host: host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
    });
}

/** Cluster addresses -> the local servers. */
function toLocal(value: string): string {
    return value
        .replace("postgres.mlops.svc.cluster.local:5432", `127.0.0.1:${pg.port}`)
        .replace("http://minio.mlops.svc.cluster.local:9000", `http://127.0.0.1:${minioPort}`);
}

describe("MLflow as rendered, against the pinned MLflow", () => {
    it("knows every flag the Deployment passes", () => {
        const args: string[] = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0].args;
        const help = spawnSync(path.join(mlflowVenv, "bin/mlflow"), ["server", "--help"], { encoding: "utf8" });
        expect(help.status).toBe(0);
        const flags = args.filter((a) => a.startsWith("--"));
        expect(flags.length).toBeGreaterThan(5);
        for (const flag of flags) expect(help.stdout, flag).toContain(flag);
    });

    it("upgrades an empty database and re-runs as a no-op (the schema Job's exact command)", () => {
        const job = k8sObject(program.recorder, "Job", "mlflow-db-upgrade").spec.template.spec.containers[0];
        const env = { ...process.env, ...resolveEnv(job.env, secrets, toLocal), PATH: `${path.join(mlflowVenv, "bin")}:${process.env.PATH}` };
        for (const round of [1, 2]) {
            const r = spawnSync(job.command[0], job.command.slice(1), { encoding: "utf8", env });
            expect(r.status, `round ${round}: ${r.stderr}`).toBe(0);
            expect(r.stdout).toContain("mlflow schema is current");
        }
        const tables = spawnSync(path.join(pg.binDir, "psql"), ["-XAtq", "-c", "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('experiments','runs','registered_models','alembic_version')"], {
            encoding: "utf8",
            env: pg.env({ PGDATABASE: "mlflow" }),
        });
        expect(tables.stdout.trim()).toBe("4");
    });

    it("serves /health for its Service names, refuses foreign Host headers, and exposes /metrics", async () => {
        const c = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0];
        const args: string[] = c.args.map(toLocal);
        args[args.indexOf("--host") + 1] = "127.0.0.1";
        args[args.indexOf("--port") + 1] = String(mlflowPort);
        args[args.indexOf("--expose-prometheus") + 1] = path.join(tmp, "metrics");
        fs.mkdirSync(path.join(tmp, "metrics"), { recursive: true });
        const env = { ...process.env, ...resolveEnv(c.env, secrets, toLocal), HOME: tmp, PATH: `${path.join(mlflowVenv, "bin")}:${process.env.PATH}` };
        mlflow = start(path.join(mlflowVenv, "bin/mlflow"), args, env);
        const base = `http://127.0.0.1:${mlflowPort}`;
        const health = await waitForHttp(`${base}/health`, mlflow, 180_000);
        expect(await health.text()).toBe("OK");

        const api = `${base}/api/2.0/mlflow/experiments/search?max_results=1`;
        for (const host of ["mlflow.mlops.svc.cluster.local:5000", "mlflow:5000", "mlflow.mlops", "localhost:5000"]) {
            expect(await getWithHost(api, host), host).toBe(200);
        }
        // DNS-rebinding protection: a Host header that is not one of ours is refused.
        const foreign = await getWithHost(api, "attacker.example");
        expect(foreign).toBeGreaterThanOrEqual(400);
        expect(foreign).toBeLessThan(500);

        const metrics = await fetch(`${base}/metrics`);
        expect(metrics.status).toBe(200);
        expect(await metrics.text()).toMatch(/^# (HELP|TYPE) /m);
    }, 240_000);

    it("proxies artifacts to the MinIO bucket: a client with no S3 keys logs a file that lands in s3://mlflow", () => {
        const script = [
            "import mlflow, os, tempfile",
            "mlflow.set_tracking_uri(os.environ['URI'])",
            "mlflow.set_experiment('platform-check')",
            "d = tempfile.mkdtemp(); p = os.path.join(d, 'hello.txt'); open(p, 'w').write('artifact via proxy')",
            "with mlflow.start_run() as run: mlflow.log_artifact(p)",
            "print(run.info.artifact_uri)",
        ].join("\n");
        // The client's environment has no AWS keys at all.
        const clientEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("MLFLOW_S3")));
        const r = spawnSync(path.join(mlflowVenv, "bin/python"), ["-c", script], { encoding: "utf8", env: { ...clientEnv, URI: `http://127.0.0.1:${mlflowPort}`, HOME: tmp } });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.trim().split("\n").pop()).toMatch(/^mlflow-artifacts:\//);
        const ls = spawnSync(path.join(minioBinDir(), "mc"), ["ls", "--recursive", "local/mlflow"], {
            encoding: "utf8",
            env: { ...process.env, MC_CONFIG_DIR: path.join(tmp, ".mc"), MC_HOST_local: `http://${secrets["minio-credentials/root-user"]}:${secrets["minio-credentials/root-password"]}@127.0.0.1:${minioPort}` },
        });
        expect(ls.status, ls.stderr).toBe(0);
        expect(ls.stdout).toContain("hello.txt");
    }, 120_000);

    it("removes runs deleted longer ago than the retention, with their artifacts, with the rendered gc CronJob; keeps a recent deletion", () => {
        const cronJob = k8sObject(program.recorder, "CronJob", "mlflow-gc");
        const c = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
        expect(c.command).toEqual(["mlflow", "gc", "--backend-store-uri", "postgresql://mlflow@postgres.mlops.svc.cluster.local:5432/mlflow", "--older-than", "30d"]);
        const local = (v: string) => toLocal(v).replace("http://mlflow.mlops.svc.cluster.local:5000", `http://127.0.0.1:${mlflowPort}`);
        // Two runs with an artifact each, both deleted; one of them 40 days ago.
        const script = [
            "import mlflow, os, tempfile",
            "mlflow.set_tracking_uri(os.environ['URI'])",
            "mlflow.set_experiment('gc-check')",
            "ids = []",
            "for name in ('old', 'recent'):",
            "    d = tempfile.mkdtemp(); p = os.path.join(d, f'gc-{name}.txt'); open(p, 'w').write(name)",
            "    with mlflow.start_run() as run: mlflow.log_artifact(p)",
            "    mlflow.delete_run(run.info.run_id); ids.append(run.info.run_id)",
            "print(' '.join(ids))",
        ].join("\n");
        const made = spawnSync(path.join(mlflowVenv, "bin/python"), ["-c", script], { encoding: "utf8", env: { ...process.env, URI: `http://127.0.0.1:${mlflowPort}`, HOME: tmp } });
        expect(made.status, made.stderr).toBe(0);
        const [oldRun, recentRun] = made.stdout.trim().split("\n").pop()!.split(" ");
        const psql = (sql: string) => {
            const r = spawnSync(path.join(pg.binDir, "psql"), ["-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8", env: pg.env({ PGDATABASE: "mlflow" }) });
            expect(r.status, r.stderr).toBe(0);
            return r.stdout.trim();
        };
        psql(`UPDATE runs SET deleted_time = (extract(epoch FROM now() - interval '40 days') * 1000)::bigint WHERE run_uuid = '${oldRun}'`);
        const mc = () =>
            spawnSync(path.join(minioBinDir(), "mc"), ["ls", "--recursive", "local/mlflow"], {
                encoding: "utf8",
                env: { ...process.env, MC_CONFIG_DIR: path.join(tmp, ".mc"), MC_HOST_local: `http://${secrets["minio-credentials/root-user"]}:${secrets["minio-credentials/root-password"]}@127.0.0.1:${minioPort}` },
            }).stdout;
        expect(mc()).toContain("gc-old.txt");

        const env = { ...process.env, ...resolveEnv(c.env, secrets, local), HOME: tmp, PATH: `${path.join(mlflowVenv, "bin")}:${process.env.PATH}` };
        const gc = spawnSync(c.command[0], c.command.slice(1).map(local), { encoding: "utf8", env, cwd: tmp, timeout: 120_000 });
        expect(gc.status, gc.stderr.slice(-3000)).toBe(0);
        expect(gc.stdout).toContain(`Run with ID ${oldRun} has been permanently deleted.`);
        expect(psql(`SELECT string_agg(run_uuid, ',') FROM runs WHERE run_uuid IN ('${oldRun}', '${recentRun}')`)).toBe(recentRun);
        const objects = mc();
        expect(objects).not.toContain("gc-old.txt");
        expect(objects).toContain("gc-recent.txt");
    }, 180_000);
});
