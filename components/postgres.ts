import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresConfig } from "../config/postgres";
import { container, DATA_VOLUME, dataStore, execProbe, imageTag, labels, plainEnv, podSpec, secretEnv, SecretKeyRef } from "./shared";

/** One application database and the role that owns it. */
export interface DatabaseSpec {
    /** Database name; the owning role has the same name. */
    readonly name: string;
    /** Where the role's generated password lives. */
    readonly password: SecretKeyRef;
}

export interface PostgresArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: PostgresConfig;
    /** StorageClass of the data volume unless `config.storage.storageClass` overrides it. */
    readonly storageClass: string;
    /** Superuser password; used by the server's first start and by the setup Job. */
    readonly superuserPassword: SecretKeyRef;
    /** Databases to create, one owning role each. */
    readonly databases: readonly DatabaseSpec[];
    /**
     * Changes whenever a role password changes; it is written into the setup Job's pod
     * template so a rotation replaces (and so re-runs) the Job.
     */
    readonly credentialsChecksum: pulumi.Input<string>;
}

/** Connection details of one database, for consumers. */
export interface DatabaseConnection {
    /** Service DNS name; resolves only once the setup Job has completed, so consumers are ordered after it. */
    readonly host: pulumi.Output<string>;
    readonly port: number;
    readonly database: pulumi.Output<string>;
    readonly user: pulumi.Output<string>;
    readonly password: SecretKeyRef;
}

export const POSTGRES_PORT = 5432;
const RUN_AS = { user: 999, group: 999 }; // the `postgres` user of the official image
const DATA_DIR = "/var/lib/postgresql/data";

/** Environment variable that carries a role's password into the setup Job. */
export function passwordEnvName(database: string): string {
    return `${database.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_PASSWORD`;
}

/**
 * The setup script the Job runs: creates each role and database if missing and (re)sets
 * the role's password every time, so re-runs are no-ops and rotations take effect.
 * Passwords travel as psql variables (`:'var'` quotes them), never spliced into SQL, and are
 * read from the environment by psql itself (`\getenv`, psql 15+), never put on a command line
 * where any process of the pod could read them in /proc.
 */
