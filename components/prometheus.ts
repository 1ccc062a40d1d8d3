import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PrometheusConfig } from "../config/prometheus";
import { checksum, container, DATA_VOLUME, dataStore, httpProbe, imageTag, labels, Login, podSpec, SCRAPE_AUTH_ANNOTATION } from "./shared";

/** Rule files: file name -> YAML contents (see readRuleFiles). */
export type RuleFiles = Readonly<Record<string, string>>;

export interface PrometheusArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: PrometheusConfig;
    /** StorageClass of the TSDB volume unless `config.storage.storageClass` overrides it. */
    readonly storageClass: string;
    /** Alert and recording rule files, usually `readRuleFiles("config/monitoring")`. */
    readonly ruleFiles: RuleFiles;
    /**
     * Logins for metrics endpoints that ask for HTTP basic auth, by key: pods annotated
     * `mlops.dev/scrape-auth: <key>` (SCRAPE_AUTH_ANNOTATION) are scraped by a job of their own
     * with that login, read from the Secret at every scrape, and left out of the anonymous job.
     * @default {}
     */
    readonly basicAuthScrapes?: Readonly<Record<string, Login>>;
}

export const PROMETHEUS_PORT = 9090;
/** The `nobody` user of the official image, which owns /prometheus. */
const RUN_AS = { user: 65534, group: 65534 };
const CONFIG_DIR = "/etc/prometheus";
export const RULES_DIR = "/etc/prometheus/rules";
const DATA_DIR = "/prometheus";
/** Where each basic-auth scrape's password file is mounted: `<dir>/<key>/password`. */
export const SCRAPE_AUTH_DIR = "/etc/prometheus/scrape-auth";
/** SCRAPE_AUTH_ANNOTATION as kubernetes_sd offers it to relabelling. */
const SCRAPE_AUTH_META = `__meta_kubernetes_pod_annotation_${SCRAPE_AUTH_ANNOTATION.replace(/[^A-Za-z0-9]/g, "_")}`;

/**
 * Reads the rule files in `dir` (`*.yml`, `*.yaml`), leaving out promtool test files
 * (`*.test.yml`). Called by index.ts (wiring); components get contents, never paths.
 */
export function readRuleFiles(dir: string): RuleFiles {
    const out: Record<string, string> = {};
    for (const entry of fs.readdirSync(dir).sort()) {
        if (/\.ya?ml$/.test(entry) && !/\.test\.ya?ml$/.test(entry)) {
            out[entry] = fs.readFileSync(path.join(dir, entry), "utf8");
        }
    }
    if (Object.keys(out).length === 0) {
        throw new Error(`no rule files (*.yml) in ${dir}`);
    }
    return out;
}

/**
 * Relabelling of discovered pods: only pods annotated `prometheus.io/scrape: "true"`, on the
 * port and path of their `prometheus.io/port` / `prometheus.io/path` annotations, labelled
 * with `namespace`, `pod`, `app` (app.kubernetes.io/name) and `component`, the labels the
 * alert rules and dashboards select on. Finished Job pods are dropped.
 */
export const POD_RELABEL_CONFIGS = [
    { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], action: "keep", regex: "true" },
    { source_labels: ["__meta_kubernetes_pod_phase"], action: "drop", regex: "Succeeded|Failed" },
    { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_path"], action: "replace", regex: "(.+)", target_label: "__metrics_path__" },
    // The pod IP plus the annotated port; the pod role yields one target per container port,
    // which all rewrite to the same address and are deduplicated by Prometheus. (IPv4 pod IPs.)
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
] as const;

export const SCRAPE_JOB = "kubernetes-pods";

export interface PrometheusConfigFileArgs {
    /** Namespace whose pods are discovered. */
    readonly namespace: string;
    readonly scrapeInterval: string;
    readonly evaluationInterval: string;
    /** Directory holding the rule files. */
    readonly rulesDir: string;
    /** Keys and user names of the basic-auth scrapes (PrometheusArgs.basicAuthScrapes). @default {} */
    readonly basicAuthScrapes?: Readonly<Record<string, string>>;
}

