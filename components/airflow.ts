import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AirflowConfig } from "../config/airflow";
import type { Resources } from "../config/shared";
import { DagFiles, dagConfigMapData, dagSource, localSourceFiles } from "./airflow-dags";
import type { InitSteps } from "./backup";
import type { DatabaseConnection } from "./postgres";
import { CLIENTS_ANNOTATION, container, execProbe, httpProbe, imageTag, labels, maintenanceCronJob, plainEnv, podSpec, ProbeTiming, secretEnv, SecretKeyRef, selectorLabels } from "./shared";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface AirflowArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: AirflowConfig;
    /**
     * The image to run; pass PlatformImages' reference so pods wait for the build.
     * @default config.image
     */
    readonly image?: pulumi.Input<string>;
    /** Airflow's metadata database (resolves after the Postgres setup Job). */
    readonly database: DatabaseConnection;
    /** The pipeline's `mlops` database, exposed to DAGs as connection `mlops_db`. */
    readonly pipelineDatabase: DatabaseConnection;
    /** Celery broker (resolves once Redis is Ready). */
    readonly redis: { readonly host: pulumi.Input<string>; readonly port: number; readonly password: SecretKeyRef };
    /** Keys every Airflow process must share: one source, mounted identically in every pod. */
    readonly keys: { readonly fernetKey: SecretKeyRef; readonly jwtSecret: SecretKeyRef; readonly apiSecretKey: SecretKeyRef };
    /** Generated password of the UI admin user. */
    readonly adminPassword: pulumi.Input<string>;
    /** Task logs go to this bucket so they outlive worker pods. */
    readonly logs: { readonly s3Endpoint: pulumi.Input<string>; readonly bucket: pulumi.Input<string>; readonly accessKey: SecretKeyRef; readonly secretKey: SecretKeyRef };
    /** Environment the DAGs read (MLFLOW_TRACKING_URI, DATA_API_URL, MODEL_API_URL, ...). */
    readonly pipelineEnv: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * Environment only the task-running processes (Celery workers) get: the endpoints the tasks
     * call (MLFLOW_TRACKING_URI, DATA_API_URL, MODEL_API_URL). The scheduler, api-server,
     * triggerer and DAG processor never call them, so they neither get them nor, through the
     * NetworkPolicies derived from this wiring, may reach those Services.
     * @default {}
     */
    readonly taskEnv?: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * Credentials the tasks read, by variable name (MODEL_API_HOOK_TOKEN): set from secretKeyRefs,
     * in the workers only (like `taskEnv` and the pipeline database's connection).
     * @default {}
     */
    readonly pipelineSecrets?: Readonly<Record<string, SecretKeyRef>>;
    /** DAG files for the `local` source. */
    readonly dagFiles?: DagFiles;
    /** git-sync HTTPS password/token. */
    readonly gitPassword?: SecretKeyRef;
    /** Rolls every Airflow pod when a credential it reads rotates. */
    readonly credentialsChecksum: pulumi.Input<string>;
    /** Where every Airflow process sends its StatsD metrics (the statsd exporter); off when unset. */
    readonly statsd?: { readonly host: pulumi.Input<string>; readonly port: number };
    /** `airflow db clean` on a schedule: metadata older than `days` is deleted (a CronJob). */
    readonly metadataRetention?: { readonly schedule: string; readonly days: number; readonly resources: Resources };
    /** Steps the migrate Job runs first: a backup of the database (components/backup.ts). */
    readonly beforeMigration?: InitSteps;
}

export const AIRFLOW_API_PORT = 8080;
const SCHEDULER_HEALTH_PORT = 8974;
const WORKER_LOG_PORT = 8793;
/** The official image's `airflow` user; group 0 as the image expects for its writable paths. */
const RUN_AS = { user: 50000, group: 0 };
const AUTH_DIR = "/opt/airflow/auth";
const AUTH_SECRET_DIR = "/opt/airflow/auth-secret";
const AUTH_COPY_RESOURCES = { cpu: "10m", memory: "16Mi", memoryLimit: "32Mi" } as const;
/** SimpleAuthManager's role for full access. */
const ADMIN_ROLE = "admin";
/** Airflow's own CLI health checks start a Python interpreter: give them time and space. */
const CLI_PROBE: ProbeTiming = { periodSeconds: 60, timeoutSeconds: 45, failureThreshold: 5 };

