import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCpu, parseMemory } from "../../config";
import { ALLOCATIONS } from "../../config/budget";
import { prometheusSchema } from "../../config/prometheus";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER } from "../helpers";
import { checkIntegrity, K8sObject, podTemplates, validateSchemas } from "../integrity";
import { settle, valueOf } from "../mocks";
import { LoadedProgram, ROOT, runProgram } from "../program";

let program: LoadedProgram;
let prometheus: import("../../components/prometheus").Prometheus;
let ruleFiles: Record<string, string>;

const NAME = "prom-test";
const SELECTOR = { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": NAME, "app.kubernetes.io/component": "server" };

beforeAll(async () => {
    program = await runProgram("dev");
    const { Prometheus, readRuleFiles } = await import("../../components/prometheus");
    ruleFiles = readRuleFiles(path.join(ROOT, "config/monitoring"));
    prometheus = new Prometheus(NAME, { namespace: "mlops", config: prometheusSchema.parse(undefined), storageClass: "standard", ruleFiles });
    await settle(program.recorder);
});

describe("GIVEN the default config, WHEN a Prometheus is created, THEN it", () => {
    it("reads the rule files of config/monitoring but not the promtool tests", async () => {
        const fs = await import("node:fs");
        expect(Object.keys(ruleFiles)).toEqual(["alerts.yml"]);
        expect(ruleFiles["alerts.yml"]).toBe(fs.readFileSync(path.join(ROOT, "config/monitoring/alerts.yml"), "utf8"));
        expect(k8sObject(program.recorder, "ConfigMap", `${NAME}-rules`).data).toEqual({ "alerts.yml": ruleFiles["alerts.yml"] });
    });

    it("gets read-only discovery of its own namespace's pods (all kubernetes_sd role `pod` reads), nothing cluster-wide", () => {
        const sa = k8sObject(program.recorder, "ServiceAccount", NAME);
        expect(sa.metadata).toMatchObject({ name: NAME, namespace: "mlops" });
        const role = k8sObject(program.recorder, "Role", NAME);
        expect(role.metadata).toMatchObject({ name: NAME, namespace: "mlops" });
        expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
        const binding = k8sObject(program.recorder, "RoleBinding", NAME);
        expect(binding.metadata).toMatchObject({ name: NAME, namespace: "mlops" });
        expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NAME });
        expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: NAME, namespace: "mlops" }]);
        const kinds = program.recorder.kubernetesObjects().map((r) => r.type);
        expect(kinds.filter((t) => t.includes(":ClusterRole"))).toEqual([]);
    });

    it("renders a scrape config over annotated pods of its namespace, with the relabel rules the alerts rely on", () => {
        const cm = k8sObject(program.recorder, "ConfigMap", `${NAME}-config`);
        expect(Object.keys(cm.data)).toEqual(["prometheus.yml"]);
        expect(JSON.parse(cm.data["prometheus.yml"])).toEqual({
            global: { scrape_interval: "30s", evaluation_interval: "30s" },
            rule_files: ["/etc/prometheus/rules/*.yml"],
            scrape_configs: [
                {
                    job_name: "kubernetes-pods",
                    kubernetes_sd_configs: [{ role: "pod", namespaces: { names: ["mlops"] } }],
                    relabel_configs: [
                        // Pods that want a login are left to their own job (see the basic-auth tests below).
                        { source_labels: ["__meta_kubernetes_pod_annotation_mlops_dev_scrape_auth"], action: "drop", regex: ".+" },
                        { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], action: "keep", regex: "true" },
                        { source_labels: ["__meta_kubernetes_pod_phase"], action: "drop", regex: "Succeeded|Failed" },
                        { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_path"], action: "replace", regex: "(.+)", target_label: "__metrics_path__" },
                        {
                            source_labels: ["__meta_kubernetes_pod_ip", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                            action: "replace",
                            regex: "(.+);(\\d+)",
                            replacement: "$1:$2",
                            target_label: "__address__",
                        },
                        { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
                        { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
                        { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], action: "replace", target_label: "app" },
                        { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_component"], action: "replace", target_label: "component" },
                    ],
                },
            ],
        });
    });

    it("runs the pinned image as nobody, read-only root, with the token mounted, retention from config and probes on /-/ready and /-/healthy", () => {
        const sts = k8sObject(program.recorder, "StatefulSet", NAME);
        expect(sts.spec.serviceName).toBe(`${NAME}-headless`);
        expect(sts.spec.selector.matchLabels).toEqual(SELECTOR);
        const pod = sts.spec.template.spec;
        expect(pod.serviceAccountName).toBe(NAME);
        expect(pod.automountServiceAccountToken).toBe(true);
        expect(pod.enableServiceLinks).toBe(false);
        expect(pod.securityContext).toEqual(podSecurity(65534, 65534));
        expect(pod.containers).toHaveLength(1);
        const c = pod.containers[0];
        expect(c.image).toBe("docker.io/prom/prometheus:v3.5.0");
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true });
        expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "384Mi" }, limits: { memory: "768Mi" } });
        expect(c.args).toEqual([
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=7d",
            "--storage.tsdb.retention.size=1536MB",
            "--web.listen-address=:9090",
        ]);
        expect(c.ports).toEqual([{ name: "http", containerPort: 9090 }]);
        expect(c.readinessProbe).toEqual({ httpGet: { path: "/-/ready", port: "http" }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
        expect(c.livenessProbe).toEqual({ httpGet: { path: "/-/healthy", port: "http" }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 });
        expect(c.volumeMounts).toEqual([
            { name: "config", mountPath: "/etc/prometheus", readOnly: true },
            { name: "rules", mountPath: "/etc/prometheus/rules", readOnly: true },
            { name: "data", mountPath: "/prometheus" },
        ]);
        expect(pod.volumes).toEqual([
            { name: "config", configMap: { name: `${NAME}-config` } },
            { name: "rules", configMap: { name: `${NAME}-rules` } },
        ]);
        const annotations = sts.spec.template.metadata.annotations;
        expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "9090", "prometheus.io/path": "/metrics" });
        expect(annotations["mlops.dev/config-checksum"]).toMatch(/^[0-9a-f]{64}$/);
    });

    it("keeps its TSDB on a PVC of the configured class and size, deleted with the StatefulSet by default", () => {
        const sts = k8sObject(program.recorder, "StatefulSet", NAME);
        expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
        expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
        expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
        expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ["ReadWriteOnce"], storageClassName: "standard", resources: { requests: { storage: "2Gi" } } });
    });

    it("answers on 9090 through a ClusterIP and a headless Service, and exposes its URL", async () => {
        for (const name of [NAME, `${NAME}-headless`]) {
            const svc = k8sObject(program.recorder, "Service", name);
            expect(svc.spec.selector).toEqual(SELECTOR);
            expect(svc.spec.ports).toEqual([{ name: "http", port: 9090, targetPort: "http" }]);
        }
        expect(k8sObject(program.recorder, "Service", `${NAME}-headless`).spec.clusterIP).toBe("None");
        expect(await valueOf(prometheus.url)).toBe("http://prom-test.mlops.svc.cluster.local:9090");
    });

    it("starts only after its discovery permissions exist, and its URL resolves only after the StatefulSet", () => {
        const sts = registration(program.recorder, "StatefulSet", NAME);
        expect(program.recorder.ancestors(sts.urn)).toContain(registration(program.recorder, "RoleBinding", NAME).urn);
    });

    it("is the only pod that mounts a service-account token", () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        const withToken = podTemplates(objects).filter((t) => t.spec.automountServiceAccountToken !== false);
        expect(withToken.length).toBeGreaterThan(0);
        for (const t of withToken) {
            expect(t.labels["app.kubernetes.io/name"], `${t.owner.kind} ${t.owner.metadata.name}`).toBe("prometheus");
        }
    });

    it("keeps the program plus Prometheus sound: integrity check and Kubernetes schemas", async () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        expect(objects.some((o) => o.kind === "Role" && o.metadata.name === NAME)).toBe(true);
        expect(checkIntegrity(objects)).toEqual([]);
        expect(await validateSchemas(objects)).toEqual([]);
    });

    it("requests no more than its budget", () => {
        const c = k8sObject(program.recorder, "StatefulSet", NAME).spec.template.spec.containers[0];
        expect(parseCpu(c.resources.requests.cpu)).toBeLessThanOrEqual(parseCpu(ALLOCATIONS.prometheus!.cpu));
        expect(parseMemory(c.resources.requests.memory)).toBeLessThanOrEqual(parseMemory(ALLOCATIONS.prometheus!.memory));
    });
});

