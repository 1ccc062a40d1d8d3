import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH_CONFIG_PATH } from "../../components/mlflow";
import { renderSetupScript } from "../../components/postgres";
import { MlflowClient as ModelApiMlflowClient, MlflowError } from "../../services/model-api/src/mlflow";
import { fetchModels } from "../../services/ui/src/mlflow";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";
import { freePort, PostgresServer, startPostgres } from "../support/postgres-server";
import { runPodSteps } from "../support/pod-steps";
import { minioBinDir, resolveEnv, start, Started, venv, waitForHttp } from "../support/processes";

/**
 * The MLflow objects the program renders, run for real: the pinned MLflow (the image's
 * pins, tools/python/mlflow.txt) with the exact flags and environment of the Deployment, its
 * auth-setup init container and the schema Job, against a real Postgres (set up by our setup
 * script) and a real MinIO. Only addresses (and the auth config's path) are rewritten to loopback.
 * The tests run in order and build on each other: auth set up, server started, the train flow
 * as airflow, the readers, a password change, artifacts, gc.
 */
let program: LoadedProgram;
let pg: PostgresServer;
let minio: Started;
let mlflow: Started | undefined;
let mlflowVenv: string;
let minioPort: number;
let mlflowPort: number;
/** The `realtor-price` experiment, once the airflow login has created it. */
let experimentId: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-mlflow-"));
const MLFLOW_USERS = ["airflow", "model-api", "ui", "prometheus", "gc"] as const;
const password = () => randomBytes(16).toString("hex");
const secrets: Record<string, string> = {
    "postgres-roles/mlflow": password(),
    "postgres-roles/mlflow_auth": password(),
    "mlflow-auth/admin-password": password(),
    "mlflow-auth/flask-secret-key": randomBytes(32).toString("hex"),
    ...Object.fromEntries(MLFLOW_USERS.map((u) => [`mlflow-user-${u}/password`, password()])),
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
    const setup = spawnSync("bash", ["-c", renderSetupScript(["mlflow", "mlflow_auth"])], {
        encoding: "utf8",
        env: pg.env({ MLFLOW_PASSWORD: secrets["postgres-roles/mlflow"]!, MLFLOW_AUTH_PASSWORD: secrets["postgres-roles/mlflow_auth"]! }),
    });
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
        rewrite: (v) => v.replace("@minio.mlops.svc.cluster.local:9000", `@127.0.0.1:${minioPort}`).replace(/^\/tmp\/\.mc$/, path.join(tmp, ".mc-job")),
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
function getWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers: { ...headers, Host: host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
    });
}

/** Cluster addresses -> the local servers; the auth config's memory volume -> a directory here. */
function toLocal(value: string): string {
    return value
        .replace("postgres.mlops.svc.cluster.local:5432", `127.0.0.1:${pg.port}`)
        .replace("http://minio.mlops.svc.cluster.local:9000", `http://127.0.0.1:${minioPort}`)
        .replace(AUTH_CONFIG_PATH, path.join(tmp, "auth", "basic_auth.ini"));
}

type MlflowUser = (typeof MLFLOW_USERS)[number] | "admin";
/** Each login's current password, as its Secret holds it. */
const passwordOf = (user: MlflowUser) => secrets[user === "admin" ? "mlflow-auth/admin-password" : `mlflow-user-${user}/password`]!;
const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString("base64")}` });
const as = (user: MlflowUser) => basic(user, passwordOf(user));
const base = () => `http://127.0.0.1:${mlflowPort}`;

/**
 * A request to the running server on a connection of its own (a pooled keep-alive connection can
 * be closed by uvicorn just as it is reused): its HTTP status, headers and body (parsed when it
 * is JSON). An object body is sent as JSON, a string as it is.
 */
function call(method: string, apiPath: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
        const req = http.request(
            `${base()}${apiPath}`,
            {
                method,
                agent: false,
                headers: {
                    ...headers,
                    ...(typeof body === "object" ? { "content-type": "application/json" } : {}),
                    // Not chunked: MLflow's WSGI app reads no chunked body.
                    ...(payload === undefined ? {} : { "content-length": String(Buffer.byteLength(payload)) }),
                },
            },
            (res) => {
                let text = "";
                res.setEncoding("utf8");
                res.on("data", (d) => (text += d));
                res.on("end", () => {
                    let parsed: any = text;
                    try {
                        parsed = JSON.parse(text);
                    } catch {
                        // not JSON: the text itself
                    }
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
                });
            },
        );
        req.on("error", reject);
        req.end(payload);
    });
}

