// Wiring only: config, provider, namespace, components, exports. Order comes from the
// resource graph (outputs passed as inputs), never from the order of these lines.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig, loadSecrets } from "./config";
import { gitRefWarning } from "./config/airflow";
import { Airflow, AIRFLOW_API_PORT } from "./components/airflow";
import { Backups, BackupTarget, preMigrationBackup } from "./components/backup";
import { DAGS_MOUNT, DagFiles, readDagFiles } from "./components/airflow-dags";
import { DataApi, DATA_API_SERVICE_PORT } from "./components/data-api";
import { Grafana, GRAFANA_PORT, readDashboards } from "./components/grafana";
import { PlatformImages } from "./components/images";
import { ingressHost, ingressUrl, PlatformIngress } from "./components/ingress";
import { Prometheus, PROMETHEUS_PORT, readRuleFiles } from "./components/prometheus";
import { Mlflow, MLFLOW_PORT } from "./components/mlflow";
import { ModelApi, MODEL_API_PORT } from "./components/model-api";
import { Ui, UI_PORT } from "./components/ui";
import { Minio, MINIO_API_PORT, MINIO_CONSOLE_PORT } from "./components/minio";
import { NetworkPolicies, Wiring } from "./components/network-policies";
import { PlatformSecrets } from "./components/platform-secrets";
import { Postgres, POSTGRES_PORT } from "./components/postgres";
import { Redis, REDIS_PORT } from "./components/redis";
import { readMapping, StatsdExporter } from "./components/statsd-exporter";
import { imageTag, namespaceLabels } from "./components/shared";

const config = loadConfig();
const secretConfig = loadSecrets();
const refWarning = gitRefWarning(config.airflow.dags, pulumi.getStack());
if (refWarning) pulumi.log.warn(refWarning);

const provider = new k8s.Provider("k8s", {
    context: config.kubeContext,
    // Objects are applied server-side so a re-run after a retained namespace upserts.
    enableServerSideApply: true,
});

const namespace = new k8s.core.v1.Namespace(
    "namespace",
    { metadata: { name: config.namespace, labels: namespaceLabels() } },
    // With protectData the namespace (and the PVCs in it) outlives a destroy: protected, so
    // `npm run destroy` (--exclude-protected) keeps it, and a bare `pulumi destroy` stops at it.
    { provider, retainOnDelete: config.protectData, protect: config.protectData },
);
const ns = namespace.metadata.name;
// Records what every component creates; the NetworkPolicies at the end derive the allowed
// flows from it (who was handed whose Service name), not from a list kept by hand.
const wiring = new Wiring();
const providers = { kubernetes: provider };
const opts: pulumi.ComponentResourceOptions = { providers, transformations: [wiring.transformation] };

// mlflow_auth: the store of MLflow's auth app (users, permissions), which cannot share `mlflow`.
const DATABASES = ["airflow", "mlflow", "mlflow_auth", "mlops"] as const;
// Login roles in `mlops` for the two HTTP services, with only what their code runs (the Airflow
// pipeline stays the owner: it migrates its own tables). See components/postgres.ts RoleSpec.
const SERVICE_ROLES = [
    { name: "model_api", database: "mlops" },
    { name: "data_api", database: "mlops" },
] as const;
const MINIO_USERS = ["mlflow", "airflow-logs", "backup"] as const;
// One MLflow login per client (components/mlflow.ts sets them up); names stay, passwords rotate.
const MLFLOW_CLIENTS = ["airflow", "model-api", "ui", "prometheus", "gc"] as const;
/** The key of the login Prometheus scrapes MLflow's /metrics with. */
const MLFLOW_SCRAPE = "mlflow";

// Built from the repository's Dockerfiles when images.build is on; otherwise the references.
const images = new PlatformImages("images", {
    config: config.images,
    context: __dirname,
    registryPassword: secretConfig.registryPassword,
    images: {
        mlflow: { ref: config.mlflow.image, dockerfile: "services/mlflow/Dockerfile" },
        airflow: { ref: config.airflow.image, dockerfile: "services/airflow/Dockerfile" },
        "model-api": { ref: config.modelApi.image, dockerfile: "services/model-api/Dockerfile" },
        "data-api": { ref: config.dataApi.image, dockerfile: "services/data-api/Dockerfile" },
        ui: { ref: config.ui.image, dockerfile: "services/ui/Dockerfile" },
    },
});

