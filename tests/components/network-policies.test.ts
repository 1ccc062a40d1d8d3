import { beforeAll, describe, expect, it } from "vitest";
import { deriveFlows, ingressRules, policyTargets, RenderedObject } from "../../components/network-policies";
import { registration } from "../helpers";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("local");
});

const flowsOf = (p: LoadedProgram) => new Promise<string[]>((resolve) => p.exports.networkFlows.apply(resolve));
const policies = (p: LoadedProgram) => p.recorder.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy");

/** Every flow of the local stack, read off the wiring. A change here is a change of who may talk to whom: review it. */
const EXPECTED_FLOWS = [
    // Airflow's own processes report to the api-server's execution API (the Job pods too: shared env).
    ...["dag-processor", "db-clean", "migrate", "scheduler", "triggerer", "worker"].map((p) => `airflow/${p} -> airflow/api-server 8080/TCP`),
    // Only the task-running workers call the data API, MLflow and the model API.
    "airflow/worker -> data-api/server 8000/TCP",
    // Declared by Airflow's component: the api-server reads a running task's log from the worker.
    "airflow/api-server -> airflow/worker 8793/TCP",
    "prometheus/server -> data-api/server 8000/TCP",
    "ui/server -> data-api/server 8000/TCP",
    // Remote task logs (every Airflow process), artifacts, backups.
    ...["api-server", "dag-processor", "db-clean", "migrate", "scheduler", "triggerer", "worker"].map((p) => `airflow/${p} -> minio/server 9000/TCP`),
    "backups/backup -> minio/server 9000/TCP",
    "backups/restore -> minio/server 9000/TCP",
    "mlflow/db-upgrade -> minio/server 9000/TCP",
    "mlflow/server -> minio/server 9000/TCP",
    "prometheus/server -> minio/server 9000/TCP",
    // The setup Jobs (on a rotation they run again, with the policies in force).
    "minio/buckets -> minio/server 9000/TCP",
    "postgres/setup -> postgres/server 5432/TCP",
    "airflow/worker -> mlflow/server 5000/TCP",
    "mlflow/gc -> mlflow/server 5000/TCP",
    "model-api/server -> mlflow/server 5000/TCP",
    "prometheus/server -> mlflow/server 5000/TCP",
    "ui/server -> mlflow/server 5000/TCP",
    "airflow/worker -> model-api/server 8989/TCP",
    "prometheus/server -> model-api/server 8989/TCP",
    "ui/server -> model-api/server 8989/TCP",
    ...["api-server", "dag-processor", "db-clean", "migrate", "scheduler", "triggerer", "worker"].map((p) => `airflow/${p} -> postgres/server 5432/TCP`),
    "backups/backup -> postgres/server 5432/TCP",
    "backups/restore -> postgres/server 5432/TCP",
    "data-api/server -> postgres/server 5432/TCP",
    "mlflow/db-upgrade -> postgres/server 5432/TCP",
    "mlflow/gc -> postgres/server 5432/TCP",
    "mlflow/server -> postgres/server 5432/TCP",
    "model-api/prune -> postgres/server 5432/TCP",
    "model-api/server -> postgres/server 5432/TCP",
    "prometheus/server -> prometheus/server 9090/TCP",
    ...["api-server", "dag-processor", "db-clean", "migrate", "scheduler", "triggerer", "worker"].map((p) => `airflow/${p} -> redis/server 6379/TCP`),
    // A bare host (AIRFLOW__METRICS__STATSD_HOST) admits every port of the Service.
    ...["api-server", "dag-processor", "db-clean", "migrate", "scheduler", "triggerer", "worker"].flatMap((p) => [`airflow/${p} -> statsd-exporter/server 9102/TCP`, `airflow/${p} -> statsd-exporter/server 9125/UDP`]),
    "prometheus/server -> statsd-exporter/server 9102/TCP",
    // The cluster tier's client Jobs (Pulumi.local.yaml's network.clients).
    "mlops.dev/client=cluster-check -> model-api/server 8989/TCP",
    "mlops.dev/client=cluster-check -> ui/server 8501/TCP",
];