describe("GIVEN the dev stack, WHEN MLflow's /metrics asks for a login, THEN the platform's Prometheus", () => {
    it("scrapes pods annotated mlops.dev/scrape-auth=mlflow in a job of their own, as MLflow's prometheus user", async () => {
        const cm = k8sObject(program.recorder, "ConfigMap", "prometheus-config");
        const jobs = JSON.parse(cm.data["prometheus.yml"]).scrape_configs;
        expect(jobs.map((j: any) => j.job_name)).toEqual(["kubernetes-pods", "kubernetes-pods-mlflow"]);
        const { POD_RELABEL_CONFIGS } = await import("../../components/prometheus");
        expect(jobs[1]).toEqual({
            job_name: "kubernetes-pods-mlflow",
            kubernetes_sd_configs: [{ role: "pod", namespaces: { names: ["mlops"] } }],
            basic_auth: { username: "prometheus", password_file: "/etc/prometheus/scrape-auth/mlflow/password" },
            relabel_configs: [{ source_labels: ["__meta_kubernetes_pod_annotation_mlops_dev_scrape_auth"], action: "keep", regex: "mlflow" }, ...POD_RELABEL_CONFIGS],
        });
        // The anonymous job drops them: it would only get 401.
        expect(jobs[0].relabel_configs[0]).toEqual({ source_labels: ["__meta_kubernetes_pod_annotation_mlops_dev_scrape_auth"], action: "drop", regex: ".+" });
        expect(k8sObject(program.recorder, "Deployment", "mlflow").spec.template.metadata.annotations).toMatchObject({ "mlops.dev/scrape-auth": "mlflow", "prometheus.io/scrape": "true" });
    });

    it("reads that user's password from its own Secret, mounted read-only as a file, and no other MLflow credential", () => {
        const pod = k8sObject(program.recorder, "StatefulSet", "prometheus").spec.template.spec;
        expect(pod.volumes).toContainEqual({ name: "scrape-auth-mlflow", secret: { secretName: "mlflow-user-prometheus", items: [{ key: "password", path: "password" }] } });
        expect(pod.containers[0].volumeMounts).toContainEqual({ name: "scrape-auth-mlflow", mountPath: "/etc/prometheus/scrape-auth/mlflow", readOnly: true });
        const secrets = JSON.stringify(pod).match(/"(?:secretName|name)":"(mlflow-[a-z-]+)"/g);
        expect(secrets).toEqual(['"secretName":"mlflow-user-prometheus"']);
    });

    it("refuses a key that cannot name a job and a volume", async () => {
        const { Prometheus } = await import("../../components/prometheus");
        const config = prometheusSchema.parse({});
        const login = { username: "u", password: { name: "s", key: "k" } };
        expect(() => new Prometheus("prom-auth-bad", { namespace: "mlops", config, storageClass: "s", ruleFiles, basicAuthScrapes: { "ML flow": login } })).toThrow(
            "'basicAuthScrapes' key 'ML flow' must be a lower-case DNS label of at most 42 characters (it names a job and a volume)",
        );
    });
});

