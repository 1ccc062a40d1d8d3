import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { K8sObject, podTemplates } from "../integrity";
import { settle } from "../mocks";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});
const urn = (kind: string, name: string) => registration(program.recorder, kind, name).urn;
const SCRAPE = (port: string) => ({ "prometheus.io/scrape": "true", "prometheus.io/port": port, "prometheus.io/path": "/metrics" });

describe("GIVEN the dev stack, WHEN the program runs, THEN the model API", () => {
    it("serves the production alias from MLflow with the inference log in the mlops database", () => {
        const dep = k8sObject(program.recorder, "Deployment", "model-api");
        const c = dep.spec.template.spec.containers[0];
        expect(c.image).toBe("mlops-platform/model-api:0.1.0");
        expect(c.env).toEqual([
            { name: "PORT", value: "8989" },
            { name: "MLFLOW_TRACKING_URI", value: "http://mlflow.mlops.svc.cluster.local:5000" },
            // Its own MLflow login, a reader: the password only from its Secret.
            { name: "MLFLOW_TRACKING_USERNAME", value: "model-api" },
            { name: "MLFLOW_TRACKING_PASSWORD", valueFrom: secretRef("mlflow-user-model-api", "password") },
            { name: "MODEL_NAME", value: "realtor-price" },
            { name: "MODEL_ALIAS", value: "production" },
            { name: "MODEL_POLL_INTERVAL_SECONDS", value: "30" },
            // Its own role, which may only INSERT into serving.inference_log; it does not migrate.
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-service-roles", "model_api") },
            { name: "DATABASE_URL", value: "postgresql://model_api:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
            { name: "INFERENCE_LOG_MIGRATE", value: "false" },
            { name: "HOOK_TOKEN", valueFrom: secretRef("model-api-hook", "token") },
            { name: "MODEL_CACHE_DIR", value: "/var/cache/model-api" },
        ]);
        // The last good model on a volume that outlives a container restart.
        expect(c.volumeMounts).toEqual([{ name: "model-cache", mountPath: "/var/cache/model-api" }]);
        expect(dep.spec.template.spec.volumes).toEqual([{ name: "model-cache", emptyDir: { sizeLimit: "160Mi" } }]);
        expect(c.ports).toEqual([{ name: "http", containerPort: 8989 }]);
        expect(c.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" });
        expect(c.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" });
        expect(dep.spec.template.metadata.annotations).toMatchObject(SCRAPE("8989"));
        expect(k8sObject(program.recorder, "Service", "model-api").spec.ports).toEqual([{ name: "http", port: 8989, targetPort: "http" }]);
    });

    it("does not hold `pulumi up` until the first model exists (it is correctly unready until then)", () => {
        expect(k8sObject(program.recorder, "Deployment", "model-api").metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
        expect(k8sObject(program.recorder, "Service", "model-api").metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
        expect(k8sObject(program.recorder, "Deployment", "ui").metadata.annotations).toBeUndefined();
    });
});

describe("the data API", () => {
    it("answers on Service port 80 and keeps batch counters in the mlops database", () => {
        const dep = k8sObject(program.recorder, "Deployment", "data-api");
        const c = dep.spec.template.spec.containers[0];
        expect(c.image).toBe("mlops-platform/data-api:0.1.0");
        expect(c.env).toEqual([
            { name: "DATA_API_PORT", value: "8000" },
            { name: "DATA_API_INTERVAL_SECONDS", value: "300" },
            { name: "DATA_API_STATE_BACKEND", value: "postgres" },
            // Its own role, which may only use the batch counters; it does not migrate.
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-service-roles", "data_api") },
            { name: "DATA_API_DATABASE_URL", value: "postgresql://data_api:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
            { name: "DATA_API_DB_MIGRATE", value: "false" },
            { name: "DATA_API_RESTART_TOKEN", valueFrom: secretRef("data-api-restart", "token") },
        ]);
        expect(k8sObject(program.recorder, "Service", "data-api").spec.ports).toEqual([{ name: "http", port: 80, targetPort: "http" }]);
        expect(dep.spec.template.metadata.annotations).toMatchObject(SCRAPE("8000"));
    });
});

describe("GIVEN the dev stack, WHEN the program runs, THEN each service's database credentials", () => {
    /** `Kind/name/container` of every container holding `secret/key`, in the whole program. */
    function holders(secret: string, key: string): string[] {
        const out: string[] = [];
        for (const t of podTemplates(program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject))) {
            for (const c of [...(t.spec.initContainers ?? []), ...(t.spec.containers ?? [])]) {
                if ((c.env ?? []).some((e: any) => e.valueFrom?.secretKeyRef?.name === secret && e.valueFrom.secretKeyRef.key === key)) {
                    out.push(`${t.owner.kind}/${t.owner.metadata.name ?? t.labels["app.kubernetes.io/instance"]}/${c.name}`);
                }
            }
            expect(t.spec.containers.concat(t.spec.initContainers ?? []).some((c: any) => c.envFrom !== undefined)).toBe(false);
        }
        return out.sort();
    }
    const secretKeys = (c: any) => (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);

    it("the services' own roles are held by their server containers and the setup Job that creates them, nowhere else", () => {
        expect(holders("postgres-service-roles", "model_api")).toEqual(["Deployment/model-api/model-api", "Job/postgres/setup"]);
        expect(holders("postgres-service-roles", "data_api")).toEqual(["Deployment/data-api/data-api", "Job/postgres/setup"]);
    });

    it.each([
        ["model-api", ["mlflow-user-model-api/password", "model-api-hook/token", "postgres-service-roles/model_api"]],
        ["data-api", ["data-api-restart/token", "postgres-service-roles/data_api"]],
    ])("%s: the server container never gets the owner's password; only the migrate init container does", (name, serverKeys) => {
        const pod = k8sObject(program.recorder, "Deployment", name).spec.template.spec;
        expect(pod.containers.map((c: any) => c.name)).toEqual([name]);
        expect(secretKeys(pod.containers[0]).sort()).toEqual(serverKeys);
        expect(pod.initContainers.map((c: any) => c.name)).toEqual(["migrate"]);
        expect(secretKeys(pod.initContainers[0])).toEqual(["postgres-roles/mlops"]);
    });

    it("model-api: an init container of the same image migrates as the owner, then grants the server's role", () => {
        const pod = k8sObject(program.recorder, "Deployment", "model-api").spec.template.spec;
        const [migrate] = pod.initContainers;
        expect(migrate.image).toBe(pod.containers[0].image);
        expect(migrate.command).toEqual(["node", "services/model-api/dist/src/migrate.js"]);
        expect(migrate.env).toEqual([
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-roles", "mlops") },
            { name: "DATABASE_URL", value: "postgresql://mlops:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
            { name: "DATABASE_RUNTIME_ROLE", value: "model_api" },
        ]);
        expect(migrate.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true });
        expect(migrate.resources).toEqual({ requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "192Mi" } });
    });

    it("data-api: an init container of the same image migrates as the owner, then grants the server's role", () => {
        const pod = k8sObject(program.recorder, "Deployment", "data-api").spec.template.spec;
        const [migrate] = pod.initContainers;
        expect(migrate.image).toBe(pod.containers[0].image);
        expect(migrate.command).toEqual(["node", "services/data-api/dist/migrate.js"]);
        expect(migrate.env).toEqual([
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-roles", "mlops") },
            { name: "DATA_API_DATABASE_URL", value: "postgresql://mlops:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
            { name: "DATA_API_DATABASE_RUNTIME_ROLE", value: "data_api" },
        ]);
        expect(migrate.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true });
    });

    it("the inference-log prune CronJob deletes rows, so it runs as the owner", () => {
        const c = k8sObject(program.recorder, "CronJob", "model-api-prune").spec.jobTemplate.spec.template.spec.containers[0];
        expect(c.env).toEqual([
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-roles", "mlops") },
            { name: "DATABASE_URL", value: "postgresql://mlops:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
            { name: "INFERENCE_LOG_RETENTION_DAYS", value: "90" },
        ]);
    });

    it("both pods roll when the owner's or their own password rotates", () => {
        for (const name of ["model-api", "data-api"]) {
            const tpl = k8sObject(program.recorder, "Deployment", name).spec.template;
            expect(tpl.metadata.annotations["mlops.dev/credentials-checksum"], name).toMatch(/^[0-9a-f]{64}(,[0-9a-f]{64})*$/);
        }
    });

    it("with `dataApi.state: file` the data API has no migrate step and no database credential", async () => {
        const { DataApi } = await import("../../components/data-api");
        const { parseConfig } = await import("../../config");
        const config = parseConfig({ "mlops-platform:storageClass": "x", "mlops-platform:dataApi": JSON.stringify({ state: "file" }) }, "mlops-platform");
        const db = (user: string) => ({ host: pulumi.output("h"), port: 5432, database: pulumi.output("mlops"), user: pulumi.output(user), password: { name: "s", key: user } });
        new DataApi("data-api-file", { namespace: "mlops", config: config.dataApi, database: db("data_api"), owner: db("mlops"), credentialsChecksum: "0", restartToken: { name: "t", key: "token" } });
        await settle(program.recorder);
        const pod = k8sObject(program.recorder, "Deployment", "data-api-file").spec.template.spec;
        expect(pod.initContainers).toBeUndefined();
        expect(secretKeys(pod.containers[0])).toEqual(["t/token"]);
    });
});

describe("the UI", () => {
    it("proxies the model API, MLflow and the data API by their in-cluster URLs", () => {
        const c = k8sObject(program.recorder, "Deployment", "ui").spec.template.spec.containers[0];
        expect(c.env).toEqual([
            { name: "UI_PORT", value: "8501" },
            { name: "MODEL_API_URL", value: "http://model-api.mlops.svc.cluster.local:8989" },
            { name: "MLFLOW_URL", value: "http://mlflow.mlops.svc.cluster.local:5000" },
            { name: "MLFLOW_TRACKING_USERNAME", value: "ui" },
            { name: "MLFLOW_TRACKING_PASSWORD", valueFrom: secretRef("mlflow-user-ui", "password") },
            { name: "DATA_API_URL", value: "http://data-api.mlops.svc.cluster.local" },
        ]);
        expect(k8sObject(program.recorder, "Service", "ui").spec.ports).toEqual([{ name: "http", port: 8501, targetPort: "http" }]);
    });

    it("rolls when its MLflow password rotates", () => {
        const annotations = k8sObject(program.recorder, "Deployment", "ui").spec.template.metadata.annotations;
        expect(annotations["mlops.dev/credentials-checksum"]).toMatch(/^[0-9a-f]{64}$/);
    });
});

describe("all three", () => {
    it.each(["model-api", "data-api", "ui"])("%s runs restricted, read-only, as uid 1000 with its budgeted resources", (name) => {
        const tpl = k8sObject(program.recorder, "Deployment", name).spec.template;
        expect(tpl.spec.securityContext).toEqual(podSecurity(1000, 1000));
        expect(tpl.spec.containers[0].securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true });
        expect(tpl.spec.automountServiceAccountToken).toBe(false);
        expect(tpl.spec.containers[0].resources.limits.memory).toBeDefined();
    });
});

describe("the graph orders the services", () => {
    it("model-api after MLflow and the Postgres setup Job", () => {
        const a = program.recorder.ancestors(urn("Deployment", "model-api"));
        expect(a).toContain(urn("Deployment", "mlflow"));
        expect(a).toContain(urn("Job", "postgres-setup"));
    });
    it("ui after model-api, MLflow and data-api", () => {
        const a = program.recorder.ancestors(urn("Deployment", "ui"));
        expect(a).toContain(urn("Deployment", "model-api"));
        expect(a).toContain(urn("Deployment", "mlflow"));
        expect(a).toContain(urn("Deployment", "data-api"));
    });
    it("the train DAG sends the very token the model API's hook requires (one generated Secret key)", () => {
        const token = secretRef("model-api-hook", "token");
        const modelApi = k8sObject(program.recorder, "Deployment", "model-api").spec.template.spec.containers[0].env;
        expect(modelApi.find((e: any) => e.name === "HOOK_TOKEN")).toEqual({ name: "HOOK_TOKEN", valueFrom: token });
        const worker = k8sObject(program.recorder, "Deployment", "airflow-worker").spec.template.spec.containers[0].env;
        expect(worker.find((e: any) => e.name === "MODEL_API_HOOK_TOKEN")).toEqual({ name: "MODEL_API_HOOK_TOKEN", valueFrom: token });
        // Only the processes that run tasks hold it.
        for (const p of ["scheduler", "dag-processor", "api-server", "triggerer"]) {
            const env = k8sObject(program.recorder, "Deployment", `airflow-${p}`).spec.template.spec.containers[0].env;
            expect(env.find((e: any) => e.name === "MODEL_API_HOOK_TOKEN"), p).toBeUndefined();
        }
        const secret = k8sObject(program.recorder, "Secret", "model-api-hook");
        expect(Object.keys(secret.stringData ?? secret.data)).toEqual(["token"]);
    });

    it("Airflow's DAG environment points at the deployed model API and data API", () => {
        const a = program.recorder.ancestors(urn("Deployment", "airflow-worker"));
        expect(a).toContain(urn("Service", "model-api"));
        expect(a).toContain(urn("Service", "data-api"));
    });
});
