import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER, secretRef } from "../helpers";
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
        ]);
        // That look-up's store creates ./mlruns in the working directory: a writable one.
        expect(c.workingDir).toBe("/tmp");
        expect(c.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
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
