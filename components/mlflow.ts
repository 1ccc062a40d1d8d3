import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MlflowConfig } from "../config/mlflow";
import type { Resources } from "../config/shared";
import type { InitSteps } from "./backup";
import type { DatabaseConnection } from "./postgres";
import { container, httpProbe, imageTag, labels, Login, maintenanceCronJob, plainEnv, podSpec, SCRAPE_AUTH_ANNOTATION, secretEnv, SecretKeyRef, selectorLabels } from "./shared";

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
    /** MLflow's basic-auth app: the admin, the clients' logins and what they may do. */
    readonly auth: MlflowAuthArgs;
    /**
     * `mlflow gc` on a schedule: runs deleted more than `days` ago are removed for good, with
     * their artifacts (deleted through this server's artifact proxy, as `login`). A CronJob.
     */
    readonly deletedRunRetention?: { readonly schedule: string; readonly days: number; readonly resources: Resources; readonly login: Login };
    /** Steps the schema upgrade Job runs first: a backup of the database (components/backup.ts). */
    readonly beforeMigration?: InitSteps;
}

/** What a user may do with one experiment or registered model, in MLflow's terms (mlflow/server/auth/permissions.py). */
export type MlflowPermission = "READ" | "EDIT" | "MANAGE";

/** A client's login of MLflow's auth app, and the permissions it needs beyond DEFAULT_PERMISSION. */
export interface MlflowUser extends Login {
    /**
     * At least this permission on each experiment, by name, once the experiment exists (its
     * creator gets MANAGE on it from MLflow itself).
     * @default {}
     */
    readonly experiments?: Readonly<Record<string, MlflowPermission>>;
    /** At least this permission on each registered model, by name. @default {} */
    readonly registeredModels?: Readonly<Record<string, MlflowPermission>>;
}