const secrets = new PlatformSecrets(
    "credentials",
    {
        namespace: ns,
        epoch: config.credentialsEpoch,
        protectData: config.protectData,
        secrets: {
            // The superuser logs the setup Job in, so it cannot rotate through that Job; and its
            // password lives in the data directory, so a retained volume needs the same one.
            "postgres-superuser": { password: { rotate: false, boundToData: true } },
            "postgres-roles": Object.fromEntries(DATABASES.map((db) => [db, {}])),
            "postgres-service-roles": Object.fromEntries(SERVICE_ROLES.map((r) => [r.name, {}])),
            "redis-credentials": { password: {} },
            // MLflow's admin: the auth setup step sets its password at every start of the server,
            // so it rotates like the others.
            "mlflow-auth": { "admin-password": {}, "flask-secret-key": { kind: "hex", length: 32 } },
            ...Object.fromEntries(MLFLOW_CLIENTS.map((u) => [`mlflow-user-${u}`, { password: {} }])),
            "minio-credentials": { "root-user": { kind: "username" }, "root-password": {} },
            // One MinIO user per client, each limited to its buckets (the bucket Job creates them);
            // only that Job holds the root credentials. The user names stay, the secrets rotate.
            ...Object.fromEntries(MINIO_USERS.map((u) => [`minio-${u}`, { "access-key": { kind: "username", rotate: false }, "secret-key": {} }])),
            "airflow-credentials": {
                "admin-password": {},
                // Encrypts Connections and Variables in the metadata database: a new key would
                // leave them unreadable, so it neither rotates with the epoch nor dies with a
                // protected destroy.
                "fernet-key": { kind: "fernet", rotate: false, boundToData: true },
                "jwt-secret": { kind: "hex", length: 32 },
                "api-secret-key": { kind: "hex", length: 32 },
            },
            ...(config.grafana.enabled ? { "grafana-credentials": { "admin-password": {} } } : {}),
            // POST /hooks/model_update: the model API requires it, the train DAG sends it.
            "model-api-hook": { token: { kind: "hex", length: 32 } },
            // The data API's /restart_data_generation: only who holds it can rewind the batches.
            "data-api-restart": { token: { kind: "hex", length: 32 } },
        },
    },
    opts,
);

const postgres = new Postgres(
    "postgres",
    {
        namespace: ns,
        config: config.postgres,
        storageClass: config.storageClass,
        superuserPassword: secrets.ref("postgres-superuser", "password"),
        databases: DATABASES.map((db) => ({ name: db, password: secrets.ref("postgres-roles", db) })),
        roles: SERVICE_ROLES.map((r) => ({ ...r, password: secrets.ref("postgres-service-roles", r.name) })),
        credentialsChecksum: secrets.checksum("postgres-roles", "postgres-service-roles"),
    },
    opts,
);

const redis = new Redis(
    "redis",
    {
        namespace: ns,
        config: config.redis,
        storageClass: config.storageClass,
        password: secrets.ref("redis-credentials", "password"),
        credentialsChecksum: secrets.checksum("redis-credentials"),
    },
    opts,
);

const minioUser = (u: (typeof MINIO_USERS)[number]) => ({ accessKey: secrets.ref(`minio-${u}`, "access-key"), secretKey: secrets.ref(`minio-${u}`, "secret-key") });