describe("GIVEN the local stack, WHEN the program runs, THEN the NetworkPolicies", () => {
    it("admit exactly the flows the wiring implies", async () => {
        expect((await flowsOf(program)).sort()).toEqual([...EXPECTED_FLOWS].sort());
    });

    it("deny every other ingress in the namespace, and only after every allow policy exists", () => {
        const deny = registration(program.recorder, "NetworkPolicy", "network-default-deny");
        expect(deny.inputs.metadata).toMatchObject({ name: "default-deny-ingress", namespace: "mlops" });
        expect(deny.inputs.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
        const allow = policies(program).filter((p) => p.name !== "network-default-deny");
        expect(allow.map((p) => p.name).sort()).toEqual(
            ["airflow-api-server", "airflow-worker", "data-api", "minio", "mlflow", "model-api", "postgres", "prometheus", "redis", "statsd-exporter", "ui"].map((n) => `network-${n}`),
        );
        // Auto-named (create before delete on a replacement) and nothing unknown in their metadata.
        for (const a of allow) expect(a.inputs.metadata.name, a.name).toBeUndefined();
        for (const a of allow) expect(deny.dependencies, a.name).toContain(a.urn);
    });

    it("select pods by their stable labels, never by version, and name ports by number", () => {
        const mlflow = registration(program.recorder, "NetworkPolicy", "network-mlflow").inputs.spec;
        expect(mlflow.podSelector).toEqual({ matchLabels: { "app.kubernetes.io/component": "server", "app.kubernetes.io/instance": "mlflow", "app.kubernetes.io/name": "mlflow" } });
        const fromWorker = mlflow.ingress.find((r: any) => r.from[0].podSelector?.matchLabels["app.kubernetes.io/component"] === "worker");
        expect(fromWorker).toEqual({
            from: [{ podSelector: { matchLabels: { "app.kubernetes.io/component": "worker", "app.kubernetes.io/instance": "airflow", "app.kubernetes.io/name": "airflow" } } }],
            ports: [{ port: 5000, protocol: "TCP" }],
        });
        expect(JSON.stringify(policies(program).map((p) => p.inputs.spec))).not.toContain("app.kubernetes.io/version");
    });

    it("leave the UI reachable only by the cluster tier's client (port-forward and probes are not pod traffic)", () => {
        const ui = registration(program.recorder, "NetworkPolicy", "network-ui").inputs.spec;
        expect(ui.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { "mlops.dev/client": "cluster-check" } } }], ports: [{ port: 8501, protocol: "TCP" }] }]);
    });
});

