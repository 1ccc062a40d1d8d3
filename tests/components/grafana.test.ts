import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCpu, parseMemory } from "../../config";
import { ALLOCATIONS } from "../../config/budget";
import { grafanaSchema } from "../../config/grafana";
import { prometheusSchema } from "../../config/prometheus";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { checkIntegrity, K8sObject, validateSchemas } from "../integrity";
import { settle, valueOf } from "../mocks";
import { LoadedProgram, ROOT, runProgram } from "../program";

let program: LoadedProgram;
let grafana: import("../../components/grafana").Grafana;
let dashboards: Record<string, string>;

const NAME = "grafana-test";
const PROM = "prom-for-grafana";
const SECRET = "grafana-test-credentials";
const DASHBOARD_DIR = path.join(ROOT, "config/monitoring/dashboards");
const SELECTOR = { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": NAME, "app.kubernetes.io/component": "server" };

let secrets: InstanceType<typeof import("../../components/platform-secrets").PlatformSecrets>;
beforeAll(async () => {
    program = await runProgram("dev");
    const { Prometheus, readRuleFiles } = await import("../../components/prometheus");
    const { Grafana, readDashboards } = await import("../../components/grafana");
    const { PlatformSecrets } = await import("../../components/platform-secrets");
    // The admin password as the program generates it (a Secret name of its own, so the test never collides with index.ts).
    secrets = new PlatformSecrets("grafana-test-secrets", { namespace: "mlops", epoch: "1", secrets: { [SECRET]: { "admin-password": {} } } });
    const prometheus = new Prometheus(PROM, {
        namespace: "mlops",
        config: prometheusSchema.parse({}),
        storageClass: "standard",
        ruleFiles: readRuleFiles(path.join(ROOT, "config/monitoring")),
    });
    dashboards = readDashboards(DASHBOARD_DIR);
    grafana = new Grafana(NAME, {
        namespace: "mlops",
        config: grafanaSchema.parse(undefined),
        adminPassword: secrets.ref(SECRET, "admin-password"),
        credentialsChecksum: secrets.checksum(SECRET),
        prometheusUrl: prometheus.url,
        prometheusScrapeInterval: "30s",
        dashboards,
    });
    await settle(program.recorder);
});

describe("GIVEN the default config, WHEN Grafana is created after a Prometheus, THEN it", () => {
    it("provisions exactly one default Prometheus datasource at the Prometheus Service URL", () => {
        const cm = k8sObject(program.recorder, "ConfigMap", `${NAME}-datasources`);
        expect(Object.keys(cm.data)).toEqual(["datasources.yaml"]);
        expect(JSON.parse(cm.data["datasources.yaml"])).toEqual({
            apiVersion: 1,
            datasources: [
                {
                    name: "Prometheus",
                    uid: "prometheus",
                    type: "prometheus",
                    access: "proxy",
                    url: "http://prom-for-grafana.mlops.svc.cluster.local:9090",
                    isDefault: true,
                    editable: false,
                    jsonData: { timeInterval: "30s", httpMethod: "POST" },
                },
            ],
        });
    });

    it("depends on Prometheus in the graph: its datasource and Deployment come after the Prometheus StatefulSet and Service", () => {
        const promSts = registration(program.recorder, "StatefulSet", PROM).urn;
        const promSvc = registration(program.recorder, "Service", PROM).urn;
        for (const [kind, name] of [["ConfigMap", `${NAME}-datasources`], ["Deployment", NAME]] as const) {
            const ancestors = program.recorder.ancestors(registration(program.recorder, kind, name).urn);
            expect(ancestors, `${kind} ${name}`).toContain(promSts);
            expect(ancestors, `${kind} ${name}`).toContain(promSvc);
        }
    });

    it("provisions the dashboards of config/monitoring/dashboards from a ConfigMap, read-only in the UI", () => {
        expect(Object.keys(dashboards)).toEqual(["data-pipeline.json", "model-api.json"]);
        const cm = k8sObject(program.recorder, "ConfigMap", `${NAME}-dashboards`);
        for (const f of Object.keys(dashboards)) {
            expect(cm.data[f]).toBe(fs.readFileSync(path.join(DASHBOARD_DIR, f), "utf8"));
        }
        expect(JSON.parse(k8sObject(program.recorder, "ConfigMap", `${NAME}-dashboard-provider`).data["dashboards.yaml"])).toEqual({
            apiVersion: 1,
            providers: [
                {
                    name: "mlops-platform",
                    orgId: 1,
                    folder: "MLOps platform",
                    type: "file",
                    disableDeletion: true,
                    allowUiUpdates: false,
                    updateIntervalSeconds: 60,
                    options: { path: "/var/lib/grafana-dashboards" },
                },
            ],
        });
    });

    it("ships dashboards whose every panel and query use the provisioned datasource, with unique uids", () => {
        const uids = new Set<string>();
        for (const [file, text] of Object.entries(dashboards)) {
            const d = JSON.parse(text);
            expect(uids.has(d.uid), `${file}: duplicate uid ${d.uid}`).toBe(false);
            uids.add(d.uid);
            expect(d.panels.length, file).toBeGreaterThan(0);
            for (const p of d.panels) {
                expect(p.datasource, `${file} '${p.title}'`).toEqual({ type: "prometheus", uid: "prometheus" });
                expect(p.targets.length, `${file} '${p.title}'`).toBeGreaterThan(0);
                for (const t of p.targets) expect(t.datasource, `${file} '${p.title}' ${t.refId}`).toEqual({ type: "prometheus", uid: "prometheus" });
            }
        }
        const titles = (f: string) => JSON.parse(dashboards[f]!).panels.map((p: any) => p.title);
        // What issue 5 asks each dashboard to show.
        expect(titles("model-api.json")).toEqual(expect.arrayContaining(["Requests/s by route", "/predict latency quantiles", "Errors/s by status code", "Model version in service", "Predictions/s by model version"]));
        expect(titles("data-pipeline.json")).toEqual(expect.arrayContaining(["Batches ingested", "Rows ingested", "Last successful training", "Failed train DAG runs (24h)", "Model in service (last promoted training)"]));
    });

    it("runs the pinned image as uid 472 without a token, admin password from the generated Secret, probes on /api/health", async () => {
        const dep = k8sObject(program.recorder, "Deployment", NAME);
        expect(dep.spec.replicas).toBe(1);
        expect(dep.spec.selector.matchLabels).toEqual(SELECTOR);
        const pod = dep.spec.template.spec;
        expect(pod.securityContext).toEqual(podSecurity(472, 472));
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.containers).toHaveLength(1);
        const c = pod.containers[0];
        expect(c.image).toBe("docker.io/grafana/grafana:12.2.1");
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        expect(c.resources).toEqual({ requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "384Mi" } });
        expect(c.ports).toEqual([{ name: "http", containerPort: 3000 }]);
        expect(c.env).toEqual([
            { name: "GF_SERVER_HTTP_PORT", value: "3000" },
            { name: "GF_SECURITY_ADMIN_USER", value: "admin" },
            { name: "GF_SECURITY_ADMIN_PASSWORD", valueFrom: secretRef(SECRET, "admin-password") },
            { name: "GF_PATHS_DATA", value: "/var/lib/grafana" },
            { name: "GF_PATHS_PROVISIONING", value: "/etc/grafana/provisioning" },
            { name: "GF_LOG_MODE", value: "console" },
            { name: "GF_USERS_ALLOW_SIGN_UP", value: "false" },
            { name: "GF_AUTH_ANONYMOUS_ENABLED", value: "false" },
            { name: "GF_ANALYTICS_REPORTING_ENABLED", value: "false" },
            { name: "GF_ANALYTICS_CHECK_FOR_UPDATES", value: "false" },
            { name: "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", value: "false" },
        ]);
        expect(c.readinessProbe).toEqual({ httpGet: { path: "/api/health", port: "http" }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
        expect(c.livenessProbe).toEqual({ httpGet: { path: "/api/health", port: "http" }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 });
        expect(c.volumeMounts).toEqual([
            { name: "data", mountPath: "/var/lib/grafana" },
            { name: "tmp", mountPath: "/tmp" },
            { name: "datasources", mountPath: "/etc/grafana/provisioning/datasources", readOnly: true },
            { name: "dashboard-provider", mountPath: "/etc/grafana/provisioning/dashboards", readOnly: true },
            { name: "dashboards", mountPath: "/var/lib/grafana-dashboards", readOnly: true },
        ]);
        expect(pod.volumes).toEqual([
            { name: "data", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
            { name: "datasources", configMap: { name: `${NAME}-datasources` } },
            { name: "dashboard-provider", configMap: { name: `${NAME}-dashboard-provider` } },
            { name: "dashboards", configMap: { name: `${NAME}-dashboards` } },
        ]);
        const annotations = dep.spec.template.metadata.annotations;
        expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "3000", "prometheus.io/path": "/metrics" });
        expect(annotations["mlops.dev/config-checksum"]).toMatch(/^[0-9a-f]{64}$/);
        // A rotated admin password rolls the pod: Grafana applies it only to a new database.
        expect(annotations["mlops.dev/credentials-checksum"]).toBe(await valueOf(secrets.checksum(SECRET)));
    });

    it("answers on 3000 through a Service and exposes its URL", async () => {
        const svc = k8sObject(program.recorder, "Service", NAME);
        expect(svc.spec.selector).toEqual(SELECTOR);
        expect(svc.spec.ports).toEqual([{ name: "http", port: 3000, targetPort: "http" }]);
        expect(await valueOf(grafana.url)).toBe("http://grafana-test.mlops.svc.cluster.local:3000");
    });

    it("keeps the program plus Prometheus and Grafana sound: integrity check and Kubernetes schemas", async () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        expect(objects.some((o) => o.kind === "Deployment" && o.metadata.name === NAME)).toBe(true);
        expect(objects.some((o) => o.kind === "Secret" && o.metadata.name === SECRET)).toBe(true);
        expect(checkIntegrity(objects)).toEqual([]);
        expect(await validateSchemas(objects)).toEqual([]);
    });

    it("requests no more than its budget", () => {
        const c = k8sObject(program.recorder, "Deployment", NAME).spec.template.spec.containers[0];
        expect(parseCpu(c.resources.requests.cpu)).toBeLessThanOrEqual(parseCpu(ALLOCATIONS.grafana!.cpu));
        expect(parseMemory(c.resources.requests.memory)).toBeLessThanOrEqual(parseMemory(ALLOCATIONS.grafana!.memory));
    });
});