const minio = new Minio(
    "minio",
    {
        namespace: ns,
        config: config.minio,
        storageClass: config.storageClass,
        rootUser: secrets.ref("minio-credentials", "root-user"),
        rootPassword: secrets.ref("minio-credentials", "root-password"),
        buckets: ["mlflow", "airflow-logs", "backups"],
        expiryDays: { "airflow-logs": config.retention.airflowLogDays, backups: config.backup.keepDays },
        // Artifacts MLflow deletes (mlflow gc) or overwrites stay recoverable for a while.
        versionedDays: { mlflow: config.backup.artifactVersionDays },
        credentialsChecksum: secrets.checksum("minio-credentials"),
        users: {
            // The artifact proxy: reads, writes and (mlflow gc) deletes model artifacts.
            mlflow: { ...minioUser("mlflow"), buckets: { mlflow: "readwrite" } },
            // Airflow's remote task logs.
            "airflow-logs": { ...minioUser("airflow-logs"), buckets: { "airflow-logs": "readwrite" } },
            // Backups copy the artifacts into `backups`; a restore copies them back.
            backup: { ...minioUser("backup"), buckets: { mlflow: "readwrite", backups: "readwrite" } },
        },
        usersChecksum: pulumi.all(MINIO_USERS.map((u) => secrets.checksum(`minio-${u}`))).apply((cs) => cs.join(",")),
    },
    opts,
);

// Backups go to MinIO's `backups` bucket (components/backup.ts; `npm run backup`, `npm run restore`).
const backupTarget: BackupTarget = {
    namespace: ns,
    config: config.backup,
    postgresImage: config.postgres.image,
    postgresHost: postgres.host,
    clientImage: config.minio.clientImage,
    minioHost: minio.host,
    minioUser: secrets.ref("minio-backup", "access-key"),
    minioPassword: secrets.ref("minio-backup", "secret-key"),
    bucket: minio.buckets.backups!,
    // What `npm run restore` compares: a backup restores into the versions that wrote it.
    versions: { postgres: imageTag(config.postgres.image), mlflow: imageTag(config.mlflow.image), airflow: imageTag(config.airflow.image) },
};
const ownerOf = (db: (typeof DATABASES)[number]) => ({ name: db, user: db, password: secrets.ref("postgres-roles", db) });
const mlflowLogin = (u: (typeof MLFLOW_CLIENTS)[number]) => ({ username: u, password: secrets.ref(`mlflow-user-${u}`, "password") });
const mlflowLoginChecksum = (u: (typeof MLFLOW_CLIENTS)[number]) => secrets.checksum(`mlflow-user-${u}`);
// The train DAG's experiment and registered model are both named after the served model.
const modelName = config.modelApi.modelName;

const mlflow = new Mlflow(
    "mlflow",
    {
        namespace: ns,
        // Behind an Ingress, MLflow must accept its public host (it refuses unknown Host headers).
        config: { ...config.mlflow, extraAllowedHosts: [...config.mlflow.extraAllowedHosts, ...[ingressHost(config.ingress, "mlflow")].filter((h) => h !== undefined)] },
        image: images.ref("mlflow"),
        database: postgres.databases.mlflow!,
        s3Endpoint: minio.endpoint,
        bucket: minio.buckets.mlflow!,
        s3AccessKey: secrets.ref("minio-mlflow", "access-key"),
        s3SecretKey: secrets.ref("minio-mlflow", "secret-key"),
        auth: {
            database: postgres.databases.mlflow_auth!,
            admin: { username: config.mlflow.adminUser, password: secrets.ref("mlflow-auth", "admin-password") },
            flaskSecretKey: secrets.ref("mlflow-auth", "flask-secret-key"),
            registeredModels: [modelName],
            users: [
                // The train DAG: runs, artifacts and logged models in the experiment (which it creates,
                // and so manages, on a new install), versions of the registered model and its alias.
                { ...mlflowLogin("airflow"), experiments: { [modelName]: "EDIT" }, registeredModels: { [modelName]: "EDIT" } },
                // Readers: the default permission (READ) is all they need.
                mlflowLogin("model-api"),
                mlflowLogin("ui"),
                // Scrapes /metrics.
                mlflowLogin("prometheus"),
            ],
            metricsScrapeAuth: MLFLOW_SCRAPE,
        },
        credentialsChecksum: pulumi
            .all([secrets.checksum("postgres-roles"), secrets.checksum("minio-mlflow"), secrets.checksum("mlflow-auth"), ...MLFLOW_CLIENTS.map(mlflowLoginChecksum)])
            .apply((cs) => cs.join(",")),
        deletedRunRetention: {
            schedule: config.retention.schedule,
            days: config.retention.mlflowDeletedRunDays,
            resources: config.retention.jobResources,
            login: mlflowLogin("gc"),
        },
        beforeMigration: preMigrationBackup(backupTarget, ownerOf("mlflow")),
    },
    opts,
);