/** The Airflow processes, each a Deployment. `dags` marks the ones that parse or run DAG files. */
export const PROCESSES = {
    "api-server": { dags: false },
    scheduler: { dags: false },
    "dag-processor": { dags: true },
    triggerer: { dags: false },
    worker: { dags: true },
} as const;
export type AirflowProcess = keyof typeof PROCESSES;

export interface AirflowEnvArgs {
    readonly namespace: string;
    readonly apiServiceName: string;
    readonly dagsFolder: string;
    readonly adminUser: string;
    readonly workerConcurrency: number;
    readonly db: { readonly host: string; readonly port: number; readonly database: string; readonly user: string; readonly password: SecretKeyRef };
    readonly pipelineDb: { readonly host: string; readonly port: number; readonly database: string; readonly user: string; readonly password: SecretKeyRef };
    readonly redis: { readonly host: string; readonly port: number; readonly password: SecretKeyRef };
    readonly keys: AirflowArgs["keys"];
    readonly logs: { readonly s3Endpoint: string; readonly bucket: string; readonly accessKey: SecretKeyRef; readonly secretKey: SecretKeyRef };
    readonly pipelineEnv: Readonly<Record<string, string>>;
    readonly taskEnv?: Readonly<Record<string, string>>;
    readonly pipelineSecrets?: Readonly<Record<string, SecretKeyRef>>;
    /** A process that runs tasks (a Celery worker): it alone gets `taskEnv`, `pipelineSecrets` and the pipeline database. */
    readonly runsTasks: boolean;
    readonly statsd?: { readonly host: string; readonly port: number };
}

/**
 * Airflow's metrics over StatsD, in the form the statsd exporter maps without guessing:
 * modern metric names only (`dagrun.duration.failed`, not `dagrun.duration.failed.<dag_id>`)
 * with their variables as InfluxDB-style tags, which the exporter turns into labels.
 * run_id and job_id stay out of the tags (Airflow's default), or every run would be a series.
 */
/**
 * The db-clean Job's script: `airflow db clean` of everything older than AIRFLOW_RETENTION_DAYS
 * days, computed when the Job runs (GNU date). Airflow keeps the latest run of each DAG itself.
 */
export function dbCleanScript(): string {
    return [
        'cutoff="$(date -u -d "-${AIRFLOW_RETENTION_DAYS} days" +%Y-%m-%dT%H:%M:%S+00:00)"',
        'echo "airflow db clean: deleting metadata older than $cutoff (${AIRFLOW_RETENTION_DAYS} days)"',
        'exec airflow db clean --clean-before-timestamp "$cutoff" --skip-archive --yes',
    ].join("\n");
}

export function statsdEnv(statsd: { readonly host: string; readonly port: number }): EnvVar[] {
    return [
        plainEnv("AIRFLOW__METRICS__STATSD_ON", "True"),
        plainEnv("AIRFLOW__METRICS__STATSD_HOST", statsd.host),
        plainEnv("AIRFLOW__METRICS__STATSD_PORT", String(statsd.port)),
        plainEnv("AIRFLOW__METRICS__STATSD_PREFIX", "airflow"),
        plainEnv("AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED", "True"),
        plainEnv("AIRFLOW__METRICS__STATSD_DISABLED_TAGS", "job_id,run_id"),
        plainEnv("AIRFLOW__METRICS__LEGACY_NAMES_ON", "False"),
    ];
}

/**
 * The environment every Airflow container gets, identical across processes (the classic
 * Airflow 3 failure is a JWT secret or Fernet key that differs between pods). Secrets come
 * from secretKeyRefs; connection strings splice them in with $(VAR), which the kubelet
 * expands, so no credential is ever part of the pod spec. Tests feed this exact list to
 * the pinned Airflow to prove it parses.
 */
