import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GrafanaConfig } from "../config/grafana";
import { checksum, container, httpProbe, imageTag, labels, plainEnv, podSpec, secretEnv, SecretKeyRef, selectorLabels } from "./shared";

/** Dashboards: file name -> Grafana dashboard JSON (see readDashboards). */
export type DashboardFiles = Readonly<Record<string, string>>;

export interface GrafanaArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: GrafanaConfig;
    /** The generated admin password. */
    readonly adminPassword: SecretKeyRef;
    /**
     * Changes when the admin password rotates. Grafana takes GF_SECURITY_ADMIN_PASSWORD only
     * when it creates the admin in a new database; the database is an emptyDir, so rolling the
     * pod is what makes a rotated password take effect.
     */
    readonly credentialsChecksum: pulumi.Input<string>;
    /** Prometheus's in-cluster URL (its output, so Grafana is created after Prometheus is Ready). */
    readonly prometheusUrl: pulumi.Input<string>;
    /**
     * Prometheus's scrape interval, Grafana's lower bound for `$__interval` and `$__rate_interval`.
     * @default "30s"
     */
    readonly prometheusScrapeInterval?: string;
    /** Dashboards to provision, usually `readDashboards("config/monitoring/dashboards")`. */
    readonly dashboards: DashboardFiles;
    /** The public URL when Grafana is behind an Ingress (`[server] root_url`: redirects and links). */
    readonly rootUrl?: string;
}

export const GRAFANA_PORT = 3000;
/** The `grafana` user of the official image. */
const RUN_AS = { user: 472, group: 472 };
const DATA_DIR = "/var/lib/grafana";
const PROVISIONING_DIR = "/etc/grafana/provisioning";
const DASHBOARDS_DIR = "/var/lib/grafana-dashboards";
/** The datasource uid the dashboards under config/monitoring/dashboards refer to. */
export const DATASOURCE_UID = "prometheus";
const CONFIGMAP_LIMIT = 1_000_000;

/** Reads every `*.json` dashboard in `dir` and checks it parses. Called by index.ts (wiring). */
export function readDashboards(dir: string): DashboardFiles {
    const out: Record<string, string> = {};
    for (const entry of fs.readdirSync(dir).sort()) {
        if (!entry.endsWith(".json")) continue;
        const text = fs.readFileSync(path.join(dir, entry), "utf8");
        try {
            JSON.parse(text);
        } catch (err) {
            throw new Error(`dashboard ${entry} is not valid JSON: ${(err as Error).message}`);
        }
        out[entry] = text;
    }
    if (Object.keys(out).length === 0) {
        throw new Error(`no dashboards (*.json) in ${dir}`);
    }
    return out;
}

/** Grafana's datasource provisioning file (JSON is YAML). */
export function datasourcesFile(prometheusUrl: string, scrapeInterval: string): string {
    return JSON.stringify(
        {
            apiVersion: 1,
            datasources: [
                {
                    name: "Prometheus",
                    uid: DATASOURCE_UID,
                    type: "prometheus",
                    access: "proxy",
                    url: prometheusUrl,
                    isDefault: true,
                    editable: false,
                    jsonData: { timeInterval: scrapeInterval, httpMethod: "POST" },
                },
            ],
        },
        null,
        2,
    );
}

/** Grafana's dashboard provider: the files of the dashboards ConfigMap, read-only in the UI. */
export function dashboardProviderFile(): string {
    return JSON.stringify(
        {
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
                    options: { path: DASHBOARDS_DIR },
                },
            ],
        },
        null,
        2,
    );
}

/** Grafana with a generated admin password, the Prometheus datasource and the platform's dashboards. */
export class Grafana extends pulumi.ComponentResource {
    /** In-cluster URL, e.g. `http://grafana.mlops.svc.cluster.local:3000`; resolves once Grafana is Ready. */
    public readonly url: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Grafana", name, {}, opts);
        const { config } = args;
        const files = Object.keys(args.dashboards).sort();
        if (files.length === 0) {
            throw new Error("'dashboards' must hold at least one dashboard");
        }
        let size = 0;
        for (const f of files) {
            if (!/^[A-Za-z0-9_.-]+\.json$/.test(f)) {
                throw new Error(`dashboard file name '${f}' must match [A-Za-z0-9_.-]+.json`);
            }
            size += Buffer.byteLength(args.dashboards[f]!);
        }
        if (size > CONFIGMAP_LIMIT) {
            throw new Error(`the dashboards are ${size} bytes, more than a ConfigMap holds (1 MiB)`);
        }
        const serverLabels = { name: "grafana", instance: name, component: "server", version: imageTag(config.image) };
        const selector = selectorLabels(serverLabels);
        const meta = (suffix = "") => ({ name: `${name}${suffix}`, namespace: args.namespace, labels: labels(serverLabels) });

