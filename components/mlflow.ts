import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MlflowConfig } from "../config/mlflow";
import type { Resources } from "../config/shared";
import type { InitSteps } from "./backup";
import type { DatabaseConnection } from "./postgres";
import { container, httpProbe, imageTag, labels, maintenanceCronJob, plainEnv, podSpec, secretEnv, SecretKeyRef, selectorLabels } from "./shared";

export interface MlflowArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: MlflowConfig;
    /**
     * The image to run; pass PlatformImages' reference so pods wait for the build.
     * @default config.image
     */
    readonly image?: pulumi.Input<string>;
    /** The `mlflow` database (its host resolves after the Postgres setup Job). */
    readonly database: DatabaseConnection;
    /** S3 endpoint of MinIO (resolves after the bucket Job). */
    readonly s3Endpoint: pulumi.Input<string>;
    /** Artifact bucket (resolves after the bucket Job). */
    readonly bucket: pulumi.Input<string>;
    readonly s3AccessKey: SecretKeyRef;
    readonly s3SecretKey: SecretKeyRef;
    /** Rolls the server when the database or S3 credentials rotate. */
    readonly credentialsChecksum: pulumi.Input<string>;
    /**
     * `mlflow gc` on a schedule: runs deleted more than `days` ago are removed for good, with
     * their artifacts (deleted through this server's artifact proxy). A CronJob.
     */
    readonly deletedRunRetention?: { readonly schedule: string; readonly days: number; readonly resources: Resources };
    /** Steps the schema upgrade Job runs first: a backup of the database (components/backup.ts). */
    readonly beforeMigration?: InitSteps;
}

export const MLFLOW_PORT = 5000;

/**
 * `mlflow gc` of the runs deleted more than `days` ago, from the backend store (a URI without
 * the password, which libpq reads from PGPASSWORD).
 */
export function gcCommand(backendStoreUri: string, days: number): string[] {
    return ["mlflow", "gc", "--backend-store-uri", backendStoreUri, "--older-than", `${days}d`];
}
const RUN_AS = { user: 1000, group: 1000 };
const METRICS_DIR = "/tmp/mlflow-metrics";

/** The in-cluster names a client may send as Host: every DNS form of the Service, with and without the port. */
export function allowedHosts(service: string, namespace: string, extra: readonly string[]): string[] {
    const names = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
    // localhost stays allowed so `kubectl port-forward` keeps working.
    return [...names.flatMap((n) => [n, `${n}:${MLFLOW_PORT}`]), "localhost:*", "127.0.0.1:*", ...extra];
}

/**
 * The backend store URI without a password: libpq reads PGPASSWORD from the environment,
 * so the password never appears on a command line.
 */
export function backendStoreUri(user: string, host: string, port: number, database: string): string {
    return `postgresql://${user}@${host}:${port}/${database}`;
}

/** `mlflow server` arguments; tests run these exact flags against the pinned MLflow. */
export function serverArgs(opts: { backendStoreUri: string; bucket: string; allowedHosts: readonly string[]; workers: number }): string[] {
    return [
        "server",
        "--host", "0.0.0.0",
        "--port", String(MLFLOW_PORT),
        "--workers", String(opts.workers),
        "--backend-store-uri", opts.backendStoreUri,
        // Clients upload and download through the server; only the server holds S3 keys.
        "--serve-artifacts",
        "--artifacts-destination", `s3://${opts.bucket}`,
        "--allowed-hosts", opts.allowedHosts.join(","),
        "--expose-prometheus", METRICS_DIR,
    ];
}

/**
 * Schema upgrade, safe on every run: an empty database is created at the newest schema
 * (MLflow's store initialisation), an existing one is migrated forward by alembic, and an
 * up-to-date one is left alone.
 */
export function upgradeCommand(): string[] {
    return [
        "python",
        "-c",
        [
            "import os, sys",
            "from mlflow.store.db.utils import create_sqlalchemy_engine_with_retry, _all_tables_exist, _initialize_tables, _upgrade_db",
            "uri = os.environ['MLFLOW_BACKEND_STORE_URI']",
            "engine = create_sqlalchemy_engine_with_retry(uri)",
            "(_upgrade_db if _all_tables_exist(engine) else _initialize_tables)(engine)",
            "print('mlflow schema is current', flush=True)",
        ].join("\n"),
    ];
}

/** MLflow tracking server and registry: Postgres backend, artifacts proxied to MinIO, Prometheus metrics. */
export class Mlflow extends pulumi.ComponentResource {
    /** In-cluster tracking URI, e.g. `http://mlflow.mlops.svc.cluster.local:5000`; resolves once the server is Ready. */
    public readonly trackingUri: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;
    public readonly upgradeJob: k8s.batch.v1.Job;
    /** `mlflow gc` on the retention schedule, when configured. */
    public readonly gcCronJob?: k8s.batch.v1.CronJob;