// The owner's password (migrate init containers, prune) and the services' own.
const mlopsCredentials = secrets.checksum("postgres-roles", "postgres-service-roles");

const modelApi = new ModelApi(
    "model-api",
    {
        namespace: ns,
        config: config.modelApi,
        image: images.ref("model-api"),
        mlflowTrackingUri: mlflow.trackingUri,
        mlflowLogin: mlflowLogin("model-api"),
        database: postgres.roles.model_api!,
        owner: postgres.databases.mlops!,
        credentialsChecksum: pulumi.all([mlopsCredentials, secrets.checksum("model-api-hook"), mlflowLoginChecksum("model-api")]).apply((cs) => cs.join(",")),
        hookToken: secrets.ref("model-api-hook", "token"),
        inferenceLogRetention: { schedule: config.retention.schedule, days: config.retention.inferenceLogDays, resources: config.retention.jobResources },
    },
    opts,
);

const dataApi = new DataApi(
    "data-api",
    {
        namespace: ns,
        config: config.dataApi,
        image: images.ref("data-api"),
        database: postgres.roles.data_api!,
        owner: postgres.databases.mlops!,
        credentialsChecksum: pulumi.all([mlopsCredentials, secrets.checksum("data-api-restart")]).apply((cs) => cs.join(",")),
        restartToken: secrets.ref("data-api-restart", "token"),
    },
    opts,
);

const ui = new Ui(
    "ui",
    {
        namespace: ns,
        config: config.ui,
        image: images.ref("ui"),
        modelApiUrl: modelApi.url,
        mlflowUrl: mlflow.trackingUri,
        mlflowLogin: mlflowLogin("ui"),
        credentialsChecksum: mlflowLoginChecksum("ui"),
        dataApiUrl: dataApi.url,
    },
    opts,
);

const prometheus = new Prometheus(
    "prometheus",
    {
        namespace: ns,
        config: config.prometheus,
        storageClass: config.storageClass,
        ruleFiles: readRuleFiles(path.join(__dirname, "config", "monitoring")),
        // MLflow's /metrics asks for a login, like every route of its auth app but /health.
        basicAuthScrapes: { [MLFLOW_SCRAPE]: mlflowLogin("prometheus") },
    },
    opts,
);

// Airflow's StatsD metrics (DAG runs, tasks, the train DAG's gauge) reach Prometheus through it.
const statsdExporter = new StatsdExporter(
    "statsd-exporter",
    { namespace: ns, config: config.statsdExporter, mapping: readMapping(path.join(__dirname, "config", "monitoring", "statsd", "mapping.yml")) },
    opts,
);

const grafana = config.grafana.enabled
    ? new Grafana(
          "grafana",
          {
              namespace: ns,
              config: config.grafana,
              adminPassword: secrets.ref("grafana-credentials", "admin-password"),
              credentialsChecksum: secrets.checksum("grafana-credentials"),
              prometheusUrl: prometheus.url,
              prometheusScrapeInterval: config.prometheus.scrapeInterval,
              dashboards: readDashboards(path.join(__dirname, "config", "monitoring", "dashboards")),
              rootUrl: ingressHost(config.ingress, "grafana") ? ingressUrl(config.ingress, "grafana") : undefined,
          },
          opts,
      )
    : undefined;

/** Where the local DAG source puts the shared listing contract the DAGs read (config/listing.json, feature spec). */
const LOCAL_CONFIG_DIR = "_platform_config";