export function airflowEnv(a: AirflowEnvArgs): EnvVar[] {
    const dbUrl = (scheme: string) => `${scheme}://${a.db.user}:$(AIRFLOW_DB_PASSWORD)@${a.db.host}:${a.db.port}/${a.db.database}`;
    const logsConnection = JSON.stringify({
        conn_type: "aws",
        login: "$(LOGS_S3_ACCESS_KEY)",
        password: "$(LOGS_S3_SECRET_KEY)",
        extra: { endpoint_url: a.logs.s3Endpoint, region_name: "us-east-1" },
    });
    return [
        secretEnv("AIRFLOW_DB_PASSWORD", a.db.password),
        secretEnv("REDIS_PASSWORD", a.redis.password),
        ...(a.runsTasks ? [secretEnv("MLOPS_DB_PASSWORD", a.pipelineDb.password)] : []),
        secretEnv("LOGS_S3_ACCESS_KEY", a.logs.accessKey),
        secretEnv("LOGS_S3_SECRET_KEY", a.logs.secretKey),
        secretEnv("AIRFLOW__CORE__FERNET_KEY", a.keys.fernetKey),
        secretEnv("AIRFLOW__API_AUTH__JWT_SECRET", a.keys.jwtSecret),
        secretEnv("AIRFLOW__API__SECRET_KEY", a.keys.apiSecretKey),
        plainEnv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor"),
        plainEnv("AIRFLOW__CORE__LOAD_EXAMPLES", "False"),
        plainEnv("AIRFLOW__CORE__DAGS_FOLDER", a.dagsFolder),
        // Task processes report to the api-server's execution API (Airflow 3); without this,
        // workers pick tasks up and then fail to run them.
        plainEnv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", `http://${a.apiServiceName}.${a.namespace}.svc.cluster.local:${AIRFLOW_API_PORT}/execution/`),
        plainEnv("AIRFLOW__CORE__AUTH_MANAGER", "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"),
        // "<user>:<role>", not a credential: the password comes from the mounted passwords file.
        plainEnv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", `${a.adminUser}:${ADMIN_ROLE}`),
        plainEnv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", `${AUTH_DIR}/passwords.json`),
        plainEnv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", dbUrl("postgresql+psycopg2")),
        plainEnv("AIRFLOW__CELERY__BROKER_URL", `redis://:$(REDIS_PASSWORD)@${a.redis.host}:${a.redis.port}/0`),
        plainEnv("AIRFLOW__CELERY__RESULT_BACKEND", dbUrl("db+postgresql")),
        plainEnv("AIRFLOW__CELERY__WORKER_CONCURRENCY", String(a.workerConcurrency)),
        // Pods have no resolvable hostnames; the api-server fetches live logs from the worker's IP.
        plainEnv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "airflow.utils.net.get_host_ip_address"),
        plainEnv("AIRFLOW__LOGGING__REMOTE_LOGGING", "True"),
        plainEnv("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", `s3://${a.logs.bucket}`),
        plainEnv("AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID", "minio_logs"),
        plainEnv("AIRFLOW_CONN_MINIO_LOGS", logsConnection),
        ...(a.runsTasks ? [plainEnv("AIRFLOW_CONN_MLOPS_DB", `postgresql://${a.pipelineDb.user}:$(MLOPS_DB_PASSWORD)@${a.pipelineDb.host}:${a.pipelineDb.port}/${a.pipelineDb.database}`)] : []),
        plainEnv("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "True"),
        plainEnv("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT", String(SCHEDULER_HEALTH_PORT)),
        ...(a.statsd ? statsdEnv(a.statsd) : []),
        ...Object.entries({ ...a.pipelineEnv, ...(a.runsTasks ? a.taskEnv : {}) })
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([name, value]) => plainEnv(name, value)),
        ...Object.entries(a.runsTasks ? (a.pipelineSecrets ?? {}) : {})
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([name, ref]) => secretEnv(name, ref)),
    ];
}

