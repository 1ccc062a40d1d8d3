import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StatsdExporterConfig } from "../config/statsd-exporter";
import { checksum, container, httpProbe, imageTag, labels, podSpec, selectorLabels } from "./shared";

export interface StatsdExporterArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: StatsdExporterConfig;
    /** The exporter's mapping file (YAML), usually `readMapping("config/monitoring/statsd/mapping.yml")`. */
    readonly mapping: string;
}

/** StatsD over UDP, the port Airflow's `[metrics] statsd_port` names. */
export const STATSD_PORT = 9125;
/** The exporter's HTTP port: /metrics for Prometheus, /-/healthy and /-/ready for probes. */
export const STATSD_EXPORTER_WEB_PORT = 9102;
/** The `nobody` user the official image runs as. */
const RUN_AS = { user: 65534, group: 65534 };
const CONFIG_DIR = "/etc/statsd-exporter";

/** Reads the mapping file. Called by index.ts (wiring); the component gets contents, never paths. */
export function readMapping(file: string): string {
    const text = fs.readFileSync(file, "utf8");
    if (!/^mappings:/m.test(text)) {
        throw new Error(`${file} is not a statsd exporter mapping file (no top-level 'mappings:')`);
    }
    return text;
}

/**
 * The exporter's flags. InfluxDB-style tags are parsed because Airflow sends its metric
 * variables (dag_id, task_id, state) that way; the TCP listener is off (Airflow sends UDP).
 */
export function statsdExporterArgs(): string[] {
    return [
        `--statsd.mapping-config=${CONFIG_DIR}/mapping.yml`,
        `--statsd.listen-udp=:${STATSD_PORT}`,
        "--statsd.listen-tcp=",
        `--web.listen-address=:${STATSD_EXPORTER_WEB_PORT}`,
        "--statsd.parse-influxdb-tags",
    ];
}

/**
 * The statsd exporter: the bridge from Airflow's StatsD metrics (scheduler, DAG runs, tasks,
 * and the train DAG's own gauge) to Prometheus, which scrapes it through its pod annotations.
 */
export class StatsdExporter extends pulumi.ComponentResource {
    /** Host Airflow sends StatsD packets to; resolves once the exporter is Ready. */
    public readonly host: pulumi.Output<string>;
    public readonly port = STATSD_PORT;
    public readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: StatsdExporterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:StatsdExporter", name, {}, opts);
        const { config } = args;
        const serverLabels = { name: "statsd-exporter", instance: name, component: "server", version: imageTag(config.image) };
        const meta = (suffix = "") => ({ name: `${name}${suffix}`, namespace: args.namespace, labels: labels(serverLabels) });

        const configMap = new k8s.core.v1.ConfigMap(`${name}-mapping`, { metadata: meta("-mapping"), data: { "mapping.yml": args.mapping } }, { parent: this });

        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: meta(),
                spec: {
                    // Counters live in the process: one replica, so every packet lands in one place.
                    replicas: 1,
                    selector: { matchLabels: selectorLabels(serverLabels) },
                    template: {
                        metadata: {
                            labels: labels(serverLabels),
                            annotations: {
                                // A changed mapping rolls the pod (the exporter reads it at start).
                                "mlops.dev/config-checksum": checksum(args.mapping),
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(STATSD_EXPORTER_WEB_PORT),
                                "prometheus.io/path": "/metrics",
                            },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            terminationGracePeriodSeconds: 10,
                            containers: [
                                container({
                                    name: "statsd-exporter",
                                    image: config.image,
                                    resources: config.resources,
                                    readOnlyRootFilesystem: true,
                                    args: statsdExporterArgs(),
                                    ports: [
                                        { name: "statsd-udp", containerPort: STATSD_PORT, protocol: "UDP" },
                                        { name: "http", containerPort: STATSD_EXPORTER_WEB_PORT },
                                    ],
                                    readinessProbe: httpProbe("readiness", "/-/ready", "http", { initialDelaySeconds: 2, periodSeconds: 10 }),
                                    livenessProbe: httpProbe("liveness", "/-/healthy", "http", { initialDelaySeconds: 10 }),
                                    volumeMounts: [{ name: "mapping", mountPath: CONFIG_DIR, readOnly: true }],
                                }),
                            ],
                            volumes: [{ name: "mapping", configMap: { name: configMap.metadata.name } }],
                        }),
                    },
                },
            },
            { parent: this },
        );

        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: meta(),
                spec: {
                    type: "ClusterIP",
                    selector: selectorLabels(serverLabels),
                    ports: [
                        { name: "statsd-udp", port: STATSD_PORT, targetPort: "statsd-udp", protocol: "UDP" },
                        { name: "http", port: STATSD_EXPORTER_WEB_PORT, targetPort: "http" },
                    ],
                },
            },
            { parent: this },
        );

        this.host = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.deployment.metadata.name])
            .apply(([svc, ns]) => `${svc}.${ns}.svc.cluster.local`);
        this.registerOutputs({ host: this.host });
    }
}
