import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { settle } from "../mocks";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

const IMAGE = "mlops-platform/airflow:3.3.2-1";
const PROCESSES = ["api-server", "scheduler", "dag-processor", "triggerer", "worker"];
const templates = () => [
    ["Job", "airflow-migrate"],
    ...PROCESSES.map((p) => ["Deployment", `airflow-${p}`]),
] as const;
const envOf = (tpl: any, container = 0) => Object.fromEntries(tpl.spec.containers[container].env.map((e: any) => [e.name, e]));

describe("GIVEN the dev stack, WHEN the program runs, THEN Airflow", () => {
    it("runs api-server, scheduler, dag-processor, triggerer and workers from the pinned image", () => {
        const commands = Object.fromEntries(PROCESSES.map((p) => [p, k8sObject(program.recorder, "Deployment", `airflow-${p}`).spec.template.spec.containers[0].command]));
        expect(commands).toEqual({
            "api-server": ["airflow", "api-server", "--port", "8080", "--workers", "1"],
            scheduler: ["airflow", "scheduler"],
            "dag-processor": ["airflow", "dag-processor"],
            triggerer: ["airflow", "triggerer"],
            worker: ["airflow", "celery", "worker"],
        });
        for (const [kind, name] of templates()) {
            expect(k8sObject(program.recorder, kind, name).spec.template.spec.containers[0].image, name).toBe(IMAGE);
        }
        expect(k8sObject(program.recorder, "Job", "airflow-migrate").spec.template.spec.containers[0].command).toEqual(["airflow", "db", "migrate"]);
    });

    it("gives every Airflow pod the same JWT secret, API secret key and Fernet key, from one Secret", () => {
        for (const [kind, name] of templates()) {
            const env = envOf(k8sObject(program.recorder, kind, name).spec.template);
            expect(env["AIRFLOW__CORE__FERNET_KEY"], name).toEqual({ name: "AIRFLOW__CORE__FERNET_KEY", valueFrom: secretRef("airflow-credentials", "fernet-key") });
            expect(env["AIRFLOW__API_AUTH__JWT_SECRET"], name).toEqual({ name: "AIRFLOW__API_AUTH__JWT_SECRET", valueFrom: secretRef("airflow-credentials", "jwt-secret") });
            expect(env["AIRFLOW__API__SECRET_KEY"], name).toEqual({ name: "AIRFLOW__API__SECRET_KEY", valueFrom: secretRef("airflow-credentials", "api-secret-key") });
        }
        // The environment is identical across processes, except what only task-running workers get.
        const TASK_ONLY = ["DATA_API_URL", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLOPS_MODEL_NAME", "MLOPS_DB_PASSWORD", "MODEL_API_HOOK_TOKEN", "MODEL_API_URL", "AIRFLOW_CONN_MLOPS_DB"].sort();
        const envs = templates().map(([kind, name]) => [name, k8sObject(program.recorder, kind, name).spec.template.spec.containers[0].env as { name: string }[]] as const);
        const worker = envs.find(([name]) => name === "airflow-worker")![1];
        const shared = worker.filter((e) => !TASK_ONLY.includes(e.name));
        expect(worker.map((e) => e.name).filter((n) => TASK_ONLY.includes(n)).sort()).toEqual(TASK_ONLY);
        for (const [name, env] of envs.filter(([name]) => name !== "airflow-worker")) expect(env, name).toEqual(shared);
    });

    it("builds connection strings from outputs, splicing passwords in with $(VAR) from Secrets", () => {
        const env = envOf(k8sObject(program.recorder, "Deployment", "airflow-worker").spec.template);
        expect(env["AIRFLOW_DB_PASSWORD"].valueFrom).toEqual(secretRef("postgres-roles", "airflow"));
        expect(env["REDIS_PASSWORD"].valueFrom).toEqual(secretRef("redis-credentials", "password"));
        expect(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].value).toBe(
            "postgresql+psycopg2://airflow:$(AIRFLOW_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/airflow",
        );
        expect(env["AIRFLOW__CELERY__BROKER_URL"].value).toBe("redis://:$(REDIS_PASSWORD)@redis.mlops.svc.cluster.local:6379/0");
        expect(env["AIRFLOW__CELERY__RESULT_BACKEND"].value).toBe("db+postgresql://airflow:$(AIRFLOW_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/airflow");
        expect(env["AIRFLOW__CORE__EXECUTOR"].value).toBe("CeleryExecutor");
        expect(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].value).toBe("http://airflow-api-server.mlops.svc.cluster.local:8080/execution/");
        expect(env["AIRFLOW_CONN_MLOPS_DB"].value).toBe("postgresql://mlops:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops");
        expect(env["MLFLOW_TRACKING_URI"].value).toBe("http://mlflow.mlops.svc.cluster.local:5000");
        expect(env["MODEL_API_URL"].value).toBe("http://model-api.mlops.svc.cluster.local:8989");
    });

    it("ships task logs to the airflow-logs bucket so they outlive worker pods", () => {
        const env = envOf(k8sObject(program.recorder, "Deployment", "airflow-worker").spec.template);
        expect(env["AIRFLOW__LOGGING__REMOTE_LOGGING"].value).toBe("True");
        expect(env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"].value).toBe("s3://airflow-logs");
        expect(JSON.parse(env["AIRFLOW_CONN_MINIO_LOGS"].value)).toEqual({
            conn_type: "aws",
            login: "$(LOGS_S3_ACCESS_KEY)",
            password: "$(LOGS_S3_SECRET_KEY)",
            extra: { endpoint_url: "http://minio.mlops.svc.cluster.local:9000", region_name: "us-east-1" },
        });
    });

    it("sends every process's metrics to the statsd exporter: modern names, variables as InfluxDB tags, no run_id/job_id", () => {
        for (const process of ["api-server", "scheduler", "dag-processor", "triggerer", "worker"]) {
            const env = envOf(k8sObject(program.recorder, "Deployment", `airflow-${process}`).spec.template);
            const metrics = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith("AIRFLOW__METRICS__")).map(([name, v]: [string, any]) => [name, v.value]));
            expect(metrics, process).toEqual({
                AIRFLOW__METRICS__STATSD_ON: "True",
                AIRFLOW__METRICS__STATSD_HOST: "statsd-exporter.mlops.svc.cluster.local",
                AIRFLOW__METRICS__STATSD_PORT: "9125",
                AIRFLOW__METRICS__STATSD_PREFIX: "airflow",
                AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED: "True",
                AIRFLOW__METRICS__STATSD_DISABLED_TAGS: "job_id,run_id",
                AIRFLOW__METRICS__LEGACY_NAMES_ON: "False",
            });
        }
    });

    it("creates the admin user from a generated password file (SimpleAuthManager)", () => {
        const env = envOf(k8sObject(program.recorder, "Deployment", "airflow-api-server").spec.template);
        expect(env["AIRFLOW__CORE__AUTH_MANAGER"].value).toBe("airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager");
        expect(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].value).toBe("admin:admin");
        expect(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].value).toBe("/opt/airflow/auth/passwords.json");
        const secret = k8sObject(program.recorder, "Secret", "airflow-auth");
        expect(JSON.parse(secret.stringData["passwords.json"])).toEqual({ admin: "gen-airflow-credentials-admin-password" });
    });

    it("hands the passwords file to the api-server alone, as a writable copy (SimpleAuthManager opens it for appending)", () => {
        const spec = k8sObject(program.recorder, "Deployment", "airflow-api-server").spec.template.spec;
        expect(spec.initContainers.map((c: any) => [c.name, c.command])).toEqual([["auth-file", ["cp", "/opt/airflow/auth-secret/passwords.json", "/opt/airflow/auth/passwords.json"]]]);
        expect(spec.initContainers[0].volumeMounts).toEqual([
            { name: "auth-secret", mountPath: "/opt/airflow/auth-secret", readOnly: true },
            { name: "auth", mountPath: "/opt/airflow/auth" },
        ]);
        expect(spec.containers[0].volumeMounts).toContainEqual({ name: "auth", mountPath: "/opt/airflow/auth" });
        expect(spec.volumes).toContainEqual({ name: "auth-secret", secret: { secretName: "airflow-auth" } });
        expect(spec.volumes).toContainEqual({ name: "auth", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
        for (const [kind, name] of templates().filter(([, n]) => n !== "airflow-api-server")) {
            const volumes = k8sObject(program.recorder, kind, name).spec.template.spec.volumes.map((v: any) => v.name);
            expect(volumes, name).not.toContain("auth-secret");
            expect(volumes, name).not.toContain("auth");
        }
    });

    it("ships an .airflowignore that leaves the ConfigMap volume's own ..data and ..<timestamp> entries out, after the repository's rules", () => {
        const ignore: string = k8sObject(program.recorder, "ConfigMap", "airflow-dags").data[".airflowignore"];
        const lines = ignore.split("\n").filter((l) => l && !l.startsWith("#"));
        expect(lines.at(-1)).toBe("..*");
        expect(lines.length).toBeGreaterThan(1);
    });

    it("probes every process and runs each restricted as the airflow user", () => {
        for (const p of PROCESSES) {
            const tpl = k8sObject(program.recorder, "Deployment", `airflow-${p}`).spec.template;
            const c = tpl.spec.containers[0];
            expect(c.readinessProbe, p).toBeDefined();
            expect(c.livenessProbe, p).toBeDefined();
            expect(tpl.spec.securityContext, p).toEqual(podSecurity(50000, 0));
            expect(c.securityContext, p).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        }
        expect(k8sObject(program.recorder, "Deployment", "airflow-api-server").spec.template.spec.containers[0].readinessProbe.httpGet).toEqual({ path: "/api/v2/monitor/health", port: "http" });
        expect(k8sObject(program.recorder, "Deployment", "airflow-scheduler").spec.template.spec.containers[0].livenessProbe.httpGet).toEqual({ path: "/health", port: "health" });
        expect(k8sObject(program.recorder, "Deployment", "airflow-dag-processor").spec.template.spec.containers[0].livenessProbe.exec.command).toEqual(["airflow", "jobs", "check", "--job-type", "DagProcessorJob", "--local"]);
    });

    it("takes worker replicas from config and mounts DAGs only where they are parsed or run", () => {
        expect(k8sObject(program.recorder, "Deployment", "airflow-worker").spec.replicas).toBe(1);
        for (const p of PROCESSES) {
            const mounts = k8sObject(program.recorder, "Deployment", `airflow-${p}`).spec.template.spec.containers[0].volumeMounts.map((m: any) => m.name);
            expect(mounts.includes("dags"), p).toBe(p === "dag-processor" || p === "worker");
        }
        const cm = k8sObject(program.recorder, "ConfigMap", "airflow-dags");
        expect(Object.keys(cm.data)).toEqual(expect.arrayContaining([".airflowignore", "ingest.py", "train.py", "_platform_config__listing.json", "_platform_config__feature-spec.example.json"]));
        expect(Object.keys(cm.data).some((k) => k.startsWith("tests__"))).toBe(false);
        const items = k8sObject(program.recorder, "Deployment", "airflow-worker").spec.template.spec.volumes.find((v: any) => v.name === "dags").configMap.items;
        expect(items).toContainEqual({ key: "_platform_config__listing.json", path: "_platform_config/listing.json" });
        expect(envOf(k8sObject(program.recorder, "Deployment", "airflow-worker").spec.template).MLOPS_CONFIG_DIR.value).toBe("/opt/airflow/dags/_platform_config");
        for (const key of Object.keys(cm.data)) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
    });
});