/** Command, ports and probes of each process. */
export function processSpec(process: AirflowProcess, workers: number) {
    switch (process) {
        case "api-server":
            return {
                command: ["airflow", "api-server", "--port", String(AIRFLOW_API_PORT), "--workers", String(workers)],
                ports: [{ name: "http", containerPort: AIRFLOW_API_PORT }],
                readinessProbe: httpProbe("readiness", "/api/v2/monitor/health", "http", { initialDelaySeconds: 15 }),
                livenessProbe: httpProbe("liveness", "/api/v2/monitor/health", "http", { initialDelaySeconds: 60 }),
            };
        case "scheduler":
            return {
                command: ["airflow", "scheduler"],
                ports: [{ name: "health", containerPort: SCHEDULER_HEALTH_PORT }],
                readinessProbe: httpProbe("readiness", "/health", "health", { initialDelaySeconds: 15 }),
                livenessProbe: httpProbe("liveness", "/health", "health", { initialDelaySeconds: 60 }),
            };
        case "dag-processor":
            return {
                command: ["airflow", "dag-processor"],
                ports: [],
                readinessProbe: execProbe("readiness", ["airflow", "jobs", "check", "--job-type", "DagProcessorJob", "--local"], { ...CLI_PROBE, initialDelaySeconds: 30 }),
                livenessProbe: execProbe("liveness", ["airflow", "jobs", "check", "--job-type", "DagProcessorJob", "--local"], { ...CLI_PROBE, initialDelaySeconds: 90 }),
            };
        case "triggerer":
            return {
                command: ["airflow", "triggerer"],
                ports: [],
                readinessProbe: execProbe("readiness", ["airflow", "jobs", "check", "--job-type", "TriggererJob", "--local"], { ...CLI_PROBE, initialDelaySeconds: 30 }),
                livenessProbe: execProbe("liveness", ["airflow", "jobs", "check", "--job-type", "TriggererJob", "--local"], { ...CLI_PROBE, initialDelaySeconds: 90 }),
            };
        case "worker": {
            const ping = ["sh", "-c", 'celery --app airflow.providers.celery.executors.celery_executor.app inspect ping -d "celery@$(hostname)" --timeout 20'];
            return {
                command: ["airflow", "celery", "worker"],
                ports: [{ name: "worker-logs", containerPort: WORKER_LOG_PORT }],
                readinessProbe: execProbe("readiness", ping, { ...CLI_PROBE, initialDelaySeconds: 30 }),
                livenessProbe: execProbe("liveness", ping, { ...CLI_PROBE, initialDelaySeconds: 90 }),
            };
        }
    }
}

/**
 * Airflow 3 with the Celery executor: one `airflow db migrate` Job, then api-server,
 * scheduler, dag-processor, triggerer and workers, all ordered after the Job by the graph.
 */
export class Airflow extends pulumi.ComponentResource {
    /** In-cluster URL of the api-server (UI and REST API). */
    public readonly url: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly migrateJob: k8s.batch.v1.Job;
    /** `airflow db clean` on the retention schedule, when configured. */
    public readonly dbCleanCronJob?: k8s.batch.v1.CronJob;
    public readonly deployments: Readonly<Record<AirflowProcess, k8s.apps.v1.Deployment>>;

