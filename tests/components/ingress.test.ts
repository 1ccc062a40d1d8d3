import { beforeAll, describe, expect, it } from "vitest";
import { ingressSchema } from "../../config/ingress";
import { k8sObject } from "../helpers";
import { checkIntegrity, K8sObject, validateSchemas } from "../integrity";
import { settle } from "../mocks";
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

const OAUTH = "https://auth.mlops.example.com/oauth2";
/** One of each kind of authentication, and the explicit opt-out for the three with a login of their own. */
const AUTH = {
    airflow: { type: "none" },
    mlflow: { type: "external", url: `${OAUTH}/auth`, signin: `${OAUTH}/start?rd=$escaped_request_uri`, responseHeaders: ["X-Auth-Request-User", "X-Auth-Request-Email"] },
    minioConsole: { type: "none" },
    modelApi: { type: "basic", secretName: "model-api-basic-auth", realm: "model API" },
    ui: { type: "basic", secretName: "ui-basic-auth" },
    prometheus: { type: "annotations", annotations: { "traefik.ingress.kubernetes.io/router.middlewares": "mlops-auth@kubernetescrd" } },
    grafana: { type: "none" },
};

beforeAll(async () => {
    program = await runProgram("dev", {
        ingress: { enabled: true, className: "nginx", tlsSecretName: "mlops-tls", hosts: HOSTS, auth: AUTH, annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" } },
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

    it("puts each host's own authentication in front of it, and nothing in front of the hosts that opted out", () => {
        const annotations = (name: string) => {
            const { "cert-manager.io/cluster-issuer": issuer, "pulumi.com/skipAwait": _skip, ...rest } = k8sObject(program.recorder, "Ingress", `ingress-${name}`).metadata.annotations;
            expect(issuer, name).toBe("letsencrypt");
            return rest;
        };
        expect(annotations("mlflow")).toEqual({
            "nginx.ingress.kubernetes.io/auth-url": `${OAUTH}/auth`,
            "nginx.ingress.kubernetes.io/auth-signin": `${OAUTH}/start?rd=$escaped_request_uri`,
            "nginx.ingress.kubernetes.io/auth-response-headers": "X-Auth-Request-User,X-Auth-Request-Email",
        });
        expect(annotations("model-api")).toEqual({
            "nginx.ingress.kubernetes.io/auth-type": "basic",
            "nginx.ingress.kubernetes.io/auth-secret": "model-api-basic-auth",
            "nginx.ingress.kubernetes.io/auth-realm": "model API",
        });
        expect(annotations("ui")).toEqual({ "nginx.ingress.kubernetes.io/auth-type": "basic", "nginx.ingress.kubernetes.io/auth-secret": "ui-basic-auth" });
        expect(annotations("prometheus")).toEqual({ "traefik.ingress.kubernetes.io/router.middlewares": "mlops-auth@kubernetescrd" });
        for (const name of ["airflow", "minio-console", "grafana"]) expect(annotations(name), name).toEqual({});
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

describe("GIVEN a host that opts out of TLS", () => {
    it("its Ingress has no tls and its URL is http; the others keep TLS", async () => {
        const { PlatformIngress } = await import("../../components/ingress");
        const config = ingressSchema.parse({
            enabled: true,
            tlsSecretName: "mlops-tls",
            hosts: { ui: "ui.lan.test", grafana: "grafana.lan.test" },
            plainHttp: { ui: true },
            auth: { ui: { type: "basic", secretName: "ui-basic-auth" }, grafana: { type: "none" } },
        });
        const ingress = new PlatformIngress("plain", { namespace: "mlops", config, backends: { ui: { serviceName: "ui", port: 8501 }, grafana: { serviceName: "grafana", port: 3000 } } });
        await settle(program.recorder);
        expect(k8sObject(program.recorder, "Ingress", "plain-ui").spec.tls).toBeUndefined();
        expect(k8sObject(program.recorder, "Ingress", "plain-grafana").spec.tls).toEqual([{ hosts: ["grafana.lan.test"], secretName: "mlops-tls" }]);
        expect(ingress.urls).toEqual({ ui: "http://ui.lan.test/", grafana: "https://grafana.lan.test/" });
    });
});

describe("GIVEN a config that exposes a host without TLS or authentication and no opt-out", () => {
    it("the component refuses it too (a config not built by loadConfig), naming each host and what to set", async () => {
        const { PlatformIngress } = await import("../../components/ingress");
        const config = { ...ingressSchema.parse({ enabled: true, hosts: { mlflow: "mlflow.example.com" }, plainHttp: { mlflow: true }, auth: { mlflow: { type: "none" } } }), plainHttp: {}, auth: {} };
        expect(() => new PlatformIngress("unsafe", { namespace: "mlops", config, backends: { mlflow: { serviceName: "mlflow", port: 5000 } } })).toThrow(
            "PlatformIngress: 'ingress.hosts.mlflow' (mlflow.example.com) is exposed without TLS and without authentication: set 'ingress.tlsSecretName'",
        );
    });
});

describe("GIVEN the dev stack as shipped", () => {
    it("has ingress off, so no Ingress is created", () => {
        expect(ingressSchema.parse(undefined)).toEqual({ enabled: false, hosts: {}, plainHttp: {}, auth: {}, annotations: {} });
    });
});
