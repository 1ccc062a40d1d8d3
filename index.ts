// Wiring only: config, provider, namespace, components, exports. Order comes from the
// resource graph (outputs passed as inputs), never from the order of these lines.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { Minio, MINIO_API_PORT, MINIO_CONSOLE_PORT } from "./components/minio";
import { PlatformSecrets } from "./components/platform-secrets";
import { Postgres, POSTGRES_PORT } from "./components/postgres";
import { Redis, REDIS_PORT } from "./components/redis";
import { namespaceLabels } from "./components/shared";

const config = loadConfig();

const provider = new k8s.Provider("k8s", {
    context: config.kubeContext,
    // Objects are applied server-side so a re-run after a retained namespace upserts.
    enableServerSideApply: true,
});

const namespace = new k8s.core.v1.Namespace(
    "namespace",
    { metadata: { name: config.namespace, labels: namespaceLabels() } },
    // With protectData the namespace (and the PVCs in it) outlives `pulumi destroy`.
    { provider, retainOnDelete: config.protectData },
);
const ns = namespace.metadata.name;
const opts = { providers: { kubernetes: provider } };

const DATABASES = ["airflow", "mlflow", "mlops"] as const;

const secrets = new PlatformSecrets(
    "credentials",
    {
        namespace: ns,
        epoch: config.credentialsEpoch,
        secrets: {
            // The superuser logs the setup Job in, so it cannot rotate through that Job.
            "postgres-superuser": { password: { rotate: false } },
            "postgres-roles": Object.fromEntries(DATABASES.map((db) => [db, {}])),
            "redis-credentials": { password: {} },
            "minio-credentials": { "root-user": { kind: "username" }, "root-password": {} },
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
        credentialsChecksum: secrets.checksum("postgres-roles"),
        retainData: config.protectData,
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
        retainData: config.protectData,
    },
    opts,
);

const minio = new Minio(
    "minio",
    {
        namespace: ns,
        config: config.minio,
        storageClass: config.storageClass,
        rootUser: secrets.ref("minio-credentials", "root-user"),
        rootPassword: secrets.ref("minio-credentials", "root-password"),
        buckets: ["mlflow"],
        credentialsChecksum: secrets.checksum("minio-credentials"),
        retainData: config.protectData,
    },
    opts,
);

function portForward(service: pulumi.Input<string>, local: number, remote: number): pulumi.Output<string> {
    return pulumi.interpolate`kubectl -n ${ns} port-forward svc/${service} ${local}:${remote}`;
}

export const namespaceName = ns;
export const endpoints = {
    postgres: pulumi.interpolate`${postgres.host}:${POSTGRES_PORT}`,
    redis: pulumi.interpolate`${redis.host}:${REDIS_PORT}`,
    minio: minio.endpoint,
};
export const portForwards = {
    postgres: portForward(postgres.serviceName, POSTGRES_PORT, POSTGRES_PORT),
    minioConsole: portForward(minio.serviceName, MINIO_CONSOLE_PORT, MINIO_CONSOLE_PORT),
    minioApi: portForward(minio.serviceName, MINIO_API_PORT, MINIO_API_PORT),
};
// Shown only with `pulumi stack output --show-secrets`.
export const credentials = {
    minioConsole: { user: secrets.value("minio-credentials", "root-user"), password: secrets.value("minio-credentials", "root-password") },
    postgresSuperuser: { user: "postgres", password: secrets.value("postgres-superuser", "password") },
};