export function renderSetupScript(databases: readonly string[]): string {
    for (const db of databases) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) {
            throw new Error(`database name '${db}' must match [a-z_][a-z0-9_]* (at most 63 characters)`);
        }
    }
    const getenv = databases.map((db) => `\\getenv ${db}_password ${passwordEnvName(db)}`);
    const sql = databases
        .map((db) =>
            [
                `SELECT format('CREATE ROLE %I LOGIN', '${db}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${db}')\\gexec`,
                `ALTER ROLE ${db} WITH LOGIN PASSWORD :'${db}_password';`,
                `SELECT format('CREATE DATABASE %I OWNER %I', '${db}', '${db}') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${db}')\\gexec`,
                `ALTER DATABASE ${db} OWNER TO ${db};`,
                `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
                `GRANT ALL PRIVILEGES ON DATABASE ${db} TO ${db};`,
            ].join("\n"),
        )
        .join("\n");
    return [
        "set -eu",
        // The StatefulSet is Ready before this Job starts (graph order); the loop only
        // absorbs Service endpoint propagation, bounded to one minute.
        'for i in $(seq 1 30); do pg_isready -q && break; echo "waiting for $PGHOST ($i)"; sleep 2; done',
        `psql -v ON_ERROR_STOP=1 --no-psqlrc <<'SQL'`,
        ...getenv,
        sql,
        "SQL",
        `echo "databases ready: ${databases.join(", ")}"`,
    ].join("\n");
}

/**
 * PostgreSQL as a single-replica StatefulSet with a PVC, a Service, and a setup Job that
 * creates one database and owning role per consumer, idempotently.
 */
export class Postgres extends pulumi.ComponentResource {
    /** In-cluster Service DNS name (depends on the setup Job). */
    public readonly host: pulumi.Output<string>;
    public readonly port = POSTGRES_PORT;
    /** Connection details per database, each resolving after the setup Job completed. */
    public readonly databases: Readonly<Record<string, DatabaseConnection>>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly setupJob: k8s.batch.v1.Job;

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Postgres", name, {}, opts);
        if (args.databases.length === 0) {
            throw new Error("'databases' must list at least one database");
        }
        const { config } = args;
        const version = imageTag(config.image);
        const serverLabels = { name: "postgres", instance: name, component: "server", version };

        const isReady = ["pg_isready", "-U", "postgres", "-h", "127.0.0.1", "-p", String(POSTGRES_PORT)];
        const store = dataStore(
            name,
            {
                namespace: args.namespace,
                labels: serverLabels,
                ports: [{ name: "postgres", port: POSTGRES_PORT, targetPort: "postgres" }],
                volume: { configPath: "postgres.storage", size: config.storage.size, storageClass: config.storage.storageClass ?? args.storageClass },
                podSpec: podSpec({
                    runAs: RUN_AS,
                    terminationGracePeriodSeconds: 60,
                    containers: [
                        container({
                            name: "postgres",
                            image: config.image,
                            resources: config.resources,
                            ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
                            env: [
                                plainEnv("POSTGRES_USER", "postgres"),
                                secretEnv("POSTGRES_PASSWORD", args.superuserPassword),
                                // A subdirectory, so initdb never meets the volume's lost+found.
                                plainEnv("PGDATA", `${DATA_DIR}/pgdata`),
                            ],
                            readinessProbe: execProbe("readiness", isReady),
                            livenessProbe: execProbe("liveness", isReady),
                            volumeMounts: [
                                { name: DATA_VOLUME, mountPath: DATA_DIR },
                                { name: "shm", mountPath: "/dev/shm" },
                            ],
                        }),
                    ],
                    // Docker's 64 MiB /dev/shm is too small for parallel query workers.
                    volumes: [{ name: "shm", emptyDir: { medium: "Memory", sizeLimit: "256Mi" } }],
                }),
            },
            this,
        );
        this.statefulSet = store.statefulSet;
        const service = store.service;

        const setupLabels = { name: "postgres", instance: name, component: "setup", version };
        this.setupJob = new k8s.batch.v1.Job(
            `${name}-setup`,
            {
                // No fixed name: a changed spec replaces the Job (create-before-delete), which re-runs it.
                metadata: { namespace: args.namespace, labels: labels(setupLabels) },
                spec: {
                    backoffLimit: 6,
                    activeDeadlineSeconds: 600,
                    template: {
                        metadata: {
                            labels: labels(setupLabels),
                            annotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            restartPolicy: "Never",
                            containers: [
                                container({
                                    name: "setup",
                                    image: config.image,
                                    resources: config.jobResources,
                                    command: ["bash", "-c", renderSetupScript(args.databases.map((d) => d.name))],
                                    env: [
                                        plainEnv("PGHOST", service.metadata.name),
                                        plainEnv("PGPORT", String(POSTGRES_PORT)),
                                        plainEnv("PGUSER", "postgres"),
                                        plainEnv("PGDATABASE", "postgres"),
                                        secretEnv("PGPASSWORD", args.superuserPassword),
                                        ...args.databases.map((db) => secretEnv(passwordEnvName(db.name), db.password)),
                                    ],
                                }),
                            ],
                        }),
                    },
                },
            },
            { parent: this, dependsOn: [this.statefulSet, service] },
        );

        this.serviceName = service.metadata.name;
        // Derived from the Job's output: anything built from these waits for the databases to exist.
        this.host = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.setupJob.metadata.name])
            .apply(([svc, ns]) => `${svc}.${ns}.svc.cluster.local`);
        const databases: Record<string, DatabaseConnection> = {};
        for (const db of args.databases) {
            const database = this.setupJob.metadata.name.apply(() => db.name);
            databases[db.name] = { host: this.host, port: POSTGRES_PORT, database, user: database, password: db.password };
        }
        this.databases = databases;
        this.registerOutputs({ host: this.host, serviceName: this.serviceName });
    }
}