export interface MlflowAuthArgs {
    /**
     * The auth store's database. Not the tracking store's: both keep their alembic revision in a
     * table named alembic_version, so they cannot share a database.
     */
    readonly database: DatabaseConnection;
    /** The admin, who has every permission and manages users: how a person logs in. */
    readonly admin: Login;
    /** Signs the CSRF token of the sign-up form; the auth app refuses to start without one. */
    readonly flaskSecretKey: SecretKeyRef;
    /**
     * Registered models created (empty) if missing: whoever creates a registered model gets
     * MANAGE on it, so one left to the first writer could be created by any logged-in user,
     * who could then register versions and move its aliases.
     */
    readonly registeredModels: readonly string[];
    /** The clients' logins. */
    readonly users: readonly MlflowUser[];
    /**
     * Key of the Prometheus credentials that scrape /metrics (the pod's SCRAPE_AUTH_ANNOTATION):
     * behind the auth app /metrics asks for a login like every route but /health.
     */
    readonly metricsScrapeAuth: string;
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
/** An emptyDir in memory: the auth config holds the admin's and the auth database's passwords. */
const AUTH_DIR = "/var/run/mlflow-auth";
export const AUTH_CONFIG_PATH = `${AUTH_DIR}/basic_auth.ini`;

/**
 * What a logged-in user may do where no permission of its own says otherwise. READ: the model
 * API and the UI only read, and with READ they need no grant of their own, so nothing has to be
 * kept in step with experiment ids (grants name experiments by id: experiments created later, or
 * brought back by a restore, would otherwise be unreadable until someone granted them); writes
 * still need a grant (EDIT) or ownership (MANAGE, which MLflow gives a creator). NO_PERMISSIONS
 * would hide nothing worth hiding: every user is one of the platform's clients or a person the
 * admin added, and anonymous requests are refused either way (401 before any permission is looked
 * at; only /health, /static and /favicon.ico are open).
 */
export const DEFAULT_PERMISSION = "READ";

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

/** Environment variable that carries a user's password into the auth setup step. */
export function passwordEnvName(username: string): string {
    return `AUTH_SETUP_PASSWORD_${username.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/**
 * Fails early on what MLflow would take badly or the setup would mix up: names a basic-auth header
 * cannot carry, a user twice, the admin among the users, two users on one password variable.
 * `logins` are the user names by the field that set them.
 */
export function validateAuthUsers(logins: readonly (readonly [field: string, username: string])[]): void {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const [field, name] of logins) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) problems.push(`'${field}' must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 64 characters; got '${name}')`);
        const env = passwordEnvName(name);
        const other = seen.get(env);
        if (other !== undefined) problems.push(`'${field}' ('${name}') is the same login as ${other} (${env})`);
        else seen.set(env, `'${field}'`);
    }
    if (problems.length > 0) throw new Error(`MLflow auth: ${problems.join("; ")}`);
}

/**
 * The auth setup, run by the server pod's init container before every start of the server:
 * 1. writes the auth app's config (MLFLOW_AUTH_CONFIG_PATH, mode 600) from the environment;
 * 2. creates or migrates the auth store's schema;
 * 3. creates the admin and every user, or sets their password and admin flag when they differ
 *    from the Secrets (so a credentials epoch, and a restore of an older auth database, take
 *    effect at the next start);
 * 4. creates the registered models that must exist before anyone else creates them;
 * 5. raises each user's permissions to at least what AUTH_SETUP_USERS asks (never lowers them:
 *    a creator keeps its MANAGE, an admin's grant stays).
 * Users it does not know (people the admin added) are left alone. It talks to the databases
 * directly, through MLflow's own stores, because the server is not up yet: MLflow creates its
 * admin only when the user is missing and offers no other way to set a forgotten password, so the
 * admin's password can follow the Secret only from here. Each line it prints says what it did.
 */
export const AUTH_SETUP_SCRIPT = String.raw`import configparser, json, os

env = os.environ
RANK = {"NO_PERMISSIONS": 0, "READ": 1, "EDIT": 2, "MANAGE": 3}


def say(message):
    print(message, flush=True)


def missing(err):
    return err.error_code == "RESOURCE_DOES_NOT_EXIST"


# First: importing mlflow.server.auth reads this file (MLFLOW_AUTH_CONFIG_PATH).
# configparser reads % as interpolation: escaped.
config = configparser.ConfigParser()
config["mlflow"] = {key: value.replace("%", "%%") for key, value in {
    "default_permission": env["AUTH_SETUP_DEFAULT_PERMISSION"],
    "database_uri": env["AUTH_SETUP_DATABASE_URI"],
    "admin_username": env["AUTH_SETUP_ADMIN_USERNAME"],
    "admin_password": env["AUTH_SETUP_ADMIN_PASSWORD"],
    "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
}.items()}
path = env["MLFLOW_AUTH_CONFIG_PATH"]
with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    os.fchmod(f.fileno(), 0o600)
    config.write(f)
say(f"wrote {path}")

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

store = SqlAlchemyStore()
store.init_db(env["AUTH_SETUP_DATABASE_URI"])


def ensure_user(username, password, admin):
    if not store.has_user(username):
        store.create_user(username, password, is_admin=admin)
        return "created (admin)" if admin else "created"
    changes = []
    if not store.authenticate_user(username, password):
        store.update_user(username, password=password)
        changes.append("password")
    if store.get_user(username).is_admin != admin:
        store.update_user(username, is_admin=admin)
        changes.append("admin" if admin else "not admin")
    return "updated " + ", ".join(changes) if changes else "unchanged"


def ensure_grant(kind, target, label, username, wanted):
    if kind == "experiment":
        get, create, update = store.get_experiment_permission, store.create_experiment_permission, store.update_experiment_permission
    else:
        get, create, update = store.get_registered_model_permission, store.create_registered_model_permission, store.update_registered_model_permission
    try:
        current = get(target, username).permission
    except MlflowException as err:
        if not missing(err):
            raise
        create(target, username, wanted)
        return f"{wanted} on {kind} {label}: granted"
    if RANK[current] >= RANK[wanted]:
        return f"{wanted} on {kind} {label}: has {current}"
    update(target, username, wanted)
    return f"{wanted} on {kind} {label}: raised from {current}"


admin = env["AUTH_SETUP_ADMIN_USERNAME"]
say(f"admin {admin}: {ensure_user(admin, env['AUTH_SETUP_ADMIN_PASSWORD'], True)}")

# The tracking and registry stores, straight from the database (PGPASSWORD): the server is not up.
tracking = MlflowClient(tracking_uri=env["MLFLOW_BACKEND_STORE_URI"], registry_uri=env["MLFLOW_BACKEND_STORE_URI"])
for name in json.loads(env["AUTH_SETUP_REGISTERED_MODELS"]):
    try:
        tracking.get_registered_model(name)
        say(f"registered model {name}: exists")
    except MlflowException as err:
        if not missing(err):
            raise
        tracking.create_registered_model(name)
        say(f"registered model {name}: created")

for user in json.loads(env["AUTH_SETUP_USERS"]):
    name = user["username"]
    say(f"user {name}: {ensure_user(name, env[user['password_env']], user['admin'])}")
    for model, permission in user["registered_models"].items():
        say(f"user {name}: {ensure_grant('registered model', model, model, name, permission)}")
    for experiment, permission in user["experiments"].items():
        found = tracking.get_experiment_by_name(experiment)
        if found is None:
            say(f"user {name}: {permission} on experiment {experiment}: not created yet (its creator gets MANAGE)")
            continue
        say(f"user {name}: {ensure_grant('experiment', found.experiment_id, experiment, name, permission)}")
say("mlflow auth is set up")
`;

/** The users the setup knows, as AUTH_SETUP_USERS carries them (passwords by variable name, never inline). */
export function authSetupUsers(users: readonly (MlflowUser & { readonly admin?: boolean })[]): string {
    return JSON.stringify(
        users.map((u) => ({
            username: u.username,
            password_env: passwordEnvName(u.username),
            admin: u.admin ?? false,
            experiments: u.experiments ?? {},
            registered_models: u.registeredModels ?? {},
        })),
    );
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
        // Every route but /health, /static and /favicon.ico asks for a login (MLFLOW_AUTH_CONFIG_PATH).
        "--app-name", "basic-auth",
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
        const { config, database, auth } = args;
        const gcLogin = args.deletedRunRetention?.login;
        // `mlflow gc` deletes artifacts through the proxy, which takes MANAGE on each run's experiment,
        // and runs are deleted in any experiment: its login is an MLflow admin. That adds nothing to
        // what the CronJob holds anyway: the tracking database's own role, which reaches every row.
        const users = [...auth.users, ...(gcLogin ? [{ ...gcLogin, admin: true }] : [])];
        validateAuthUsers([
            ["auth.admin.username", auth.admin.username],
            ...auth.users.map((u, i) => [`auth.users[${i}].username`, u.username] as const),
            ...(gcLogin ? [["deletedRunRetention.login.username", gcLogin.username] as const] : []),
        ]);
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
        const authDb = auth.database;
        // The password reaches the URI through the kubelet's $(VAR) expansion, never the pod spec.
        const authStoreUri = pulumi.interpolate`postgresql://${authDb.user}:$(AUTH_SETUP_DB_PASSWORD)@${authDb.host}:${authDb.port}/${authDb.database}`;
        const authVolume = { name: "auth", mountPath: AUTH_DIR };
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
                                [SCRAPE_AUTH_ANNOTATION]: auth.metricsScrapeAuth,
                            },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            // Before every start, so rotated passwords (the pod rolls with the checksum)
                            // and a restored auth database are brought in line with the Secrets.
                            initContainers: [
                                container({
                                    name: "auth-setup",
                                    image: args.image ?? config.image,
                                    resources: config.jobResources,
                                    command: ["python", "-c", AUTH_SETUP_SCRIPT],
                                    workingDir: "/tmp",
                                    env: [
                                        ...dbEnv,
                                        secretEnv("AUTH_SETUP_DB_PASSWORD", authDb.password),
                                        plainEnv("AUTH_SETUP_DATABASE_URI", authStoreUri),
                                        plainEnv("AUTH_SETUP_DEFAULT_PERMISSION", DEFAULT_PERMISSION),
                                        plainEnv("AUTH_SETUP_ADMIN_USERNAME", auth.admin.username),
                                        secretEnv("AUTH_SETUP_ADMIN_PASSWORD", auth.admin.password),
                                        plainEnv("AUTH_SETUP_REGISTERED_MODELS", JSON.stringify(auth.registeredModels)),
                                        plainEnv("AUTH_SETUP_USERS", authSetupUsers(users)),
                                        ...users.map((u) => secretEnv(passwordEnvName(u.username), u.password)),
                                        plainEnv("MLFLOW_AUTH_CONFIG_PATH", AUTH_CONFIG_PATH),
                                        plainEnv("HOME", "/tmp"),
                                    ],
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, authVolume],
                                }),
                            ],
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
                                        // Written by auth-setup; it names the auth database and the admin.
                                        plainEnv("MLFLOW_AUTH_CONFIG_PATH", AUTH_CONFIG_PATH),
                                        secretEnv("MLFLOW_FLASK_SERVER_SECRET_KEY", auth.flaskSecretKey),
                                    ],
                                    // /health is one of the auth app's open routes: the kubelet needs no login.
                                    readinessProbe: httpProbe("readiness", "/health", "http"),
                                    livenessProbe: httpProbe("liveness", "/health", "http"),
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, { ...authVolume, readOnly: true }],
                                }),
                            ],
                            volumes: [
                                { name: "tmp", emptyDir: {} },
                                { name: "auth", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
                            ],
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
                                // (mlflow-artifacts:/ URIs resolve against the tracking server), logged in.
                                env: [
                                    ...dbEnv,
                                    plainEnv("MLFLOW_TRACKING_URI", this.trackingUri),
                                    plainEnv("MLFLOW_TRACKING_USERNAME", retention.login.username),
                                    secretEnv("MLFLOW_TRACKING_PASSWORD", retention.login.password),
                                ],
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