/** The rendered auth-setup init container's command, run here with its resolved env. */
function runAuthSetup(): { status: number | null; lines: string[]; stderr: string } {
    const init = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.initContainers[0];
    fs.mkdirSync(path.join(tmp, "auth"), { recursive: true });
    const env = { ...process.env, ...resolveEnv(init.env, secrets, toLocal), HOME: tmp, PATH: `${path.join(mlflowVenv, "bin")}:${process.env.PATH}` };
    const r = spawnSync(init.command[0], init.command.slice(1), { encoding: "utf8", env, cwd: tmp, timeout: 120_000 });
    return { status: r.status, lines: r.stdout.trim().split("\n"), stderr: r.stderr };
}

/** Python in the MLflow venv as one of MLflow's clients: MLflow's own client reads the login from the env. */
function pythonAs(user: MlflowUser, script: string): { status: number | null; stdout: string; stderr: string } {
    const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && !k.startsWith("MLFLOW_"))),
        MLFLOW_TRACKING_URI: base(),
        MLFLOW_TRACKING_USERNAME: user,
        MLFLOW_TRACKING_PASSWORD: passwordOf(user),
        HOME: tmp,
        GIT_PYTHON_REFRESH: "quiet",
    };
    return spawnSync(path.join(mlflowVenv, "bin/python"), ["-c", script], { encoding: "utf8", env, cwd: tmp, timeout: 180_000 });
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

    it("sets up auth with the rendered init container: the config, the admin, every client, the model; a second run changes nothing", () => {
        const first = runAuthSetup();
        expect(first.status, first.stderr.slice(-3000)).toBe(0);
        const configPath = path.join(tmp, "auth", "basic_auth.ini");
        expect(first.lines).toEqual([
            `wrote ${configPath}`,
            "admin admin: created (admin)",
            "registered model realtor-price: created",
            "user airflow: created",
            "user airflow: EDIT on registered model realtor-price: granted",
            "user airflow: EDIT on experiment realtor-price: not created yet (its creator gets MANAGE)",
            "user model-api: created",
            "user ui: created",
            "user prometheus: created",
            "user gc: created (admin)",
            "mlflow auth is set up",
        ]);
        // Only this pod's user may read it: it holds the admin's and the auth database's passwords.
        expect(fs.statSync(configPath).mode & 0o777).toBe(0o600);
        const ini = fs.readFileSync(configPath, "utf8");
        expect(ini).toContain("default_permission = READ\n");
        expect(ini).toContain(`database_uri = postgresql://mlflow_auth:${secrets["postgres-roles/mlflow_auth"]}@127.0.0.1:${pg.port}/mlflow_auth\n`);
        expect(ini).toContain("admin_username = admin\n");

        const second = runAuthSetup();
        expect(second.status, second.stderr.slice(-3000)).toBe(0);
        expect(second.lines).toEqual([
            `wrote ${configPath}`,
            "admin admin: unchanged",
            "registered model realtor-price: exists",
            "user airflow: unchanged",
            "user airflow: EDIT on registered model realtor-price: has EDIT",
            "user airflow: EDIT on experiment realtor-price: not created yet (its creator gets MANAGE)",
            "user model-api: unchanged",
            "user ui: unchanged",
            "user prometheus: unchanged",
            "user gc: unchanged",
            "mlflow auth is set up",
        ]);
    }, 300_000);

    it("serves /health to anyone and everything else only to a login, for its Service names; refuses foreign Host headers", async () => {
        const c = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0];
        const args: string[] = c.args.map(toLocal);
        args[args.indexOf("--host") + 1] = "127.0.0.1";
        args[args.indexOf("--port") + 1] = String(mlflowPort);
        args[args.indexOf("--expose-prometheus") + 1] = path.join(tmp, "metrics");
        fs.mkdirSync(path.join(tmp, "metrics"), { recursive: true });
        const env = { ...process.env, ...resolveEnv(c.env, secrets, toLocal), HOME: tmp, PATH: `${path.join(mlflowVenv, "bin")}:${process.env.PATH}` };
        mlflow = start(path.join(mlflowVenv, "bin/mlflow"), args, env);
        // The kubelet's probes: /health needs no login.
        const health = await waitForHttp(`${base()}/health`, mlflow, 180_000);
        expect(await health.text()).toBe("OK");

        const api = `${base()}/api/2.0/mlflow/experiments/search?max_results=1`;
        for (const host of ["mlflow.mlops.svc.cluster.local:5000", "mlflow:5000", "mlflow.mlops", "localhost:5000"]) {
            expect(await getWithHost(api, host, as("ui")), host).toBe(200);
            expect(await getWithHost(api, host), `${host} without a login`).toBe(401);
        }
        const anonymous = await call("GET", "/api/2.0/mlflow/experiments/search?max_results=1", {});
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers["www-authenticate"]).toBe('Basic realm="mlflow"');
        expect((await call("GET", "/api/2.0/mlflow/experiments/search?max_results=1", basic("ui", "not-the-password-0123"))).status).toBe(401);
        // Known and documented (README, "MLflow: who may do what"): under uvicorn the OpenTelemetry
        // trace intake is a FastAPI route outside the Flask app the auth checks run in. It answers
        // an anonymous request itself (400 for a body that is not OTLP), not 401. When an MLflow
        // upgrade closes it, this fails: then update the README.
        const traces = await call("POST", "/v1/traces", { "content-type": "application/x-protobuf", "x-mlflow-experiment-id": "0" }, "not OTLP");
        expect(traces.status).toBe(400);
        // DNS-rebinding protection: a Host header that is not one of ours is refused, login or not.
        const foreign = await getWithHost(api, "attacker.example", as("ui"));
        expect(foreign).toBeGreaterThanOrEqual(400);
        expect(foreign).toBeLessThan(500);
    }, 240_000);

    it("serves /metrics to Prometheus's login (the basic_auth of its scrape job), not anonymously", async () => {
        expect((await call("GET", "/metrics", {})).status).toBe(401);
        const metrics = await call("GET", "/metrics", as("prometheus"));
        expect(metrics.status).toBe(200);
        expect(metrics.body).toMatch(/^# (HELP|TYPE) mlflow_/m);
    });

    it("lets the airflow login run the train DAG's MLflow steps: experiment, run, logged model, version, alias, download", async () => {
        // What dags/include/registry.py does (log_and_register, set_production, load_onnx_version),
        // with a scikit-learn model where the DAG logs ONNX too: the same REST calls.
        const script = [
            "import json, os, tempfile",
            "import mlflow, mlflow.sklearn",
            "from mlflow import MlflowClient",
            "from sklearn.dummy import DummyRegressor",
            "name = 'realtor-price'",
            "mlflow.set_experiment(name)",
            "with mlflow.start_run(run_name='train-auth-check') as run:",
            "    mlflow.log_params({'train_rows': 3})",
            "    mlflow.log_metrics({'mae': 12.5, 'rmse': 20.0})",
            "    spec = {'inputs': [{'name': 'bed', 'type': 'float'}]}",
            "    mlflow.log_dict(spec, 'feature_spec.json')",
            "    model = DummyRegressor().fit([[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0])",
            "    info = mlflow.sklearn.log_model(model, name='model', pip_requirements=['scikit-learn'])",
            "    d = tempfile.mkdtemp(); p = os.path.join(d, 'feature_spec.json'); open(p, 'w').write(json.dumps(spec))",
            "    MlflowClient().log_model_artifact(info.model_id, p)",
            "    version = mlflow.register_model(info.model_uri, name, tags={'run_id': run.info.run_id, 'model_sha256': '0' * 64})",
            "MlflowClient().set_registered_model_alias(name, 'production', version.version)",
            "got = MlflowClient().get_model_version_by_alias(name, 'production')",
            "local = mlflow.artifacts.download_artifacts(artifact_uri=f'models:/{name}/{version.version}', dst_path=tempfile.mkdtemp())",
            "print(json.dumps({'version': str(version.version), 'alias': str(got.version), 'experiment_id': run.info.experiment_id,",
            "                  'files': sorted(os.listdir(local)), 'source': version.source}))",
        ].join("\n");
        const r = pythonAs("airflow", script);
        expect(r.status, r.stderr.slice(-3000)).toBe(0);
        const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
        expect(out).toMatchObject({ version: "1", alias: "1" });
        expect(out.source).toMatch(/^models:\/m-/);
        expect(out.files).toEqual(expect.arrayContaining(["MLmodel", "feature_spec.json", "model.pkl"]));
        experimentId = out.experiment_id;
        // MLflow made the experiment's creator its manager; the registered model stays the setup's.
        const perm = await call("GET", `/api/2.0/mlflow/experiments/permissions/get?experiment_id=${experimentId}&username=airflow`, as("admin"));
        expect(perm.body.experiment_permission.permission).toBe("MANAGE");
        const rmPerm = await call("GET", "/api/2.0/mlflow/registered-models/permissions/get?name=realtor-price&username=airflow", as("admin"));
        expect(rmPerm.body.registered_model_permission.permission).toBe("EDIT");
    }, 300_000);

    it.each(["model-api", "ui"] as const)("lets the %s login read and download, and refuses it every write to the model (403)", async (user) => {
        const reader = as(user);
        const alias = await call("GET", "/api/2.0/mlflow/registered-models/alias?name=realtor-price&alias=production", reader);
        expect(alias.status).toBe(200);
        expect(alias.body.model_version.version).toBe("1");
        const uri = await call("GET", "/api/2.0/mlflow/model-versions/get-download-uri?name=realtor-price&version=1", reader);
        expect(uri.status).toBe(200);
        const proxyPath = String(uri.body.artifact_uri).replace(/^mlflow-artifacts:\/+/, "");
        expect(proxyPath.startsWith(`${experimentId}/`)).toBe(true);
        const download = await call("GET", `/api/2.0/mlflow-artifacts/artifacts/${proxyPath}/feature_spec.json`, reader);
        expect(download.status).toBe(200);
        expect(download.body).toEqual({ inputs: [{ name: "bed", type: "float" }] });
        expect((await call("GET", "/api/2.0/mlflow/model-versions/search?filter=name%3D%27realtor-price%27", reader)).status).toBe(200);

        const source = (await call("GET", "/api/2.0/mlflow/model-versions/get?name=realtor-price&version=1", reader)).body.model_version.source;
        const writes: [string, string, unknown][] = [
            ["POST", "/api/2.0/mlflow/model-versions/create", { name: "realtor-price", source }],
            ["POST", "/api/2.0/mlflow/registered-models/alias", { name: "realtor-price", alias: "production", version: "1" }],
            ["DELETE", "/api/2.0/mlflow/registered-models/alias", { name: "realtor-price", alias: "production" }],
            ["POST", "/api/2.0/mlflow/model-versions/set-tag", { name: "realtor-price", version: "1", key: "model_sha256", value: "1".repeat(64) }],
            ["POST", "/api/2.0/mlflow/runs/create", { experiment_id: experimentId }],
            ["POST", "/api/2.0/mlflow/users/create", { username: "mallory", password: "mallory-password-0123" }],
            ["POST", "/api/2.0/mlflow/registered-models/permissions/create", { name: "realtor-price", username: user, permission: "MANAGE" }],
        ];
        for (const [method, apiPath, body] of writes) {
            const r = await call(method, apiPath, reader, body);
            expect(r.status, `${user}: ${method} ${apiPath}: ${JSON.stringify(r.body)}`).toBe(403);
            expect((await call(method, apiPath, {}, body)).status, `anonymous: ${method} ${apiPath}`).toBe(401);
        }
        // Nor can it take the model by creating it: the setup created it first.
        const create = await call("POST", "/api/2.0/mlflow/registered-models/create", reader, { name: "realtor-price" });
        expect(create.body.error_code).toBe("RESOURCE_ALREADY_EXISTS");
        const upload = await call("PUT", `/api/2.0/mlflow-artifacts/artifacts/${proxyPath}/model.pkl`, reader, "replaced");
        expect(upload.status).toBe(403);
        expect((await call("GET", "/api/2.0/mlflow/registered-models/alias?name=realtor-price&alias=production", as("admin"))).body.model_version.version).toBe("1");
    });

    it("serves the model API's and the UI's own MLflow clients with their logins", async () => {
        const client = (pw: string) =>
            new ModelApiMlflowClient({ trackingUri: base(), timeoutMs: 10_000, downloadTimeoutMs: 30_000, maxDownloadBytes: 1 << 20, username: "model-api", password: pw });
        const ref = await client(passwordOf("model-api")).resolveAlias("realtor-price", "production");
        expect(ref).toMatchObject({ name: "realtor-price", version: "1" });
        const uri = await client(passwordOf("model-api")).downloadUri("realtor-price", "1");
        expect(JSON.parse((await client(passwordOf("model-api")).downloadArtifact(uri, "feature_spec.json")).toString())).toEqual({ inputs: [{ name: "bed", type: "float" }] });
        const refused = await client("not-the-password-0123").resolveAlias("realtor-price", "production").catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(MlflowError);
        expect((refused as MlflowError).status).toBe(401);

        const models = await fetchModels(base(), "realtor-price", "production", 10_000, { username: "ui", password: passwordOf("ui") });
        expect(models.production).toBe("1");
        expect(models.versions.map((v) => [v.version, v.metrics.mae])).toEqual([["1", 12.5]]);
    });

    it("takes changed passwords at the next setup (a rotation, or an older auth database restored): new ones work, old ones are refused; grants only go up", async () => {
        const old = { admin: passwordOf("admin"), modelApi: passwordOf("model-api") };
        secrets["mlflow-auth/admin-password"] = password();
        secrets["mlflow-user-model-api/password"] = password();
        // A person the admin added is left alone by the setup.
        expect((await call("POST", "/api/2.0/mlflow/users/create", basic("admin", old.admin), { username: "alice", password: "alices-own-password-0123" })).status).toBe(200);
        const r = runAuthSetup();
        expect(r.status, r.stderr.slice(-3000)).toBe(0);
        expect(r.lines).toEqual(expect.arrayContaining([
            "admin admin: updated password",
            "user model-api: updated password",
            "user ui: unchanged",
            // The creator's MANAGE is kept, not lowered to the EDIT asked for.
            "user airflow: EDIT on experiment realtor-price: has MANAGE",
        ]));
        // The running server reads the auth database per request: no restart needed here.
        const users = "/api/2.0/mlflow/users/get?username=airflow";
        expect((await call("GET", users, basic("admin", old.admin))).status).toBe(401);
        expect((await call("GET", users, as("admin"))).status).toBe(200);
        const alias = "/api/2.0/mlflow/registered-models/alias?name=realtor-price&alias=production";
        expect((await call("GET", alias, basic("model-api", old.modelApi))).status).toBe(401);
        expect((await call("GET", alias, as("model-api"))).status).toBe(200);
        expect((await call("GET", alias, basic("alice", "alices-own-password-0123"))).status).toBe(200);

        // An experiment without the writer's grant (made before auth, or restored from such a
        // backup): the setup grants EDIT, and the writer can log runs again.
        expect((await call("DELETE", "/api/2.0/mlflow/experiments/permissions/delete", as("admin"), { experiment_id: experimentId, username: "airflow" })).status).toBe(200);
        expect((await call("POST", "/api/2.0/mlflow/runs/create", as("airflow"), { experiment_id: experimentId })).status).toBe(403);
        const again = runAuthSetup();
        expect(again.lines).toContain("user airflow: EDIT on experiment realtor-price: granted");
        const run = await call("POST", "/api/2.0/mlflow/runs/create", as("airflow"), { experiment_id: experimentId });
        expect(run.status, JSON.stringify(run.body)).toBe(200);
    }, 300_000);

    it("proxies artifacts to the MinIO bucket: a client with no S3 keys logs a file that lands in s3://mlflow", () => {
        const script = [
            "import mlflow, os, tempfile",
            "mlflow.set_experiment('platform-check')",
            "d = tempfile.mkdtemp(); p = os.path.join(d, 'hello.txt'); open(p, 'w').write('artifact via proxy')",
            "with mlflow.start_run() as run: mlflow.log_artifact(p)",
            "print(run.info.artifact_uri)",
        ].join("\n");
        // The client's environment has no AWS keys at all; it logs in as the train DAG does.
        const r = pythonAs("airflow", script);
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
        // Two runs with an artifact each, both deleted; one of them 40 days ago. Made by the
        // airflow login (an experiment of its own: it manages it); gc logs in as its own user.
        const script = [
            "import mlflow, os, tempfile",
            "mlflow.set_experiment('gc-check')",
            "ids = []",
            "for name in ('old', 'recent'):",
            "    d = tempfile.mkdtemp(); p = os.path.join(d, f'gc-{name}.txt'); open(p, 'w').write(name)",
            "    with mlflow.start_run() as run: mlflow.log_artifact(p)",
            "    mlflow.delete_run(run.info.run_id); ids.append(run.info.run_id)",
            "print(' '.join(ids))",
        ].join("\n");
        const made = pythonAs("airflow", script);
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