describe("deriveFlows", () => {
    const svc = (name: string, ports: { port: number; targetPort?: number | string; protocol?: string; name?: string }[]): RenderedObject => ({
        kind: "Service",
        props: { metadata: { name }, spec: { selector: { "app.kubernetes.io/name": name }, ports } },
    });
    const deploy = (name: string, spec: Record<string, any>, annotations: Record<string, string> = {}): RenderedObject => ({
        kind: "Deployment",
        props: { metadata: { name }, spec: { template: { metadata: { labels: { "app.kubernetes.io/name": name, "app.kubernetes.io/version": "1" }, annotations }, spec } } },
    });
    const server = (name: string, ports: { name: string; containerPort: number }[]) => deploy(name, { containers: [{ name, ports }] });
    const env = (value: string) => ({ containers: [{ name: "c", env: [{ name: "X", value }] }] });
    const base = [svc("db", [{ port: 5432, targetPort: "pg", name: "pg" }]), server("db", [{ name: "pg", containerPort: 6543 }]), svc("web", [{ port: 80, targetPort: 8080 }, { port: 9001, targetPort: 9001 }])];
    const derive = (...more: RenderedObject[]) => deriveFlows([...base, ...more], { namespace: "ns" }).map((f) => `${JSON.stringify(f.from)} ${f.target["app.kubernetes.io/name"]} ${f.port}/${f.protocol}`);

    it("takes the port of the reference, resolving a named target port through the server's container", () => {
        expect(derive(deploy("app", env("postgresql://u:$(P)@db.ns.svc.cluster.local:5432/x")))).toEqual(['{"podLabels":{"app.kubernetes.io/name":"app"}} db 6543/TCP']);
    });
    it("reads http:// without a port as 80, and a bare host as every port", () => {
        expect(derive(deploy("app", env("http://web.ns.svc.cluster.local/api")))).toEqual(['{"podLabels":{"app.kubernetes.io/name":"app"}} web 8080/TCP']);
        expect(derive(deploy("app", env("web.ns.svc")))).toEqual(['{"podLabels":{"app.kubernetes.io/name":"app"}} web 8080/TCP', '{"podLabels":{"app.kubernetes.io/name":"app"}} web 9001/TCP']);
    });
    it("does not mistake a longer name or another namespace for the Service", () => {
        expect(derive(deploy("app", env("http://old-web.ns.svc.cluster.local:80 http://web.other.svc.cluster.local:80 http://web.ns.svc.cluster.local.evil")))).toEqual([]);
    });
    it("follows the ConfigMaps and Secrets a pod reads", () => {
        const cm: RenderedObject = { kind: "ConfigMap", props: { metadata: { name: "cfg" }, data: { "a.ini": "url = http://web.ns.svc.cluster.local:9001" } } };
        const secret: RenderedObject = { kind: "Secret", props: { metadata: { name: "s" }, data: { dsn: Buffer.from("db.ns.svc.cluster.local:5432").toString("base64") } } };
        const pod = deploy("app", { containers: [{ name: "c", envFrom: [{ secretRef: { name: "s" } }] }], volumes: [{ name: "v", configMap: { name: "cfg" } }] });
        expect(derive(cm, secret, pod).sort()).toEqual(['{"podLabels":{"app.kubernetes.io/name":"app"}} db 6543/TCP', '{"podLabels":{"app.kubernetes.io/name":"app"}} web 9001/TCP']);
        // Not read by the pod: no flow.
        expect(derive(cm, secret, deploy("app", { containers: [{ name: "c" }] }))).toEqual([]);
    });
    it("refuses a reference to a port the Service lacks, naming both", () => {
        expect(() => derive(deploy("app", env("http://db.ns.svc.cluster.local:5433")))).toThrow("app refers to http://db.ns.svc.cluster.local:5433, but Service 'db' has no port 5433 (it has 5432)");
    });
    it("admits Prometheus on each scraped pod's annotated port", () => {
        const flows = deriveFlows([...base, deploy("app", env(""), { "prometheus.io/scrape": "true", "prometheus.io/port": "9100" })], { namespace: "ns", scrapers: { "app.kubernetes.io/name": "prom" } });
        expect(flows.map((f) => [f.from, f.target, f.port])).toEqual([[{ podLabels: { "app.kubernetes.io/name": "prom" } }, { "app.kubernetes.io/name": "app" }, 9100]]);
    });
    it("names an unknown Service in network.clients", () => {
        expect(() => deriveFlows(base, { namespace: "ns", clients: { nope: [{ namespace: "x" }] } })).toThrow("'network.clients.nope': the platform has no Service 'nope' (it has db, web)");
    });
    it("groups a peer's ports into one rule, and a namespace client into a namespaceSelector", () => {
        const flows = deriveFlows(base, { namespace: "ns", clients: { web: [{ namespace: "shop" }] } });
        expect(ingressRules(flows, { "app.kubernetes.io/name": "web" })).toEqual([
            { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } } }], ports: [{ port: 8080, protocol: "TCP" }, { port: 9001, protocol: "TCP" }] },
        ]);
    });
    it("writes one policy per distinct Service selector, named after the shorter Service", () => {
        const headless: RenderedObject = { kind: "Service", props: { metadata: { name: "db-headless" }, spec: { selector: { "app.kubernetes.io/name": "db" }, ports: [] } } };
        expect(policyTargets([headless, ...base]).map((t) => t.name)).toEqual(["db", "web"]);
    });
});
