import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { K8sObject, podTemplates } from "../integrity";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

const IMAGE = "mlops-platform/mlflow:3.5.1-1";
const STORE = "postgresql://mlflow@postgres.mlops.svc.cluster.local:5432/mlflow";

describe("GIVEN the dev stack, WHEN the program runs, THEN MLflow", () => {
    it("serves with a Postgres backend and artifacts proxied to s3://mlflow, on 0.0.0.0:5000", () => {
        const c = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0];
        expect(c.image).toBe(IMAGE);
        expect(c.command).toEqual(["mlflow"]);
        expect(c.args.slice(0, 12)).toEqual([
            "server", "--host", "0.0.0.0", "--port", "5000", "--workers", "1",
            "--backend-store-uri", STORE, "--serve-artifacts", "--artifacts-destination", "s3://mlflow",
        ]);
        expect(c.args).toContain("--expose-prometheus");
        // MLflow's auth app: every route but /health, /static and /favicon.ico asks for a login.
        expect(c.args.slice(-2)).toEqual(["--app-name", "basic-auth"]);
    });

    it("accepts every DNS form of its Service and its own pod IP (Prometheus's scrape) as Host, and nothing else by default", () => {
        const args: string[] = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0].args;
        const hosts = args[args.indexOf("--allowed-hosts") + 1]!.split(",");
        expect(hosts).toEqual([
            "mlflow", "mlflow:5000", "mlflow.mlops", "mlflow.mlops:5000", "mlflow.mlops.svc", "mlflow.mlops.svc:5000",
            "mlflow.mlops.svc.cluster.local", "mlflow.mlops.svc.cluster.local:5000", "localhost:*", "127.0.0.1:*", "$(POD_IP):5000",
        ]);
    });

    it("keeps S3 keys and the database password in Secrets, only in the server's env", () => {
        const c = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0];
        expect(c.env).toEqual([
            { name: "MLFLOW_BACKEND_STORE_URI", value: STORE },
            { name: "PGPASSWORD", valueFrom: secretRef("postgres-roles", "mlflow") },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            // The registry's look-up of a logged model follows the default client's tracking URI.
            { name: "MLFLOW_TRACKING_URI", value: STORE },
            { name: "MLFLOW_S3_ENDPOINT_URL", value: "http://minio.mlops.svc.cluster.local:9000" },
            // Its own MinIO user (bucket mlflow only), never the root credentials.
            { name: "AWS_ACCESS_KEY_ID", valueFrom: secretRef("minio-mlflow", "access-key") },
            { name: "AWS_SECRET_ACCESS_KEY", valueFrom: secretRef("minio-mlflow", "secret-key") },
            { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
            { name: "HOME", value: "/tmp" },
            // The auth app: its config (written by the auth-setup step) and the key that signs its form.
            { name: "MLFLOW_AUTH_CONFIG_PATH", value: "/var/run/mlflow-auth/basic_auth.ini" },
            { name: "MLFLOW_FLASK_SERVER_SECRET_KEY", valueFrom: secretRef("mlflow-auth", "flask-secret-key") },
        ]);
        // That look-up's store creates ./mlruns in the working directory: a writable one.
        expect(c.workingDir).toBe("/tmp");
        expect(c.volumeMounts).toEqual([
            { name: "tmp", mountPath: "/tmp" },
            { name: "auth", mountPath: "/var/run/mlflow-auth", readOnly: true },
        ]);
        // The password is never on the command line: libpq reads PGPASSWORD.
        expect(c.args.join(" ")).not.toMatch(/mlflow:[^@]+@/);
    });

    it("probes /health, runs restricted, and is scraped by Prometheus", () => {
        const tpl = k8sObject(program.recorder, "Deployment", "mlflow").spec.template;
        const c = tpl.spec.containers[0];
        expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/health", port: "http" } });
        expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/health", port: "http" } });
        expect(tpl.spec.securityContext).toEqual(podSecurity(1000, 1000));
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        expect(tpl.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "5000", "prometheus.io/path": "/metrics" });
        expect(k8sObject(program.recorder, "Service", "mlflow").spec.ports).toEqual([{ name: "http", port: 5000, targetPort: "http" }]);
    });

    it("upgrades the schema in a Job, with the same image and database env, before the server starts", () => {
        const job = k8sObject(program.recorder, "Job", "mlflow-db-upgrade");
        const c = job.spec.template.spec.containers[0];
        expect(c.image).toBe(IMAGE);
        expect(c.env).toEqual([
            { name: "MLFLOW_BACKEND_STORE_URI", value: STORE },
            { name: "PGPASSWORD", valueFrom: secretRef("postgres-roles", "mlflow") },
        ]);
        expect(c.command[0]).toBe("python");
        expect(c.command[2]).toContain("_upgrade_db if _all_tables_exist(engine) else _initialize_tables");
        const deployment = registration(program.recorder, "Deployment", "mlflow");
        expect(program.recorder.ancestors(deployment.urn)).toContain(registration(program.recorder, "Job", "mlflow-db-upgrade").urn);
    });
});

