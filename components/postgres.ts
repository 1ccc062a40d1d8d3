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

/**
 * A login role with less than ownership of one database, for a service that must not hold the
 * owner's rights (an internet-facing API). The setup Job creates it, sets its password, and lets
 * it CONNECT to its database (no TEMP, no CREATE); nothing else.
 *
 * Its table privileges are not granted here but by the service's migrate step, run as the owner
 * right after the migrations (services/model-api and services/data-api, src/migrate.ts
 * `grantRuntimeRole`), every time a pod starts. Of the two usual places:
 * - a versioned migration runs once, so a grant lost later (a restore of an older dump, a role
 *   dropped and created again) would never come back, and the file would hard-code a role name
 *   the platform chooses;
 * - `ALTER DEFAULT PRIVILEGES` cannot name a table: it would grant on every table the owner
 *   creates in the schema, including the migrations' own version tables beside the data
 *   (serving.model_api_migrations, public.data_api_migrations) and any table added later.
 * The migrate step instead revokes everything the role holds in the service's schema and grants
 * exactly what the service's code runs, idempotently, so a re-run of this Job (which changes no
 * grants), a password rotation (grants belong to the role, not to its password) and a restore
 * (consumers start again afterwards) all end with the same privileges.
 */
export interface RoleSpec {
    /** Role name; must not be one of the databases (their owners have the databases' names). */
    readonly name: string;
    /** The database it may connect to. */
    readonly database: string;
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
     * Login roles that may only connect to one of the databases (see RoleSpec).
     * @default []
     */
    readonly roles?: readonly RoleSpec[];
    /**
     * Changes whenever a role password changes (owners' and `roles`'); it is written into the
     * setup Job's pod template so a rotation replaces (and so re-runs) the Job.
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

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function checkIdentifier(kind: string, name: string): void {
    if (!IDENTIFIER.test(name)) throw new Error(`${kind} name '${name}' must match [a-z_][a-z0-9_]* (at most 63 characters)`);
}

/** Which database a role may connect to, by name; what the setup and restore scripts need of a RoleSpec. */
export type RoleAccess = Pick<RoleSpec, "name" | "database">;

/**
 * Who may do what to database `database` itself, as the setup Job leaves it and a restore puts it
 * back (a restored database is a new database: `pg_restore` brings its tables' grants, not these).
 * PUBLIC loses CONNECT and TEMP, the owner has everything, and each role of `roles` for this
 * database may CONNECT, nothing more (its earlier database privileges are revoked first).
 */
export function databaseAccessSql(database: string, roles: readonly RoleAccess[] = []): string {
    checkIdentifier("database", database);
    const mine = roles.filter((r) => r.database === database).map((r) => r.name);
    mine.forEach((r) => checkIdentifier("role", r));
    return [
        `REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`,
        `GRANT ALL PRIVILEGES ON DATABASE ${database} TO ${database};`,
        ...(mine.length > 0 ? [`REVOKE ALL ON DATABASE ${database} FROM ${mine.join(", ")};`, `GRANT CONNECT ON DATABASE ${database} TO ${mine.join(", ")};`] : []),
    ].join("\n");
}

/**
 * The setup script the Job runs: creates each role and database if missing and (re)sets
 * the role's password every time, so re-runs are no-ops and rotations take effect. Then the
 * `roles` (login roles that are not owners): created if missing, password (re)set, no role
 * attribute beyond LOGIN, CONNECT to their database only.
 * Passwords travel as psql variables (`:'var'` quotes them), never spliced into SQL, and are
 * read from the environment by psql itself (`\getenv`, psql 15+), never put on a command line
 * where any process of the pod could read them in /proc.
 */
export function renderSetupScript(databases: readonly string[], roles: readonly RoleAccess[] = []): string {
    for (const db of databases) checkIdentifier("database", db);
    for (const role of roles) {
        checkIdentifier("role", role.name);
        if (databases.includes(role.name)) throw new Error(`role '${role.name}' has the name of a database, whose owner it would be`);
        if (!databases.includes(role.database)) throw new Error(`role '${role.name}' is for database '${role.database}', which is not one of ${databases.join(", ")}`);
    }
    const names = roles.map((r) => r.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0) throw new Error(`role '${twice[0]}' is listed twice`);
    const logins = [...databases, ...names];
    const getenv = logins.map((name) => `\\getenv ${name}_password ${passwordEnvName(name)}`);
    const createRole = (name: string) =>
        `SELECT format('CREATE ROLE %I LOGIN', '${name}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}')\\gexec`;
    const owners = databases.map((db) =>
        [
            createRole(db),
            `ALTER ROLE ${db} WITH LOGIN PASSWORD :'${db}_password';`,
            `SELECT format('CREATE DATABASE %I OWNER %I', '${db}', '${db}') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${db}')\\gexec`,
            `ALTER DATABASE ${db} OWNER TO ${db};`,
        ].join("\n"),
    );
    const others = roles.map((r) =>
        [
            createRole(r.name),
            // Attributes stated, not assumed: whatever the role was given by hand goes away on the next run.
            `ALTER ROLE ${r.name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'${r.name}_password';`,
        ].join("\n"),
    );
    // After every role exists: GRANT ... TO needs them.
    const access = databases.map((db) => databaseAccessSql(db, roles));
    return [
        "set -eu",
        // The StatefulSet is Ready before this Job starts (graph order); the loop only
        // absorbs Service endpoint propagation, bounded to one minute.
        'for i in $(seq 1 30); do pg_isready -q && break; echo "waiting for $PGHOST ($i)"; sleep 2; done',
        `psql -v ON_ERROR_STOP=1 --no-psqlrc <<'SQL'`,
        ...getenv,
        ...owners,
        ...others,
        ...access,
        "SQL",
        `echo "databases ready: ${databases.join(", ")}"`,
        ...(roles.length > 0 ? [`echo "roles ready: ${roles.map((r) => `${r.name} (${r.database})`).join(", ")}"`] : []),
    ].join("\n");
}

/**
 * PostgreSQL as a single-replica StatefulSet with a PVC, a Service, and a setup Job that
 * creates one database and owning role per consumer, and the lesser login roles, idempotently.
 */
export class Postgres extends pulumi.ComponentResource {
    /** In-cluster Service DNS name (depends on the setup Job). */
    public readonly host: pulumi.Output<string>;
    public readonly port = POSTGRES_PORT;
    /** Connection details per database (as its owner), each resolving after the setup Job completed. */
    public readonly databases: Readonly<Record<string, DatabaseConnection>>;
    /** Connection details per role of `roles` (to its database, as that role), each resolving after the setup Job completed. */
    public readonly roles: Readonly<Record<string, DatabaseConnection>>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly setupJob: k8s.batch.v1.Job;

    constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Postgres", name, {}, opts);
        if (args.databases.length === 0) {
            throw new Error("'databases' must list at least one database");
        }
        const { config } = args;
        const roles = args.roles ?? [];
        // Validates the names before anything is created.
        const setupScript = renderSetupScript(args.databases.map((d) => d.name), roles);
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
                                    command: ["bash", "-c", setupScript],
                                    env: [
                                        // The full in-cluster name, as every client uses: the NetworkPolicies admit by it.
                                        plainEnv("PGHOST", pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`),
                                        plainEnv("PGPORT", String(POSTGRES_PORT)),
                                        plainEnv("PGUSER", "postgres"),
                                        plainEnv("PGDATABASE", "postgres"),
                                        secretEnv("PGPASSWORD", args.superuserPassword),
                                        ...args.databases.map((db) => secretEnv(passwordEnvName(db.name), db.password)),
                                        ...roles.map((r) => secretEnv(passwordEnvName(r.name), r.password)),
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
        const logins: Record<string, DatabaseConnection> = {};
        for (const role of roles) {
            const after = <T>(value: T) => this.setupJob.metadata.name.apply(() => value);
            logins[role.name] = { host: this.host, port: POSTGRES_PORT, database: after(role.database), user: after(role.name), password: role.password };
        }
        this.roles = logins;
        this.registerOutputs({ host: this.host, serviceName: this.serviceName });
    }
}
