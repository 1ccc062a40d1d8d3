import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { statsdExporterSchema } from "../../config/statsd-exporter";
import { k8sObject, podSecurity, registration, RESTRICTED_CONTAINER } from "../helpers";
import { checkIntegrity, K8sObject, podTemplates, validateSchemas } from "../integrity";
import { settle, valueOf } from "../mocks";
import { LoadedProgram, ROOT, runProgram } from "../program";

let program: LoadedProgram;
let mapping: string;

const MAPPING_FILE = path.join(ROOT, "config/monitoring/statsd/mapping.yml");
const SELECTOR = { "app.kubernetes.io/name": "statsd-exporter", "app.kubernetes.io/instance": "statsd-exporter", "app.kubernetes.io/component": "server" };

beforeAll(async () => {
    program = await runProgram("dev");
    const { readMapping } = await import("../../components/statsd-exporter");
    mapping = readMapping(MAPPING_FILE);
});

describe("GIVEN the dev stack, WHEN the program runs, THEN the statsd exporter", () => {
    it("ships config/monitoring/statsd/mapping.yml unchanged in its ConfigMap, and rolls the pod when it changes", () => {
        expect(mapping).toBe(fs.readFileSync(MAPPING_FILE, "utf8"));
        expect(k8sObject(program.recorder, "ConfigMap", "statsd-exporter-mapping").data).toEqual({ "mapping.yml": mapping });
        const annotations = k8sObject(program.recorder, "Deployment", "statsd-exporter").spec.template.metadata.annotations;
        expect(annotations["mlops.dev/config-checksum"]).toMatch(/^[0-9a-f]{64}$/);
    });

    it("runs the pinned image as nobody, read-only root, restricted, with InfluxDB tags parsed and UDP only", () => {
        const dep = k8sObject(program.recorder, "Deployment", "statsd-exporter");
        expect(dep.spec.replicas).toBe(1);
        expect(dep.spec.selector.matchLabels).toEqual(SELECTOR);
        const pod = dep.spec.template.spec;
        expect(pod.securityContext).toEqual(podSecurity(65534, 65534));
        expect(pod.automountServiceAccountToken).toBe(false);
        const c = pod.containers[0];
        expect(c.image).toBe("docker.io/prom/statsd-exporter:v0.31.0");
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true });
        expect(c.resources).toEqual({ requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "96Mi" } });
        expect(c.args).toEqual([
            "--statsd.mapping-config=/etc/statsd-exporter/mapping.yml",
            "--statsd.listen-udp=:9125",
            "--statsd.listen-tcp=",
            "--web.listen-address=:9102",
            "--statsd.parse-influxdb-tags",
        ]);
        expect(c.ports).toEqual([
            { name: "statsd-udp", containerPort: 9125, protocol: "UDP" },
            { name: "http", containerPort: 9102 },
        ]);
        expect(c.readinessProbe.httpGet).toEqual({ path: "/-/ready", port: "http" });
        expect(c.livenessProbe.httpGet).toEqual({ path: "/-/healthy", port: "http" });
        expect(c.volumeMounts).toEqual([{ name: "mapping", mountPath: "/etc/statsd-exporter", readOnly: true }]);
        expect(pod.volumes).toEqual([{ name: "mapping", configMap: { name: "statsd-exporter-mapping" } }]);
    });

    it("is scraped by Prometheus through its pod annotations, on the metrics port", () => {
        const annotations = k8sObject(program.recorder, "Deployment", "statsd-exporter").spec.template.metadata.annotations;
        expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "9102", "prometheus.io/path": "/metrics" });
    });

    it("answers StatsD over UDP and HTTP on one Service, whose host the Airflow pods send to", async () => {
        const svc = k8sObject(program.recorder, "Service", "statsd-exporter");
        expect(svc.spec.selector).toEqual(SELECTOR);
        expect(svc.spec.ports).toEqual([
            { name: "statsd-udp", port: 9125, targetPort: "statsd-udp", protocol: "UDP" },
            { name: "http", port: 9102, targetPort: "http" },
        ]);
        const host = "statsd-exporter.mlops.svc.cluster.local";
        for (const process of ["api-server", "scheduler", "dag-processor", "triggerer", "worker"]) {
            const env = k8sObject(program.recorder, "Deployment", `airflow-${process}`).spec.template.spec.containers[0].env;
            expect(env.find((e: any) => e.name === "AIRFLOW__METRICS__STATSD_HOST"), process).toEqual({ name: "AIRFLOW__METRICS__STATSD_HOST", value: host });
            expect(env.find((e: any) => e.name === "AIRFLOW__METRICS__STATSD_PORT"), process).toEqual({ name: "AIRFLOW__METRICS__STATSD_PORT", value: "9125" });
        }
    });

    it("comes before every Airflow process in the graph (they are configured with its host)", () => {
        const exporter = registration(program.recorder, "Deployment", "statsd-exporter").urn;
        for (const process of ["scheduler", "worker"]) {
            expect(program.recorder.ancestors(registration(program.recorder, "Deployment", `airflow-${process}`).urn), process).toContain(exporter);
        }
    });

    it("runs the version tools/statsd-exporter/build.sh builds for the tests", () => {
        const script = fs.readFileSync(path.join(ROOT, "tools/statsd-exporter/build.sh"), "utf8");
        const built = /^STATSD_EXPORTER_VERSION="(v[0-9.]+)"$/m.exec(script)?.[1];
        expect(built).toBeDefined();
        expect(statsdExporterSchema.parse(undefined).image.endsWith(`:${built}`)).toBe(true);
    });
});

describe("GIVEN a component built on its own", () => {
    it("passes the integrity and schema checks, and its host resolves to the Service's DNS name", async () => {
        const { StatsdExporter } = await import("../../components/statsd-exporter");
        const exporter = new StatsdExporter("metrics-test", { namespace: "mlops", config: statsdExporterSchema.parse(undefined), mapping });
        await settle(program.recorder);
        expect(await valueOf(exporter.host)).toBe("metrics-test.mlops.svc.cluster.local");
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        const own = objects.filter((o) => o.metadata?.name?.startsWith("metrics-test"));
        expect(own.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(["ConfigMap/metrics-test-mapping", "Deployment/metrics-test", "Service/metrics-test"]);
        expect(podTemplates(own)).toHaveLength(1);
        expect(checkIntegrity(objects)).toEqual([]);
        expect(await validateSchemas(own)).toEqual([]);
    });

    it("refuses a file that is not a mapping, naming it", async () => {
        const { readMapping } = await import("../../components/statsd-exporter");
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mapping-")), "alerts.yml");
        fs.writeFileSync(file, "groups: []\n");
        expect(() => readMapping(file)).toThrow(`${file} is not a statsd exporter mapping file (no top-level 'mappings:')`);
    });
});
