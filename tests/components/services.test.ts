import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER, secretRef } from "../helpers";
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
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-roles", "mlops") },
            { name: "DATABASE_URL", value: "postgresql://mlops:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
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
            { name: "MLOPS_DB_PASSWORD", valueFrom: secretRef("postgres-roles", "mlops") },
            { name: "DATA_API_DATABASE_URL", value: "postgresql://mlops:$(MLOPS_DB_PASSWORD)@postgres.mlops.svc.cluster.local:5432/mlops" },
            { name: "DATA_API_RESTART_TOKEN", valueFrom: secretRef("data-api-restart", "token") },
        ]);
        expect(k8sObject(program.recorder, "Service", "data-api").spec.ports).toEqual([{ name: "http", port: 80, targetPort: "http" }]);
        expect(dep.spec.template.metadata.annotations).toMatchObject(SCRAPE("8000"));
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
        for (const p of ["worker", "scheduler", "dag-processor"]) {
            const env = k8sObject(program.recorder, "Deployment", `airflow-${p}`).spec.template.spec.containers[0].env;
            expect(env.find((e: any) => e.name === "MODEL_API_HOOK_TOKEN"), p).toEqual({ name: "MODEL_API_HOOK_TOKEN", valueFrom: token });
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
