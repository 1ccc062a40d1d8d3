import { beforeAll, describe, expect, it } from "vitest";
import { ingressSchema } from "../../config/ingress";
import { k8sObject } from "../helpers";
import { checkIntegrity, K8sObject, validateSchemas } from "../integrity";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;

const HOSTS = {
    airflow: "airflow.mlops.example.com",
    mlflow: "mlflow.mlops.example.com",
    minioConsole: "minio.mlops.example.com",
    modelApi: "api.mlops.example.com",
    ui: "mlops.example.com",
    prometheus: "prometheus.mlops.example.com",
    grafana: "grafana.mlops.example.com",
};

beforeAll(async () => {
    program = await runProgram("dev", {
        ingress: { enabled: true, className: "nginx", tlsSecretName: "mlops-tls", hosts: HOSTS, annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" } },
    });
});

const objects = () => program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);

describe("GIVEN ingress enabled with a host per UI, WHEN the program runs, THEN", () => {
    it("routes each host, whole, to its service's port, with class, TLS and annotations from config", () => {
        const expected: Record<string, [string, string, number]> = {
            airflow: [HOSTS.airflow, "airflow-api-server", 8080],
            mlflow: [HOSTS.mlflow, "mlflow", 5000],
            "minio-console": [HOSTS.minioConsole, "minio", 9001],
            "model-api": [HOSTS.modelApi, "model-api", 8989],
            ui: [HOSTS.ui, "ui", 8501],
            prometheus: [HOSTS.prometheus, "prometheus", 9090],
            grafana: [HOSTS.grafana, "grafana", 3000],
        };
        const ingresses = objects().filter((o) => o.kind === "Ingress");
        expect(ingresses.map((o) => o.metadata.name).sort()).toEqual(Object.keys(expected).sort());
        for (const [name, [host, service, port]] of Object.entries(expected)) {
            const ing = k8sObject(program.recorder, "Ingress", `ingress-${name}`);
            expect(ing.metadata.namespace, name).toBe("mlops");
            expect(ing.spec, name).toEqual({
                ingressClassName: "nginx",
                tls: [{ hosts: [host], secretName: "mlops-tls" }],
                rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service, port: { number: port } } } }] } }],
            });
            expect(ing.metadata.annotations["cert-manager.io/cluster-issuer"], name).toBe("letsencrypt");
        }
    });

    it("does not hold `pulumi up` on the model API's Ingress (no endpoints before the first model), and does on the others", () => {
        expect(k8sObject(program.recorder, "Ingress", "ingress-model-api").metadata.annotations["pulumi.com/skipAwait"]).toBe("true");
        expect(k8sObject(program.recorder, "Ingress", "ingress-grafana").metadata.annotations["pulumi.com/skipAwait"]).toBeUndefined();
    });

    it("tells MLflow to accept its public host and Grafana its public URL", () => {
        const mlflowArgs: string[] = k8sObject(program.recorder, "Deployment", "mlflow").spec.template.spec.containers[0].args;
        expect(mlflowArgs.join(" ")).toContain(HOSTS.mlflow);
        const env = k8sObject(program.recorder, "Deployment", "grafana").spec.template.spec.containers[0].env;
        expect(env).toContainEqual({ name: "GF_SERVER_ROOT_URL", value: `https://${HOSTS.grafana}/` });
    });

    it("exports the public URL of each UI", async () => {
        expect(program.exports.ingressUrls).toEqual({
            airflow: `https://${HOSTS.airflow}/`,
            mlflow: `https://${HOSTS.mlflow}/`,
            minioConsole: `https://${HOSTS.minioConsole}/`,
            modelApi: `https://${HOSTS.modelApi}/`,
            ui: `https://${HOSTS.ui}/`,
            prometheus: `https://${HOSTS.prometheus}/`,
            grafana: `https://${HOSTS.grafana}/`,
        });
    });

    it("keeps the whole program sound: every backend is a Service port, and the objects pass the Kubernetes schema", async () => {
        expect(checkIntegrity(objects())).toEqual([]);
        expect(await validateSchemas(objects())).toEqual([]);
    });

    it("the integrity check catches a backend that names a missing Service or a port the Service lacks", () => {
        const edited = objects().map((o) => structuredClone(o));
        const ui = edited.find((o) => o.kind === "Ingress" && o.metadata.name === "ui")!;
        ui.spec.rules[0].http.paths[0].backend.service.port.number = 8080;
        const grafana = edited.find((o) => o.kind === "Ingress" && o.metadata.name === "grafana")!;
        grafana.spec.rules[0].http.paths[0].backend.service.name = "graphana";
        expect(checkIntegrity(edited).sort()).toEqual([
            "Ingress mlops/grafana: backend Service 'graphana' is not a Service the program creates",
            "Ingress mlops/ui: backend port 8080 is not a TCP port of Service 'ui'",
        ]);
    });
});

describe("GIVEN the dev stack as shipped", () => {
    it("has ingress off, so no Ingress is created", () => {
        expect(ingressSchema.parse(undefined)).toEqual({ enabled: false, hosts: {}, annotations: {} });
    });
});