describe("GIVEN the git DAG source", () => {
    it("adds a git-sync v4 sidecar with repo, ref, sub-path, period and credentials to exactly dag-processor and worker", async () => {
        const { Airflow } = await import("../../components/airflow");
        const { parseConfig } = await import("../../config");
        const config = parseConfig(
            {
                "mlops-platform:storageClass": "standard",
                "mlops-platform:airflow": JSON.stringify({
                    workers: { replicas: 3 },
                    dags: { source: "git", git: { repo: "https://example.invalid/org/dags.git", ref: "v1.2", subPath: "pipelines", period: "30s", username: "bot" } },
                }),
            },
            "mlops-platform",
        );
        const ref = (key: string) => ({ name: "s", key });
        const db = { host: "pg" as any, port: 5432, database: "airflow" as any, user: "airflow" as any, password: ref("db") };
        new Airflow("af-git", {
            namespace: "mlops",
            config: config.airflow,
            database: db,
            pipelineDatabase: { ...db, database: "mlops" as any, user: "mlops" as any },
            redis: { host: "redis", port: 6379, password: ref("redis") },
            keys: { fernetKey: ref("f"), jwtSecret: ref("j"), apiSecretKey: ref("a") },
            adminPassword: "x",
            logs: { s3Endpoint: "http://minio:9000", bucket: "airflow-logs", accessKey: ref("ak"), secretKey: ref("sk") },
            pipelineEnv: {},
            gitPassword: { name: "git-sync", key: "password" },
            credentialsChecksum: "0",
        });
        await settle(program.recorder);
        for (const p of PROCESSES) {
            const spec = k8sObject(program.recorder, "Deployment", `af-git-${p}`).spec.template.spec;
            const sidecar = spec.containers.find((c: any) => c.name === "git-sync");
            if (p === "dag-processor" || p === "worker") {
                expect(sidecar.image).toBe("registry.k8s.io/git-sync/git-sync:v4.4.2");
                expect(Object.fromEntries(sidecar.env.map((e: any) => [e.name, e.value ?? e.valueFrom]))).toEqual({
                    GITSYNC_REPO: "https://example.invalid/org/dags.git",
                    GITSYNC_REF: "v1.2",
                    GITSYNC_ROOT: "/opt/airflow/dags",
                    GITSYNC_LINK: "repo",
                    GITSYNC_PERIOD: "30s",
                    GITSYNC_DEPTH: "1",
                    HOME: "/tmp",
                    GITSYNC_USERNAME: "bot",
                    GITSYNC_PASSWORD: secretRef("git-sync", "password"),
                });
                expect(sidecar.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
                expect(spec.containers[0].volumeMounts).toContainEqual({ name: "dags", mountPath: "/opt/airflow/dags", readOnly: true });
                expect(envOf({ spec }).AIRFLOW__CORE__DAGS_FOLDER.value).toBe("/opt/airflow/dags/repo/pipelines");
            } else {
                expect(sidecar, p).toBeUndefined();
                expect(spec.volumes.map((v: any) => v.name), p).not.toContain("dags");
            }
        }
        expect(k8sObject(program.recorder, "Deployment", "af-git-worker").spec.replicas).toBe(3);
        // No statsd exporter given: metrics stay off rather than pointing at a host that does not exist.
        const env = envOf(k8sObject(program.recorder, "Deployment", "af-git-scheduler").spec.template);
        expect(Object.keys(env).filter((name) => name.startsWith("AIRFLOW__METRICS__"))).toEqual([]);
    });

    it("rejects the git source without a repository, naming the field", async () => {
        const { parseConfig } = await import("../../config");
        expect(() =>
            parseConfig({ "mlops-platform:storageClass": "s", "mlops-platform:airflow": JSON.stringify({ dags: { source: "git" } }) }, "mlops-platform"),
        ).toThrow("'airflow.dags.git.repo' is required when 'airflow.dags.source' is 'git'");
    });
});

describe("the graph orders Airflow", () => {
    const urn = (kind: string, name: string) => registration(program.recorder, kind, name).urn;
    it("runs the migrate Job after the Postgres db Job and Redis", () => {
        const ancestors = program.recorder.ancestors(urn("Job", "airflow-migrate"));
        expect(ancestors).toContain(urn("Job", "postgres-setup"));
        expect(ancestors).toContain(urn("StatefulSet", "redis"));
    });
    it("starts every Airflow workload after the migrate Job", () => {
        for (const p of PROCESSES) {
            expect(program.recorder.ancestors(urn("Deployment", `airflow-${p}`)), p).toContain(urn("Job", "airflow-migrate"));
        }
    });
    it("gives the DAGs an MLflow that is up (tracking URI from the MLflow Deployment)", () => {
        expect(program.recorder.ancestors(urn("Deployment", "airflow-worker"))).toContain(urn("Deployment", "mlflow"));
    });
});