function localDagFiles(): DagFiles {
    const files: Record<string, string> = { ...readDagFiles(path.join(__dirname, "dags")) };
    for (const name of ["listing.json", "feature-spec.example.json"]) {
        files[`${LOCAL_CONFIG_DIR}/${name}`] = fs.readFileSync(path.join(__dirname, "config", name), "utf8");
    }
    return files;
}

const gitSyncSecret = secretConfig.gitSyncPassword
    ? new k8s.core.v1.Secret(
          "git-sync",
          { metadata: { name: "git-sync", namespace: ns }, type: "Opaque", stringData: { password: secretConfig.gitSyncPassword } },
          { provider },
      )
    : undefined;

const airflow = new Airflow(
    "airflow",
    {
        namespace: ns,
        config: config.airflow,
        image: images.ref("airflow"),
        database: postgres.databases.airflow!,
        pipelineDatabase: postgres.databases.mlops!,
        redis: { host: redis.host, port: REDIS_PORT, password: redis.password },
        keys: {
            fernetKey: secrets.ref("airflow-credentials", "fernet-key"),
            jwtSecret: secrets.ref("airflow-credentials", "jwt-secret"),
            apiSecretKey: secrets.ref("airflow-credentials", "api-secret-key"),
        },
        adminPassword: secrets.value("airflow-credentials", "admin-password"),
        logs: {
            s3Endpoint: minio.endpoint,
            bucket: minio.buckets["airflow-logs"]!,
            accessKey: secrets.ref("minio-airflow-logs", "access-key"),
            secretKey: secrets.ref("minio-airflow-logs", "secret-key"),
        },
        pipelineEnv: {
            // With git-sync the DAGs find config/ next to dags/ in the repository; the local
            // source ships the two files inside the DAG ConfigMap (see localDagFiles).
            ...(config.airflow.dags.source === "local" ? { MLOPS_CONFIG_DIR: `${DAGS_MOUNT}/${LOCAL_CONFIG_DIR}` } : {}),
        },
        // Only the Celery workers run tasks, so only they get the endpoints tasks call.
        taskEnv: {
            MLFLOW_TRACKING_URI: mlflow.trackingUri,
            MLFLOW_TRACKING_USERNAME: mlflowLogin("airflow").username,
            // The experiment and registered model the airflow login may write (see the Mlflow auth args).
            MLOPS_MODEL_NAME: modelName,
            MODEL_API_URL: modelApi.url,
            DATA_API_URL: dataApi.url,
        },
        pipelineSecrets: { MODEL_API_HOOK_TOKEN: secrets.ref("model-api-hook", "token"), MLFLOW_TRACKING_PASSWORD: mlflowLogin("airflow").password },
        dagFiles: config.airflow.dags.source === "local" ? localDagFiles() : undefined,
        gitPassword: gitSyncSecret ? { name: gitSyncSecret.metadata.name, key: "password" } : undefined,
        credentialsChecksum: pulumi
            .all([
                secrets.checksum("postgres-roles"),
                secrets.checksum("redis-credentials"),
                secrets.checksum("minio-airflow-logs"),
                secrets.checksum("airflow-credentials"),
                secrets.checksum("model-api-hook"),
                mlflowLoginChecksum("airflow"),
            ])
            .apply((cs) => cs.join(",")),
        statsd: { host: statsdExporter.host, port: statsdExporter.port },
        metadataRetention: { schedule: config.retention.schedule, days: config.retention.airflowMetadataDays, resources: config.retention.jobResources },
        beforeMigration: preMigrationBackup(backupTarget, ownerOf("airflow")),
    },
    opts,
);

new Backups(
    "backups",
    {
        ...backupTarget,
        superuser: { name: "postgres", user: "postgres", password: secrets.ref("postgres-superuser", "password") },
        databases: DATABASES.map(ownerOf),
        roles: SERVICE_ROLES,
        artifactBucket: minio.buckets.mlflow!,
    },
    opts,
);