describe("GIVEN bad input", () => {
    it("rejects no dashboards, bad file names, and dashboards that are not JSON", async () => {
        const { Grafana, readDashboards } = await import("../../components/grafana");
        const base = { namespace: "mlops", config: grafanaSchema.parse({}), adminPassword: { name: "s", key: "k" }, credentialsChecksum: "0", prometheusUrl: "http://p:9090" };
        expect(() => new Grafana("g-none", { ...base, dashboards: {} })).toThrow("'dashboards' must hold at least one dashboard");
        expect(() => new Grafana("g-bad", { ...base, dashboards: { "a b.json": "{}" } })).toThrow("dashboard file name 'a b.json' must match");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dash-"));
        try {
            fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
            expect(() => readDashboards(dir)).toThrow(/dashboard broken.json is not valid JSON/);
            fs.rmSync(path.join(dir, "broken.json"));
            expect(() => readDashboards(dir)).toThrow(/no dashboards/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it.each([
        [{ image: "docker.io/grafana/grafana:latest" }, "image"],
        [{ adminUser: "a b" }, "adminUser"],
        [{ resources: { cpu: "50m", memory: "lots", memoryLimit: "1Gi" } }, "resources.memory"],
    ])("rejects %j at '%s'", (input, field) => {
        const result = grafanaSchema.safeParse(input);
        expect(result.success).toBe(false);
        expect(result.error!.issues.map((i) => i.path.join("."))).toContain(field);
    });
});