const AUTH_STORE = "postgresql://mlflow_auth:$(AUTH_SETUP_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlflow_auth";

describe("GIVEN the dev stack, WHEN the program runs, THEN MLflow's auth", () => {
    it("is set up before every start of the server by an init container: config, admin, users, grants", () => {
        const pod = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec;
        expect(pod.initContainers).toHaveLength(1);
        const init = pod.initContainers[0];
        expect(init.name).toBe("auth-setup");
        expect(init.image).toBe(IMAGE);
        expect(init.command.slice(0, 2)).toEqual(["python", "-c"]);
        expect(init.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        expect(init.workingDir).toBe("/tmp");
        expect(init.env).toEqual([
            { name: "MLFLOW_BACKEND_STORE_URI", value: STORE },
            { name: "PGPASSWORD", valueFrom: secretRef("postgres-roles", "mlflow") },
            // The auth store's own database and role; the password only through $(VAR).
            { name: "AUTH_SETUP_DB_PASSWORD", valueFrom: secretRef("postgres-roles", "mlflow_auth") },
            { name: "AUTH_SETUP_DATABASE_URI", value: AUTH_STORE },
            { name: "AUTH_SETUP_DEFAULT_PERMISSION", value: "READ" },
            { name: "AUTH_SETUP_ADMIN_USERNAME", value: "admin" },
            { name: "AUTH_SETUP_ADMIN_PASSWORD", valueFrom: secretRef("mlflow-auth", "admin-password") },
            // Created up front, so that no other logged-in user can create it and so manage it.
            { name: "AUTH_SETUP_REGISTERED_MODELS", value: JSON.stringify(["realtor-price"]) },
            { name: "AUTH_SETUP_USERS", value: expect.any(String) },
            { name: "AUTH_SETUP_PASSWORD_AIRFLOW", valueFrom: secretRef("mlflow-user-airflow", "password") },
            { name: "AUTH_SETUP_PASSWORD_MODEL_API", valueFrom: secretRef("mlflow-user-model-api", "password") },
            { name: "AUTH_SETUP_PASSWORD_UI", valueFrom: secretRef("mlflow-user-ui", "password") },
            { name: "AUTH_SETUP_PASSWORD_PROMETHEUS", valueFrom: secretRef("mlflow-user-prometheus", "password") },
            { name: "AUTH_SETUP_PASSWORD_GC", valueFrom: secretRef("mlflow-user-gc", "password") },
            { name: "MLFLOW_AUTH_CONFIG_PATH", value: "/var/run/mlflow-auth/basic_auth.ini" },
            { name: "HOME", value: "/tmp" },
        ]);
        // Where the config goes: memory only, shared with the server (which mounts it read-only).
        expect(init.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }, { name: "auth", mountPath: "/var/run/mlflow-auth" }]);
        expect(pod.volumes).toEqual([
            { name: "tmp", emptyDir: {} },
            { name: "auth", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
        ]);
    });

    it("gives each client a login with no more than it needs beyond the default READ", () => {
        const init = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.initContainers[0];
        const users = JSON.parse(init.env.find((e: any) => e.name === "AUTH_SETUP_USERS").value);
        const none = { admin: false, experiments: {}, registered_models: {} };
        expect(users).toEqual([
            // The train DAG writes runs, logged models and artifacts, registers versions and moves the alias.
            { username: "airflow", password_env: "AUTH_SETUP_PASSWORD_AIRFLOW", admin: false, experiments: { "realtor-price": "EDIT" }, registered_models: { "realtor-price": "EDIT" } },
            { username: "model-api", password_env: "AUTH_SETUP_PASSWORD_MODEL_API", ...none },
            { username: "ui", password_env: "AUTH_SETUP_PASSWORD_UI", ...none },
            { username: "prometheus", password_env: "AUTH_SETUP_PASSWORD_PROMETHEUS", ...none },
            // `mlflow gc` deletes artifacts of runs in any experiment through the proxy (MANAGE on each).
            { username: "gc", password_env: "AUTH_SETUP_PASSWORD_GC", ...none, admin: true },
        ]);
    });

    it("puts each MLflow credential only in the pods that use it; the admin's password only in MLflow's setup step", () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        const used: Record<string, string[]> = {};
        for (const t of podTemplates(objects)) {
            const owner = `${t.owner.kind}/${t.owner.metadata.name ?? t.labels["app.kubernetes.io/component"]}`;
            for (const c of [...(t.spec.initContainers ?? []), ...(t.spec.containers ?? [])]) {
                for (const e of c.env ?? []) {
                    const ref = e.valueFrom?.secretKeyRef;
                    if (ref && (ref.name.startsWith("mlflow-") || ref.key === "mlflow_auth")) (used[`${ref.name}/${ref.key}`] ??= []).push(`${owner}/${c.name}`);
                }
            }
            for (const v of t.spec.volumes ?? []) {
                if (v.secret?.secretName.startsWith("mlflow-")) {
                    for (const item of v.secret.items) (used[`${v.secret.secretName}/${item.key}`] ??= []).push(`${owner}/volume ${v.name}`);
                }
            }
        }
        // Airflow's login reaches only the Celery workers, which run the tasks (as MODEL_API_HOOK_TOKEN does).
        const airflowPods = ["Deployment/airflow-worker/worker"];
        for (const k of Object.keys(used)) used[k]!.sort();
        expect(used).toEqual({
            "mlflow-auth/admin-password": ["Deployment/mlflow/auth-setup"],
            "mlflow-auth/flask-secret-key": ["Deployment/mlflow/mlflow"],
            // The auth database's password: MLflow's setup step and nothing else of ours (the
            // Postgres setup Job sets it; the backups read every database as the superuser).
            "postgres-roles/mlflow_auth": ["Deployment/mlflow/auth-setup", "Job/setup/setup"],
            "mlflow-user-airflow/password": ["Deployment/mlflow/auth-setup", ...airflowPods].sort(),
            "mlflow-user-model-api/password": ["Deployment/mlflow/auth-setup", "Deployment/model-api/model-api"],
            "mlflow-user-ui/password": ["Deployment/mlflow/auth-setup", "Deployment/ui/ui"],
            "mlflow-user-prometheus/password": ["Deployment/mlflow/auth-setup", "StatefulSet/prometheus/volume scrape-auth-mlflow"],
            "mlflow-user-gc/password": ["CronJob/mlflow-gc/gc", "Deployment/mlflow/auth-setup"],
        });
    });

    it("has the gc CronJob log in to the artifact proxy as its own (admin) user", () => {
        const c = k8sObject(program.recorder, "CronJob", "mlflow-gc").spec.jobTemplate.spec.template.spec.containers[0];
        expect(c.env).toEqual([
            { name: "MLFLOW_BACKEND_STORE_URI", value: STORE },
            { name: "PGPASSWORD", valueFrom: secretRef("postgres-roles", "mlflow") },
            { name: "MLFLOW_TRACKING_URI", value: "http://mlflow.mlops.svc.cluster.local:5000" },
            { name: "MLFLOW_TRACKING_USERNAME", value: "gc" },
            { name: "MLFLOW_TRACKING_PASSWORD", valueFrom: secretRef("mlflow-user-gc", "password") },
        ]);
    });

    it("rolls the server when any password it uses or sets rotates, so the setup step applies it", () => {
        // One checksum per Secret: postgres-roles, minio-mlflow, mlflow-auth and the five logins.
        const annotation: string = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.metadata.annotations["mlops.dev/credentials-checksum"];
        const sums = annotation.split(",");
        expect(sums).toHaveLength(8);
        for (const s of sums) expect(s).toMatch(/^[0-9a-f]{64}$/);
    });

    it("refuses logins a basic-auth header cannot carry, a user twice, and the admin among the users", async () => {
        const { validateAuthUsers } = await import("../../components/mlflow");
        const field = (i: number) => `auth.users[${i}].username`;
        expect(() => validateAuthUsers([["auth.admin.username", "admin"], [field(0), "airflow"], [field(1), "model-api"]])).not.toThrow();
        expect(() =>
            validateAuthUsers([["auth.admin.username", "admin"], [field(0), "a:b"], [field(1), "admin"], [field(2), "model_api"], ["deletedRunRetention.login.username", "model-api"]]),
        ).toThrow(
            "MLflow auth: 'auth.users[0].username' must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 64 characters; got 'a:b'); " +
                "'auth.users[1].username' ('admin') is the same login as 'auth.admin.username' (AUTH_SETUP_PASSWORD_ADMIN); " +
                "'deletedRunRetention.login.username' ('model-api') is the same login as 'auth.users[2].username' (AUTH_SETUP_PASSWORD_MODEL_API)",
        );
    });
});

describe("the graph orders MLflow", () => {
    it("after the Postgres db Job and the MinIO bucket Job", () => {
        for (const [kind, name] of [["Deployment", "mlflow"], ["Job", "mlflow-db-upgrade"]] as const) {
            const ancestors = program.recorder.ancestors(registration(program.recorder, kind, name).urn);
            expect(ancestors, `${kind} ${name}`).toContain(registration(program.recorder, "Job", "postgres-setup").urn);
        }
        const server = program.recorder.ancestors(registration(program.recorder, "Deployment", "mlflow").urn);
        expect(server).toContain(registration(program.recorder, "Job", "minio-buckets").urn);
    });
});