    constructor(name: string, args: AirflowArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Airflow", name, {}, opts);
        const { config } = args;
        const version = imageTag(config.image);
        const apiServiceName = `${name}-api-server`;

        const dagFiles = args.dagFiles ? localSourceFiles(args.dagFiles) : undefined;
        const dagsConfigMap =
            config.dags.source === "local"
                ? new k8s.core.v1.ConfigMap(
                      `${name}-dags`,
                      {
                          metadata: { name: `${name}-dags`, namespace: args.namespace, labels: labels({ name: "airflow", instance: name, component: "dags", version }) },
                          data: dagConfigMapData(dagFiles ?? {}),
                      },
                      { parent: this },
                  )
                : undefined;
        const dags = dagSource({ config: config.dags, configMapName: dagsConfigMap?.metadata.name, files: dagFiles, gitPassword: args.gitPassword });

        const authSecret = new k8s.core.v1.Secret(
            `${name}-auth`,
            {
                metadata: { name: `${name}-auth`, namespace: args.namespace, labels: labels({ name: "airflow", instance: name, component: "auth", version }) },
                type: "Opaque",
                stringData: { "passwords.json": pulumi.output(args.adminPassword).apply((pw) => JSON.stringify({ [config.adminUser]: pw })) },
            },
            { parent: this },
        );

        const envs = pulumi
            .all({
                namespace: args.namespace,
                dbHost: args.database.host,
                dbName: args.database.database,
                dbUser: args.database.user,
                pHost: args.pipelineDatabase.host,
                pName: args.pipelineDatabase.database,
                pUser: args.pipelineDatabase.user,
                redisHost: args.redis.host,
                s3Endpoint: args.logs.s3Endpoint,
                bucket: args.logs.bucket,
                pipelineEnv: pulumi.output(args.pipelineEnv),
                taskEnv: pulumi.output(args.taskEnv ?? {}),
                statsdHost: args.statsd?.host ?? "",
            })
            .apply((raw) => {
                // pulumi.all() cannot type a record of mixed inputs; every field here is a string.
                const v = raw as unknown as Record<"namespace" | "dbHost" | "dbName" | "dbUser" | "pHost" | "pName" | "pUser" | "redisHost" | "s3Endpoint" | "bucket" | "statsdHost", string> & {
                    pipelineEnv: Record<string, string>;
                    taskEnv: Record<string, string>;
                };
                const envOf = (runsTasks: boolean) => airflowEnv({
                    namespace: v.namespace,
                    apiServiceName,
                    dagsFolder: dags.dagsFolder,
                    adminUser: config.adminUser,
                    workerConcurrency: config.workers.concurrency,
                    db: { host: v.dbHost, port: args.database.port, database: v.dbName, user: v.dbUser, password: args.database.password },
                    pipelineDb: { host: v.pHost, port: args.pipelineDatabase.port, database: v.pName, user: v.pUser, password: args.pipelineDatabase.password },
                    redis: { host: v.redisHost, port: args.redis.port, password: args.redis.password },
                    keys: args.keys,
                    logs: { s3Endpoint: v.s3Endpoint, bucket: v.bucket, accessKey: args.logs.accessKey, secretKey: args.logs.secretKey },
                    pipelineEnv: v.pipelineEnv,
                    taskEnv: v.taskEnv,
                    pipelineSecrets: args.pipelineSecrets,
                    runsTasks,
                    statsd: args.statsd ? { host: v.statsdHost, port: args.statsd.port } : undefined,
                });
                return { env: envOf(false), workerEnv: envOf(true) };
            });
        const env = envs.env;
        const workerEnv = envs.workerEnv;

        const podAnnotations = { "mlops.dev/credentials-checksum": args.credentialsChecksum };
        // SimpleAuthManager opens its passwords file for appending (it adds a generated password for
        // any user the file lacks), so a read-only Secret mount crashes the api-server at start
        // (found on the real node). An init container copies the Secret into a pod-private
        // emptyDir; only the api-server, the one process that reads it, gets either.
        const authSecretVolume = { name: "auth-secret", secret: { secretName: authSecret.metadata.name } };
        const authVolume = { name: "auth", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } };
        const authMount = { name: "auth", mountPath: AUTH_DIR };
        const authCopy = container({
            name: "auth-file",
            image: args.image ?? config.image,
            resources: AUTH_COPY_RESOURCES,
            command: ["cp", `${AUTH_SECRET_DIR}/passwords.json`, `${AUTH_DIR}/passwords.json`],
            volumeMounts: [
                { name: "auth-secret", mountPath: AUTH_SECRET_DIR, readOnly: true },
                { name: "auth", mountPath: AUTH_DIR },
            ],
        });
        const tmpVolume = { name: "tmp", emptyDir: {} };
        const tmpMount = { name: "tmp", mountPath: "/tmp" };