        const datasources = pulumi.output(args.prometheusUrl).apply((url) => datasourcesFile(url, args.prometheusScrapeInterval ?? "30s"));
        const datasourceMap = new k8s.core.v1.ConfigMap(
            `${name}-datasources`,
            { metadata: meta("-datasources"), data: { "datasources.yaml": datasources } },
            { parent: this },
        );
        const providerMap = new k8s.core.v1.ConfigMap(
            `${name}-dashboard-provider`,
            { metadata: meta("-dashboard-provider"), data: { "dashboards.yaml": dashboardProviderFile() } },
            { parent: this },
        );
        const dashboardsMap = new k8s.core.v1.ConfigMap(
            `${name}-dashboards`,
            { metadata: meta("-dashboards"), data: { ...args.dashboards } },
            { parent: this },
        );

        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: meta(),
                spec: {
                    replicas: 1,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: {
                            labels: labels(serverLabels),
                            annotations: {
                                // Provisioning is read at start: a changed datasource or dashboard rolls the pod.
                                "mlops.dev/config-checksum": checksum(datasources, ...files.map((f) => `${f}\n${args.dashboards[f]}`)),
                                "mlops.dev/credentials-checksum": args.credentialsChecksum,
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(GRAFANA_PORT),
                                "prometheus.io/path": "/metrics",
                            },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            containers: [
                                container({
                                    name: "grafana",
                                    image: config.image,
                                    resources: config.resources,
                                    ports: [{ name: "http", containerPort: GRAFANA_PORT }],
                                    env: [
                                        plainEnv("GF_SERVER_HTTP_PORT", String(GRAFANA_PORT)),
                                        plainEnv("GF_SECURITY_ADMIN_USER", config.adminUser),
                                        secretEnv("GF_SECURITY_ADMIN_PASSWORD", args.adminPassword),
                                        plainEnv("GF_PATHS_DATA", DATA_DIR),
                                        plainEnv("GF_PATHS_PROVISIONING", PROVISIONING_DIR),
                                        plainEnv("GF_LOG_MODE", "console"),
                                        plainEnv("GF_USERS_ALLOW_SIGN_UP", "false"),
                                        plainEnv("GF_AUTH_ANONYMOUS_ENABLED", "false"),
                                        plainEnv("GF_ANALYTICS_REPORTING_ENABLED", "false"),
                                        plainEnv("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
                                        plainEnv("GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "false"),
                                        ...(args.rootUrl ? [plainEnv("GF_SERVER_ROOT_URL", args.rootUrl)] : []),
                                    ],
                                    readinessProbe: httpProbe("readiness", "/api/health", "http"),
                                    livenessProbe: httpProbe("liveness", "/api/health", "http"),
                                    volumeMounts: [
                                        // Users, sessions and preferences only: everything else is provisioned, so an emptyDir will do.
                                        { name: "data", mountPath: DATA_DIR },
                                        { name: "tmp", mountPath: "/tmp" },
                                        { name: "datasources", mountPath: `${PROVISIONING_DIR}/datasources`, readOnly: true },
                                        { name: "dashboard-provider", mountPath: `${PROVISIONING_DIR}/dashboards`, readOnly: true },
                                        { name: "dashboards", mountPath: DASHBOARDS_DIR, readOnly: true },
                                    ],
                                }),
                            ],
                            volumes: [
                                { name: "data", emptyDir: {} },
                                { name: "tmp", emptyDir: {} },
                                { name: "datasources", configMap: { name: datasourceMap.metadata.name } },
                                { name: "dashboard-provider", configMap: { name: providerMap.metadata.name } },
                                { name: "dashboards", configMap: { name: dashboardsMap.metadata.name } },
                            ],
                        }),
                    },
                },
            },
            { parent: this },
        );

        const service = new k8s.core.v1.Service(
            name,
            { metadata: meta(), spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: GRAFANA_PORT, targetPort: "http" }] } },
            { parent: this },
        );

        this.serviceName = service.metadata.name;
        this.url = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.deployment.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${GRAFANA_PORT}`);
        this.registerOutputs({ url: this.url, serviceName: this.serviceName });
    }
}