/** prometheus.yml as an object; tests run `promtool check config` on exactly this. */
export function prometheusConfigFile(args: PrometheusConfigFileArgs): Record<string, unknown> {
    const discovery = [{ role: "pod", namespaces: { names: [args.namespace] } }];
    const authScrapes = Object.entries(args.basicAuthScrapes ?? {}).sort(([a], [b]) => a.localeCompare(b));
    return {
        global: { scrape_interval: args.scrapeInterval, evaluation_interval: args.evaluationInterval },
        rule_files: [`${args.rulesDir}/*.yml`],
        scrape_configs: [
            {
                job_name: SCRAPE_JOB,
                kubernetes_sd_configs: discovery,
                // Without a login those pods would only answer 401.
                relabel_configs: [{ source_labels: [SCRAPE_AUTH_META], action: "drop", regex: ".+" }, ...POD_RELABEL_CONFIGS],
            },
            ...authScrapes.map(([key, username]) => ({
                job_name: `${SCRAPE_JOB}-${key}`,
                kubernetes_sd_configs: discovery,
                // Read at every scrape: a rotated password takes effect once the kubelet updates the file.
                basic_auth: { username, password_file: `${SCRAPE_AUTH_DIR}/${key}/password` },
                // The key is a DNS label: no regex metacharacters.
                relabel_configs: [{ source_labels: [SCRAPE_AUTH_META], action: "keep", regex: key }, ...POD_RELABEL_CONFIGS],
            })),
        ],
    };
}

/** JSON is YAML: the rendered file needs no YAML library at deploy time. */
export function renderConfigFile(args: PrometheusConfigFileArgs): string {
    return JSON.stringify(prometheusConfigFile(args), null, 2) + "\n";
}

/** `prometheus` flags. */
export function prometheusArgs(config: PrometheusConfig): string[] {
    return [
        `--config.file=${CONFIG_DIR}/prometheus.yml`,
        `--storage.tsdb.path=${DATA_DIR}`,
        `--storage.tsdb.retention.time=${config.retention.time}`,
        `--storage.tsdb.retention.size=${config.retention.size}`,
        `--web.listen-address=:${PROMETHEUS_PORT}`,
    ];
}

/**
 * The discovery permissions of kubernetes_sd role `pod` (the only role the scrape config uses):
 * read-only access to pods, nothing else (no Secrets, no nodes, no writes).
 */
export const DISCOVERY_RULES = [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }];

/** Prometheus: kubernetes_sd over annotated pods, alert rules from config, TSDB on a PVC. */
export class Prometheus extends pulumi.ComponentResource {
    /** In-cluster URL, e.g. `http://prometheus.mlops.svc.cluster.local:9090`; resolves once the server is Ready. */
    public readonly url: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;