    constructor(name: string, args: MlflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Mlflow", name, {}, opts);
        const { config, database } = args;
        const version = imageTag(config.image);
        const storeUri = pulumi
            .all([database.user, database.host, database.database])
            .apply(([user, host, db]) => backendStoreUri(user, host, database.port, db));
        const dbEnv = [plainEnv("MLFLOW_BACKEND_STORE_URI", storeUri), secretEnv("PGPASSWORD", database.password)];

        const jobLabels = { name: "mlflow", instance: name, component: "db-upgrade", version };
        this.upgradeJob = new k8s.batch.v1.Job(
            `${name}-db-upgrade`,
            {
                // Auto-named: a new image replaces the Job, so each MLflow version migrates once.
                metadata: { namespace: args.namespace, labels: labels(jobLabels) },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 900,
                    template: {
                        metadata: { labels: labels(jobLabels) },
                        spec: podSpec({
                            runAs: RUN_AS,
                            restartPolicy: "Never",
                            initContainers: args.beforeMigration?.initContainers,
                            volumes: args.beforeMigration?.volumes,
                            containers: [
                                container({
                                    name: "db-upgrade",
                                    image: args.image ?? config.image,
                                    resources: config.jobResources,
                                    command: upgradeCommand(),
                                    env: dbEnv,
                                }),
                            ],
                        }),
                    },
                },
            },
            { parent: this },
        );

        const serverLabels = { name: "mlflow", instance: name, component: "server", version };
        const selector = selectorLabels(serverLabels);
        // Prometheus scrapes the pod by its IP, and MLflow answered its own IP as Host with 403
        // (found on the real node): the kubelet expands $(POD_IP) in the arguments.
        const hosts = pulumi.output(args.namespace).apply((ns) => allowedHosts(name, ns, [`$(POD_IP):${MLFLOW_PORT}`, ...config.extraAllowedHosts]));
        const argsOut = pulumi
            .all([storeUri, args.bucket, hosts, this.upgradeJob.metadata.name])
            .apply(([uri, bucket, h]) => serverArgs({ backendStoreUri: uri, bucket, allowedHosts: h, workers: config.workers }));

        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(serverLabels) },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: {
                            labels: labels(serverLabels),
                            annotations: {
                                "mlops.dev/credentials-checksum": args.credentialsChecksum,
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(MLFLOW_PORT),
                                "prometheus.io/path": "/metrics",
                            },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            containers: [
                                container({
                                    name: "mlflow",
                                    image: args.image ?? config.image,
                                    resources: config.resources,
                                    command: ["mlflow"],
                                    args: argsOut,
                                    ports: [{ name: "http", containerPort: MLFLOW_PORT }],
                                    // The registry's store for that look-up creates ./mlruns (its default artifact
                                    // root) in the working directory: the image's is not writable by uid 1000.
                                    workingDir: "/tmp",
                                    env: [
                                        ...dbEnv,
                                        { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                                        // Registering a version from a `models:/m-...` source makes the server look the
                                        // logged model up with a default client, which follows this variable (unset: an
                                        // empty ./mlruns file store), so every registration failed with 500 (found on
                                        // the real node). Its own store, passwordless (libpq reads PGPASSWORD).
                                        plainEnv("MLFLOW_TRACKING_URI", storeUri),
                                        plainEnv("MLFLOW_S3_ENDPOINT_URL", args.s3Endpoint),
                                        secretEnv("AWS_ACCESS_KEY_ID", args.s3AccessKey),
                                        secretEnv("AWS_SECRET_ACCESS_KEY", args.s3SecretKey),
                                        // MinIO ignores the region, boto3 insists on one.
                                        plainEnv("AWS_DEFAULT_REGION", "us-east-1"),
                                        plainEnv("HOME", "/tmp"),
                                    ],
                                    readinessProbe: httpProbe("readiness", "/health", "http"),
                                    livenessProbe: httpProbe("liveness", "/health", "http"),
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                }),
                            ],
                            volumes: [{ name: "tmp", emptyDir: {} }],
                        }),
                    },
                },
            },
            // The schema must be current before any server process opens the database.
            { parent: this, dependsOn: [this.upgradeJob] },
        );

        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(serverLabels) },
                spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: MLFLOW_PORT, targetPort: "http" }] },
            },
            { parent: this },
        );

        this.serviceName = service.metadata.name;
        this.trackingUri = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.deployment.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${MLFLOW_PORT}`);
        if (args.deletedRunRetention) {
            const retention = args.deletedRunRetention;
            this.gcCronJob = maintenanceCronJob(
                `${name}-gc`,
                {
                    namespace: args.namespace,
                    labels: { name: "mlflow", instance: name, component: "gc", version },
                    schedule: retention.schedule,
                    pod: {
                        runAs: RUN_AS,
                        containers: [
                            container({
                                name: "gc",
                                image: args.image ?? config.image,
                                resources: retention.resources,
                                command: storeUri.apply((uri) => gcCommand(uri, retention.days)),
                                // Runs from the database; artifacts through the server's proxy
                                // (mlflow-artifacts:/ URIs resolve against the tracking server).
                                env: [...dbEnv, plainEnv("MLFLOW_TRACKING_URI", this.trackingUri)],
                                workingDir: "/tmp",
                                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                            }),
                        ],
                        volumes: [{ name: "tmp", emptyDir: {} }],
                    },
                },
                { parent: this, dependsOn: [this.deployment] },
            );
        }
        this.registerOutputs({ trackingUri: this.trackingUri });
    }
}