        const migrateLabels = { name: "airflow", instance: name, component: "migrate", version };
        this.migrateJob = new k8s.batch.v1.Job(
            `${name}-migrate`,
            {
                // Auto-named: a new image replaces the Job, so each upgrade migrates exactly once,
                // before any Airflow process of that version starts.
                metadata: { namespace: args.namespace, labels: labels(migrateLabels) },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 1200,
                    template: {
                        metadata: { labels: labels(migrateLabels), annotations: podAnnotations },
                        spec: podSpec({
                            runAs: RUN_AS,
                            restartPolicy: "Never",
                            initContainers: args.beforeMigration?.initContainers,
                            containers: [
                                container({
                                    name: "migrate",
                                    image: args.image ?? config.image,
                                    resources: config.migrateJob.resources,
                                    command: ["airflow", "db", "migrate"],
                                    env,
                                    volumeMounts: [tmpMount],
                                }),
                            ],
                            volumes: [tmpVolume, ...(args.beforeMigration?.volumes ?? [])],
                        }),
                    },
                },
            },
            { parent: this },
        );

        if (args.metadataRetention) {
            const retention = args.metadataRetention;
            this.dbCleanCronJob = maintenanceCronJob(
                `${name}-db-clean`,
                {
                    namespace: args.namespace,
                    labels: { name: "airflow", instance: name, component: "db-clean", version },
                    schedule: retention.schedule,
                    annotations: podAnnotations,
                    pod: {
                        runAs: RUN_AS,
                        containers: [
                            container({
                                name: "db-clean",
                                image: args.image ?? config.image,
                                resources: retention.resources,
                                // The cut-off is computed when the Job runs; --skip-archive: no
                                // _airflow_deleted__* copies, or the space would never come back.
                                command: ["bash", "-c", dbCleanScript()],
                                env: pulumi.output(env).apply((e) => [...e, { name: "AIRFLOW_RETENTION_DAYS", value: String(retention.days) }]),
                                volumeMounts: [tmpMount],
                            }),
                        ],
                        volumes: [tmpVolume],
                    },
                },
                // Never before the schema exists.
                { parent: this, dependsOn: [this.migrateJob] },
            );
        }

        const resourcesOf: Record<AirflowProcess, Resources> = {
            "api-server": config.apiServer.resources,
            scheduler: config.scheduler.resources,
            "dag-processor": config.dagProcessor.resources,
            triggerer: config.triggerer.resources,
            worker: config.workers.resources,
        };
        const deployments = {} as Record<AirflowProcess, k8s.apps.v1.Deployment>;
        for (const process of Object.keys(PROCESSES) as AirflowProcess[]) {
            const needsDags = PROCESSES[process].dags;
            const readsAuth = process === "api-server";
            const processLabels = { name: "airflow", instance: name, component: process, version };
            const spec = processSpec(process, 1);
            deployments[process] = new k8s.apps.v1.Deployment(
                `${name}-${process}`,
                {
                    metadata: { name: `${name}-${process}`, namespace: args.namespace, labels: labels(processLabels) },
                    spec: {
                        replicas: process === "worker" ? config.workers.replicas : 1,
                        selector: { matchLabels: selectorLabels(processLabels) },
                        template: {
                            metadata: {
                                labels: labels(processLabels),
                                annotations: {
                                    ...podAnnotations,
                                    // The api-server reads a running task's log from its worker's log
                                    // server, by pod IP (no Service): declared for the NetworkPolicies.
                                    ...(process === "worker"
                                        ? { [CLIENTS_ANNOTATION]: JSON.stringify([{ podLabels: selectorLabels({ name: "airflow", instance: name, component: "api-server" }), port: WORKER_LOG_PORT }]) }
                                        : {}),
                                },
                            },
                            spec: podSpec({
                                runAs: RUN_AS,
                                // Workers finish running tasks on SIGTERM; give them time.
                                terminationGracePeriodSeconds: process === "worker" ? 600 : 60,
                                containers: [
                                    container({
                                        name: process,
                                        image: args.image ?? config.image,
                                        resources: resourcesOf[process],
                                        ...spec,
                                        env: process === "worker" ? workerEnv : env,
                                        volumeMounts: [...(readsAuth ? [authMount] : []), tmpMount, ...(needsDags ? [dags.mount] : [])],
                                    }),
                                    ...(needsDags ? dags.sidecars : []),
                                ],
                                ...(readsAuth ? { initContainers: [authCopy] } : {}),
                                volumes: [...(readsAuth ? [authSecretVolume, authVolume] : []), tmpVolume, ...(needsDags ? dags.volumes : [])],
                            }),
                        },
                    },
                },
                // Every process waits for the schema; the graph, not an init-container loop, orders it.
                { parent: this, dependsOn: [this.migrateJob] },
            );
        }
        this.deployments = deployments;

        const service = new k8s.core.v1.Service(
            apiServiceName,
            {
                metadata: { name: apiServiceName, namespace: args.namespace, labels: labels({ name: "airflow", instance: name, component: "api-server", version }) },
                spec: {
                    type: "ClusterIP",
                    selector: selectorLabels({ name: "airflow", instance: name, component: "api-server" }),
                    ports: [{ name: "http", port: AIRFLOW_API_PORT, targetPort: "http" }],
                },
            },
            { parent: this },
        );
        this.serviceName = service.metadata.name;
        this.url = pulumi
            .all([service.metadata.name, service.metadata.namespace, deployments["api-server"].metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${AIRFLOW_API_PORT}`);
        this.registerOutputs({ url: this.url });
    }
}