    constructor(name: string, args: PrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Prometheus", name, {}, opts);
        const { config } = args;
        if (Object.keys(args.ruleFiles).length === 0) {
            throw new Error("'ruleFiles' must hold at least one rule file");
        }
        for (const file of Object.keys(args.ruleFiles)) {
            if (!/^[A-Za-z0-9_.-]+\.yml$/.test(file)) {
                throw new Error(`rule file name '${file}' must match [A-Za-z0-9_.-]+.yml (a ConfigMap key the rule_files glob matches)`);
            }
        }
        const serverLabels = { name: "prometheus", instance: name, component: "server", version: imageTag(config.image) };
        const meta = (suffix = "") => ({ name: `${name}${suffix}`, namespace: args.namespace, labels: labels(serverLabels) });

        const serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata: meta() }, { parent: this });
        // Namespaced: Prometheus discovers only its own namespace's pods (kubernetes_sd role
        // `pod`, `namespaces.names`), so it gets only that, in that namespace.
        const role = new k8s.rbac.v1.Role(name, { metadata: meta(), rules: DISCOVERY_RULES }, { parent: this });
        const binding = new k8s.rbac.v1.RoleBinding(
            name,
            {
                metadata: meta(),
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: args.namespace }],
            },
            { parent: this },
        );

        const authScrapes = Object.entries(args.basicAuthScrapes ?? {}).sort(([a], [b]) => a.localeCompare(b));
        for (const [key] of authScrapes) {
            if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(key)) {
                throw new Error(`'basicAuthScrapes' key '${key}' must be a lower-case DNS label of at most 42 characters (it names a job and a volume)`);
            }
        }
        const configText = pulumi.output(args.namespace).apply((ns) =>
            renderConfigFile({
                namespace: ns,
                scrapeInterval: config.scrapeInterval,
                evaluationInterval: config.evaluationInterval,
                rulesDir: RULES_DIR,
                basicAuthScrapes: Object.fromEntries(authScrapes.map(([key, s]) => [key, s.username])),
            }),
        );
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta("-config"), data: { "prometheus.yml": configText } }, { parent: this });
        const rulesMap = new k8s.core.v1.ConfigMap(`${name}-rules`, { metadata: meta("-rules"), data: { ...args.ruleFiles } }, { parent: this });

        const ruleContents = Object.keys(args.ruleFiles)
            .sort()
            .map((f) => `${f}\n${args.ruleFiles[f]}`);
        const store = dataStore(
            name,
            {
                namespace: args.namespace,
                labels: serverLabels,
                ports: [{ name: "http", port: PROMETHEUS_PORT, targetPort: "http" }],
                podAnnotations: {
                    // A changed config or rule file rolls the pod (no reload endpoint is exposed).
                    "mlops.dev/config-checksum": checksum(configText, ...ruleContents),
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": String(PROMETHEUS_PORT),
                    "prometheus.io/path": "/metrics",
                },
                volume: { configPath: "prometheus.storage", size: config.storage.size, storageClass: config.storage.storageClass ?? args.storageClass },
                podSpec: podSpec({
                    runAs: RUN_AS,
                    serviceAccountName: serviceAccount.metadata.name,
                    // The only pod of the platform that talks to the Kubernetes API (discovery).
                    automountServiceAccountToken: true,
                    terminationGracePeriodSeconds: 60,
                    containers: [
                        container({
                            name: "prometheus",
                            image: config.image,
                            resources: config.resources,
                            readOnlyRootFilesystem: true,
                            args: prometheusArgs(config),
                            ports: [{ name: "http", containerPort: PROMETHEUS_PORT }],
                            readinessProbe: httpProbe("readiness", "/-/ready", "http"),
                            // WAL replay after a restart can take a while before /-/healthy answers.
                            livenessProbe: httpProbe("liveness", "/-/healthy", "http"),
                            volumeMounts: [
                                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                                { name: "rules", mountPath: RULES_DIR, readOnly: true },
                                { name: DATA_VOLUME, mountPath: DATA_DIR },
                                ...authScrapes.map(([key]) => ({ name: `scrape-auth-${key}`, mountPath: `${SCRAPE_AUTH_DIR}/${key}`, readOnly: true })),
                            ],
                        }),
                    ],
                    volumes: [
                        { name: "config", configMap: { name: configMap.metadata.name } },
                        { name: "rules", configMap: { name: rulesMap.metadata.name } },
                        ...authScrapes.map(([key, s]) => ({
                            name: `scrape-auth-${key}`,
                            secret: { secretName: s.password.name, items: [{ key: s.password.key, path: "password" }] },
                        })),
                    ],
                }),
                // Discovery must be allowed before the server starts, or its first lists are refused.
                dependsOn: [binding],
            },
            this,
        );
        this.statefulSet = store.statefulSet;
        const service = store.service;

        this.serviceName = service.metadata.name;
        this.url = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.statefulSet.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${PROMETHEUS_PORT}`);
        this.registerOutputs({ url: this.url, serviceName: this.serviceName });
    }
}