// Off in dev: the UIs are reached with the portForwards output.
const ingress = config.ingress.enabled
    ? new PlatformIngress(
          "ingress",
          {
              namespace: ns,
              config: config.ingress,
              backends: {
                  airflow: { serviceName: airflow.serviceName, port: AIRFLOW_API_PORT },
                  mlflow: { serviceName: mlflow.serviceName, port: MLFLOW_PORT },
                  minioConsole: { serviceName: minio.serviceName, port: MINIO_CONSOLE_PORT },
                  // Not Ready before the first promoted model, like its Deployment.
                  modelApi: { serviceName: modelApi.serviceName, port: MODEL_API_PORT, skipAwait: true },
                  ui: { serviceName: ui.serviceName, port: UI_PORT },
                  prometheus: { serviceName: prometheus.serviceName, port: PROMETHEUS_PORT },
                  ...(grafana ? { grafana: { serviceName: grafana.serviceName, port: GRAFANA_PORT } } : {}),
              },
          },
          opts,
      )
    : undefined;

// Default-deny ingress for the namespace plus the flows derived from the wiring above.
const networkPolicies = config.network.policies
    ? new NetworkPolicies(
          "network",
          {
              namespace: ns,
              wiring,
              scrapers: prometheus.statefulSet.spec.selector.matchLabels,
              config: config.network,
              ingressEnabled: config.ingress.enabled,
          },
          { providers },
      )
    : undefined;

function portForward(service: pulumi.Input<string>, local: number, remote: number): pulumi.Output<string> {
    return pulumi.interpolate`kubectl -n ${ns} port-forward svc/${service} ${local}:${remote}`;
}

export const namespaceName = ns;
export const endpoints = {
    postgres: pulumi.interpolate`${postgres.host}:${POSTGRES_PORT}`,
    redis: pulumi.interpolate`${redis.host}:${REDIS_PORT}`,
    minio: minio.endpoint,
    mlflow: mlflow.trackingUri,
    airflow: airflow.url,
    modelApi: modelApi.url,
    dataApi: dataApi.url,
    ui: ui.url,
    prometheus: prometheus.url,
    grafana: grafana?.url,
};
export const portForwards = {
    postgres: portForward(postgres.serviceName, POSTGRES_PORT, POSTGRES_PORT),
    minioConsole: portForward(minio.serviceName, MINIO_CONSOLE_PORT, MINIO_CONSOLE_PORT),
    minioApi: portForward(minio.serviceName, MINIO_API_PORT, MINIO_API_PORT),
    mlflow: portForward(mlflow.serviceName, MLFLOW_PORT, MLFLOW_PORT),
    airflow: portForward(airflow.serviceName, AIRFLOW_API_PORT, AIRFLOW_API_PORT),
    modelApi: portForward(modelApi.serviceName, MODEL_API_PORT, MODEL_API_PORT),
    dataApi: portForward(dataApi.serviceName, 8000, DATA_API_SERVICE_PORT),
    ui: portForward(ui.serviceName, UI_PORT, UI_PORT),
    prometheus: portForward(prometheus.serviceName, PROMETHEUS_PORT, PROMETHEUS_PORT),
    grafana: grafana ? portForward(grafana.serviceName, GRAFANA_PORT, GRAFANA_PORT) : undefined,
};
/** Every connection the NetworkPolicies admit: `<client pods> -> <server pods> <port>/<protocol>`. */
export const networkFlows = networkPolicies?.flows;
/** Public URL per UI when `ingress.enabled`: the hosts of `ingress.hosts`. */
export const ingressUrls = ingress?.urls;
// Shown only with `pulumi stack output --show-secrets`.
export const credentials = {
    minioConsole: { user: secrets.value("minio-credentials", "root-user"), password: secrets.value("minio-credentials", "root-password") },
    postgresSuperuser: { user: "postgres", password: secrets.value("postgres-superuser", "password") },
    airflowAdmin: { user: config.airflow.adminUser, password: secrets.value("airflow-credentials", "admin-password") },
    // MLflow's UI and API (its auth app): every permission, and user management.
    mlflowAdmin: { user: config.mlflow.adminUser, password: secrets.value("mlflow-auth", "admin-password") },
    grafanaAdmin: config.grafana.enabled ? { user: config.grafana.adminUser, password: secrets.value("grafana-credentials", "admin-password") } : undefined,
};