describe("GIVEN other settings", () => {
    it("takes retention and storage class from its args", async () => {
        const { Prometheus } = await import("../../components/prometheus");
        const config = prometheusSchema.parse({ retention: { time: "15d", size: "4GB" }, storage: { size: "5Gi", storageClass: "fast" } });
        new Prometheus("prom-custom", { namespace: "mlops", config, storageClass: "standard", ruleFiles });
        await settle(program.recorder);
        const sts = k8sObject(program.recorder, "StatefulSet", "prom-custom");
        expect(sts.spec.template.spec.containers[0].args).toContain("--storage.tsdb.retention.time=15d");
        expect(sts.spec.template.spec.containers[0].args).toContain("--storage.tsdb.retention.size=4GB");
        expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe("fast");
        expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("5Gi");
    });

    it("rejects missing or badly named rule files", async () => {
        const { Prometheus } = await import("../../components/prometheus");
        const config = prometheusSchema.parse({});
        expect(() => new Prometheus("prom-none", { namespace: "mlops", config, storageClass: "s", ruleFiles: {} })).toThrow("'ruleFiles' must hold at least one rule file");
        expect(() => new Prometheus("prom-bad", { namespace: "mlops", config, storageClass: "s", ruleFiles: { "alerts.yaml": "groups: []" } })).toThrow(
            "rule file name 'alerts.yaml' must match [A-Za-z0-9_.-]+.yml",
        );
    });

    it.each([
        [{ image: "docker.io/prom/prometheus:latest" }, "image"],
        [{ image: "docker.io/prom/prometheus" }, "image"],
        [{ retention: { time: "7 days" } }, "retention.time"],
        [{ retention: { size: "2Gi" } }, "retention.size"],
        [{ storage: { size: "0Gi" } }, "storage.size"],
        [{ scrapeInterval: "30" }, "scrapeInterval"],
        [{ resources: { cpu: "lots", memory: "1Gi", memoryLimit: "1Gi" } }, "resources.cpu"],
    ])("rejects %j at '%s'", (input, field) => {
        const result = prometheusSchema.safeParse(input);
        expect(result.success).toBe(false);
        expect(result.error!.issues.map((i) => i.path.join("."))).toContain(field);
    });
});
