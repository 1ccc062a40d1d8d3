/**
 * What every image the platform runs expects of the pod that runs it, as data, each fact with
 * the upstream file it was read from. No registry is reachable, so every image but Grafana's and
 * git-sync's is built locally (tools/images, recipe and reference in `build`): these contracts are
 * what a local build must honour, `build.note` says where one differs from upstream, and every
 * rendered pod spec is checked against them (tests/image-contracts.test.ts).
 *
 * Sources are upstream files at the commit or tag that was read; where the pinned version is not
 * the revision that was available, `upstream.note` says so. Paths without a host are files of
 * this repository.
 */

/** An upstream file (URL at a commit or tag, with the lines or names that hold the fact) or a path in this repository. */
export type Source = string;

/** Owner, group and mode of a directory as the image ships it. */
export interface ShippedDir {
    readonly path: string;
    readonly owner: number;
    readonly group: number;
    readonly mode: number;
    readonly source: Source;
}

/** The uid/gid the image runs as, and whether another uid works. */
export interface RunAsContract {
    readonly user: number;
    readonly group: number;
    /** $HOME of that user in the image's /etc/passwd (unset when the image has no entry for it). */
    readonly home?: string;
    readonly source: Source;
    /**
     * `false`: the image works only as `user:group`. Otherwise any uid works, provided the pod's
     * primary group is `group` when that is given.
     */
    readonly anyUser: false | { readonly group?: number; readonly why: string; readonly source: Source };
}

/** What the image's ENTRYPOINT script does with the arguments it is given. */
export type EntrypointExec =
    /** Execs the command it is given, with `flagsRunAs` put in front when the first argument is a flag (or there is none). */
    | { readonly kind: "command"; readonly flagsRunAs: string }
    /**
     * Always execs `program` (with `programArgs` first) and passes its arguments on; a leading
     * `dropFirst` argument is dropped, and the `passThrough` commands are exec'ed as they are.
     */
    | { readonly kind: "program"; readonly program: string; readonly programArgs?: readonly string[]; readonly dropFirst?: string; readonly passThrough?: readonly string[] };

export interface EntrypointContract {
    readonly entrypoint: readonly string[];
    readonly cmd: readonly string[];
    /** WORKDIR; relative paths a process writes resolve against it. */
    readonly workdir: string;
    /** The ENTRYPOINT script, when ENTRYPOINT is one (not the program itself). */
    readonly script?: { readonly path: string; readonly execs: EntrypointExec; readonly source: Source };
    readonly source: Source;
}

/** A path the process writes at run time. */
export interface WrittenPath {
    /**
     * Default location: absolute, `$HOME/...`, or relative to the image's WORKDIR. Absent when the
     * path is written only if `flag` or `env` names one.
     */
    readonly path?: string;
    readonly what: string;
    /** The value of this variable replaces `path` (container env first, then the image's ENV). */
    readonly env?: string;
    /** `--flag=value` or `--flag value` replaces `path`, and wins over `env`. */
    readonly flag?: string;
    /** The argument after this one replaces `path` (MinIO: `server DIR`). */
    readonly afterArg?: string;
    /** The value names a file: its directory is what is written. */
    readonly fileIn?: true;
    /** Written only when the command line has this flag. */
    readonly onlyWithFlag?: string;
    /** Not written when this variable has this value. */
    readonly unless?: { readonly env: string; readonly equals: string };
    /** Written only when the process does not run as the image's own user. */
    readonly onlyForOtherUsers?: true;
    /** How the image ships the default location (or the directory it is created in). */
    readonly shipped?: ShippedDir;
    readonly source: Source;
}

/** An environment variable the process reads. */
export interface EnvContract {
    readonly name: string;
    /**
     * `required`: the process refuses to start without it (see `when`/`unless`). `shared`: the
     * process starts, but without it each container invents its own random value, so every
     * container of the image must get it, and from one source. `read`: optional, default in `note`.
     */
    readonly use: "required" | "shared" | "read";
    /** Also satisfied by any of these variables (e.g. `POSTGRES_PASSWORD_FILE`). */
    readonly orEnv?: readonly string[];
    /** Also satisfied by this command-line flag. */
    readonly orFlag?: string;
    /** Required only when this variable is set (`equals` absent) or has this value. */
    readonly when?: { readonly env: string; readonly equals?: string };
    /** Required only when the command line has this flag. */
    readonly whenFlag?: string;
    /** Not required when this variable has this value. */
    readonly unless?: { readonly env: string; readonly equals: string };
    readonly note: string;
    readonly source: Source;
}

export interface PortContract {
    readonly port: number;
    readonly protocol: "TCP" | "UDP";
    readonly what: string;
    readonly source: Source;
}

export interface Behaviour {
    readonly fact: string;
    readonly source: Source;
}

/** One program the image runs. */
export interface ProcessContract {
    /** Basename of the executable ("*": any other command run in the image). */
    readonly program: string;
    /** First argument, for programs with subcommands (`minio server`, `mlflow server`). */
    readonly subcommand?: string;
    readonly what: string;
    /** Its set-up happens in the ENTRYPOINT script: a pod must not replace ENTRYPOINT (`command`). */
    readonly needsEntrypoint?: { readonly why: string; readonly source: Source };
    readonly writes: readonly WrittenPath[];
    readonly env: readonly EnvContract[];
    readonly ports: readonly PortContract[];
    readonly behaviour: readonly Behaviour[];
}

/**
 * Whether the image can be produced here from Debian packages, PyPI, npm or Go modules. When it
 * is, `source` is its recipe (tools/images/NAME/image.sh) and `note` says what the local build
 * is and how it differs from the upstream image whose contract this is.
 */
export interface BuildContract {
    readonly buildable: boolean;
    readonly from: readonly ("debian" | "pypi" | "npm" | "go")[];
    /** The local build gives exactly the pinned version. */
    readonly sameVersion: boolean;
    /**
     * The reference the local build carries (`bash tools/images/build.sh --ref NAME`); set exactly
     * when `buildable`. Its tag is the pinned one exactly when `sameVersion`.
     */
    readonly localRef?: string;
    readonly note: string;
    readonly source: Source;
}

export interface ImageContract {
    /** Reference without tag or digest, as the program renders it. */
    readonly repository: string;
    /** The tag we pin, and where. */
    readonly pinned: { readonly tag: string; readonly source: Source };
    /** Which upstream revision was read, and how it differs from the pin. */
    readonly upstream: { readonly read: string; readonly note?: string };
    readonly runAs: RunAsContract;
    /** ENV of the image that the facts below depend on. */
    readonly imageEnv: { readonly values: Readonly<Record<string, string>>; readonly source: Source };
    readonly entrypoint: EntrypointContract;
    readonly processes: readonly ProcessContract[];
    readonly build: BuildContract;
}

// ---------------------------------------------------------------------------------------------
// Upstream revisions read.

const GH = "https://github.com";
const PG = `${GH}/docker-library/postgres/blob/c17c1aad6bc4a8cc9d0a1791d8facaa84171c05b/17/bookworm`;
const REDIS = `${GH}/docker-library/redis/blob/e92049967d6baa9b4b3d6fd950553e6458e61f13/7.2/alpine`;
const MINIO = `${GH}/minio/minio/blob/RELEASE.2025-04-22T22-12-26Z`;
const MC = `${GH}/minio/mc/blob/RELEASE.2025-04-16T18-13-26Z`;
const GIT_SYNC = `${GH}/kubernetes/git-sync/blob/v4.4.2`;
const PROMETHEUS = `${GH}/prometheus/prometheus/blob/v3.5.0`;
const STATSD = `${GH}/prometheus/statsd_exporter/blob/ac592b1e33bd379c97437884050e3105a4bae78e`;
const GRAFANA_DOCKERFILE = `${GH}/grafana/grafana/blob/78515af65f036f536c4ab2e6fdb5484552f99f1f/Dockerfile`;
const GRAFANA_RUN = `${GH}/grafana/grafana/blob/07754534fbafa7e7e18e7272e552c166f1afae28/packaging/docker/run.sh`;
const AIRFLOW_DOCKERFILE = `${GH}/apache/airflow/blob/0060b1a446d07a86af2b4f847b2242195e9423ac/Dockerfile`;
const AIRFLOW_ENTRYPOINT = `${GH}/apache/airflow/blob/424b6e9c055ef26ac7d6210e62f6f8507e2a72e5/scripts/docker/entrypoint_prod.sh`;
/** Read from the apache-airflow-core 3.3.2 wheel (the pinned release). */
const AIRFLOW_CORE = `${GH}/apache/airflow/blob/3.3.2/airflow-core/src/airflow`;
const MLFLOW_DOCKERFILE = `${GH}/mlflow/mlflow/blob/e52d70d6f210fdd94d05904d352c80c2cbee77fc/docker/Dockerfile`;
/** Read from the mlflow-skinny 3.5.1 wheel (the pinned release). */
const MLFLOW_SRC = `${GH}/mlflow/mlflow/blob/v3.5.1/mlflow`;
const NODE = `${GH}/nodejs/docker-node/blob/8e93bb03443b68eccbddc0f1e31a5e9756f7e70e/20/bookworm-slim`;
const RUNC_ENV = `${GH}/opencontainers/runc/blob/76d9cf5da5683ff449ae967db58fa8c5927ca54b/libcontainer/env.go (getUserHome: defaultHome "/")`;

/** What a CRI runtime sets $HOME to when neither the pod nor the image sets it. */
export const DEFAULT_HOME = { home: "/", why: "runc sets HOME from the image's /etc/passwd entry for the uid, else to /", source: RUNC_ENV } as const;

// ---------------------------------------------------------------------------------------------
// Processes shared by an upstream image and ours built on it.

const NODE_ENTRYPOINT_SCRIPT = {
    path: "docker-entrypoint.sh",
    execs: { kind: "command", flagsRunAs: "node" },
    source: `${NODE}/docker-entrypoint.sh (prepends node when the first argument is a flag or not a command)`,
} as const;

/** Our Node.js services: each Dockerfile as written, on the local node image (tools/images/node). */
const nodeServiceBuild = (service: string): BuildContract => ({
    buildable: true,
    from: ["npm", "debian"],
    sameVersion: true,
    localRef: `docker.io/mlops-platform/${service}:0.1.0`,
    note:
        `services/${service}/Dockerfile as written, on the local node:20.20.2-bookworm-slim (tools/images/node), which differs from upstream's: ` +
        "Debian bookworm minbase with libstdc++6 and ca-certificates (upstream's slim image drops ca-certificates); the node binary of the NodeSource Debian build " +
        "20.20.2-1nodesource1+repack1 (not the nodejs.org tarball) and npm 10.8.2 from the npm registry, both at upstream's /usr/local paths; our own docker-entrypoint.sh; " +
        "no yarn, no corepack, no headers; PATH set explicitly",
    source: `tools/images/${service}/image.sh`,
});

const AIRFLOW_SHARED_KEY = (name: string, section: string, key: string, line: number): EnvContract => ({
    name,
    use: "shared",
    note:
        `[${section}] ${key} defaults to a value generated at random per process (or written into that container's own airflow.cfg), ` +
        "so containers that do not all get the same value cannot read each other's data or tokens",
    source: `${AIRFLOW_CORE}/config_templates/config.yml:${line} ([${section}] ${key}) and ${AIRFLOW_CORE}/configuration.py (_SecretKeys, write_default_airflow_configuration_if_needed)`,
});

/** `airflow <command>` in the official image and in ours (same user, same ENTRYPOINT). */
const AIRFLOW_PROCESSES: readonly ProcessContract[] = [
    {
        program: "airflow",
        what: "the Airflow CLI: api-server, scheduler, dag-processor, triggerer, celery worker, db migrate",
        writes: [
            {
                path: "/opt/airflow/airflow.cfg",
                env: "AIRFLOW_CONFIG",
                fileIn: true,
                what: "airflow.cfg, written on the first `airflow` command when missing ($AIRFLOW_HOME/airflow.cfg)",
                shipped: { path: "/opt/airflow", owner: 50000, group: 0, mode: 0o775, source: `${AIRFLOW_DOCKERFILE} (mkdir -pv \${AIRFLOW_HOME}; chown -R airflow:0; chmod -R g+rw)` },
                source: `${AIRFLOW_CORE}/__main__.py (write_default_airflow_configuration_if_needed before every command but version) and ${AIRFLOW_CORE}/configuration.py (get_airflow_config)`,
            },
            {
                path: "/opt/airflow/logs",
                env: "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
                what: "task and dag-processor log files (written locally, then shipped when remote logging is on)",
                shipped: { path: "/opt/airflow/logs", owner: 50000, group: 0, mode: 0o775, source: `${AIRFLOW_DOCKERFILE} (mkdir -pv \${AIRFLOW_HOME}/logs; chown -R airflow:0; chmod -R g+rw)` },
                source: `${AIRFLOW_CORE}/config_templates/config.yml:798 ([logging] base_log_folder = {AIRFLOW_HOME}/logs) and :1007 (dag_processor_child_process_log_directory)`,
            },
            {
                path: "sqlite:////opt/airflow/airflow.db",
                env: "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                what: "the SQLite metadata database, when no other database is configured",
                shipped: { path: "/opt/airflow", owner: 50000, group: 0, mode: 0o775, source: AIRFLOW_DOCKERFILE },
                source: `${AIRFLOW_CORE}/config_templates/config.yml:611 ([database] sql_alchemy_conn = sqlite:///{AIRFLOW_HOME}/airflow.db)`,
            },
        ],
        env: [
            AIRFLOW_SHARED_KEY("AIRFLOW__CORE__FERNET_KEY", "core", "fernet_key", 238),
            AIRFLOW_SHARED_KEY("AIRFLOW__API_AUTH__JWT_SECRET", "api_auth", "jwt_secret", 2209),
            AIRFLOW_SHARED_KEY("AIRFLOW__API__SECRET_KEY", "api", "secret_key", 1665),
            {
                name: "_AIRFLOW_WWW_USER_PASSWORD",
                use: "required",
                orEnv: ["_AIRFLOW_WWW_USER_PASSWORD_CMD"],
                when: { env: "_AIRFLOW_WWW_USER_CREATE" },
                note: "the entrypoint exits 1 when asked to create the admin user without a password",
                source: `${AIRFLOW_ENTRYPOINT} (create_www_user)`,
            },
            { name: "AIRFLOW_HOME", use: "read", note: "/opt/airflow (image ENV)", source: AIRFLOW_DOCKERFILE },
        ],
        ports: [
            { port: 8080, protocol: "TCP", what: "api-server (EXPOSE 8080)", source: AIRFLOW_DOCKERFILE },
            { port: 8793, protocol: "TCP", what: "celery worker log server ([logging] worker_log_server_port)", source: `${AIRFLOW_CORE}/config_templates/config.yml:1083` },
            { port: 8974, protocol: "TCP", what: "scheduler health check server ([scheduler] scheduler_health_check_server_port)", source: `${AIRFLOW_CORE}/config_templates/config.yml:2682` },
        ],
        behaviour: [
            {
                fact:
                    "ENTRYPOINT is dumb-init -- /entrypoint: the entrypoint fails unless the gid is 0 (uid 50000 only warns), adds a passwd entry for an unknown uid, " +
                    "sets umask 0002, preloads libstdc++ (static TLS workaround), waits for the metadata database (`airflow db check`, CONNECTION_CHECK_MAX_COUNT=20 x 3 s) " +
                    "and, for scheduler and celery, for the Celery broker; then execs `airflow <args>` (a leading `airflow` is dropped; `bash` and `python` are exec'ed as they are)",
                source: AIRFLOW_ENTRYPOINT,
            },
            {
                fact:
                    "a pod that sets `command` replaces dumb-init and /entrypoint: none of the above runs, and the airflow process is PID 1 (no init to reap orphans or forward signals to the process group)",
                source: `${AIRFLOW_DOCKERFILE} (ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"], ENV DUMB_INIT_SETSID=1)`,
            },
            {
                fact: "_AIRFLOW_DB_MIGRATE (or the deprecated _AIRFLOW_DB_UPGRADE) makes the entrypoint run `airflow db migrate || true` before the command",
                source: `${AIRFLOW_ENTRYPOINT} (migrate_db)`,
            },
            {
                fact: "the image sets GUNICORN_CMD_ARGS=--worker-tmp-dir /dev/shm, PIP_CACHE_DIR=/tmp/.cache/pip and AIRFLOW__CORE__LOAD_EXAMPLES=false",
                source: AIRFLOW_DOCKERFILE,
            },
        ],
    },
];

/**
 * `bash -c` around the Airflow CLI (the db-clean CronJob computes its cut-off date first, then
 * execs `airflow db clean`): what the CLI writes and reads, plus GNU date from the image.
 */
const AIRFLOW_SHELL: ProcessContract = {
    ...AIRFLOW_PROCESSES[0]!,
    program: "bash",
    what: "a bash script that ends in `exec airflow ...` (the db-clean CronJob: GNU date computes the cut-off)",
    behaviour: [
        ...AIRFLOW_PROCESSES[0]!.behaviour,
        { fact: "bash and GNU coreutils' date (-d '-N days') are in the image (Debian base)", source: `${AIRFLOW_DOCKERFILE} (FROM debian bookworm-slim; bash is its shell)` },
    ],
};

const MLFLOW_SERVER: ProcessContract = {
    program: "mlflow",
    subcommand: "server",
    what: "the tracking server (uvicorn by default in 3.x)",
    writes: [
        {
            path: "./mlruns",
            flag: "--backend-store-uri",
            env: "MLFLOW_BACKEND_STORE_URI",
            what: "the file backend store, when no database URI is given",
            source: `${MLFLOW_SRC}/cli/__init__.py (--backend-store-uri default DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH) and ${MLFLOW_SRC}/store/tracking/__init__.py (= "./mlruns")`,
        },
        {
            path: "./mlartifacts",
            flag: "--artifacts-destination",
            env: "MLFLOW_ARTIFACTS_DESTINATION",
            onlyWithFlag: "--serve-artifacts",
            what: "proxied artifacts, when no remote destination is given",
            source: `${MLFLOW_SRC}/utils/cli_args.py (ARTIFACTS_DESTINATION default "./mlartifacts")`,
        },
        {
            flag: "--expose-prometheus",
            env: "MLFLOW_EXPOSE_PROMETHEUS",
            what: "prometheus_client multiprocess files (created when missing)",
            source: `${MLFLOW_SRC}/cli/__init__.py (--expose-prometheus) and ${MLFLOW_SRC}/server/__init__.py (os.makedirs(prometheus_metrics_path))`,
        },
        {
            path: "/tmp",
            env: "TMPDIR",
            what: "tempfile directories that stage proxied artifact uploads and downloads",
            source: `${MLFLOW_SRC}/server/handlers.py (tempfile.TemporaryDirectory in the artifact upload and download handlers)`,
        },
    ],
    env: [
        { name: "MLFLOW_BACKEND_STORE_URI", use: "read", note: "same as --backend-store-uri; default ./mlruns", source: `${MLFLOW_SRC}/cli/__init__.py` },
        { name: "MLFLOW_HOST", use: "read", note: "same as --host; default 127.0.0.1 (unreachable from other pods)", source: `${MLFLOW_SRC}/utils/cli_args.py (HOST default "127.0.0.1")` },
        {
            name: "MLFLOW_FLASK_SERVER_SECRET_KEY",
            use: "required",
            whenFlag: "--app-name",
            note: "the basic-auth app (--app-name basic-auth) refuses to start without it: it signs the sign-up form's CSRF token, the same in every worker",
            source: `${MLFLOW_SRC}/server/auth/__init__.py (create_app: 'A static secret key needs to be set for CSRF protection')`,
        },
        {
            name: "MLFLOW_AUTH_CONFIG_PATH",
            use: "read",
            note: "the basic-auth app's config (default_permission, database_uri, admin_username, admin_password), read when mlflow.server.auth is imported; default the packaged basic_auth.ini: admin 'password1234' and a SQLite file in the working directory",
            source: `${MLFLOW_SRC}/server/auth/config.py (MLFLOW_AUTH_CONFIG_PATH) and ${MLFLOW_SRC}/server/auth/basic_auth.ini`,
        },
    ],
    ports: [{ port: 5000, protocol: "TCP", what: "HTTP (--port, default 5000)", source: `${MLFLOW_SRC}/utils/cli_args.py (PORT default 5000)` }],
    behaviour: [
        {
            fact: "binds 127.0.0.1 unless --host (or MLFLOW_HOST) says otherwise",
            source: `${MLFLOW_SRC}/utils/cli_args.py (HOST)`,
        },
        {
            fact: "the --expose-prometheus directory must be empty when the server starts (prometheus_client multiprocess mode)",
            source: "MLflow documentation, 'Monitoring' page (quoted: 'This directory must be empty when starting MLflow'); its file in mlflow/mlflow was not located",
        },
    ],
};

const NO_WRITES_CLIENT = (what: string, source: Source): ProcessContract => ({ program: "*", what, writes: [], env: [], ports: [], behaviour: [{ fact: what, source }] });

// ---------------------------------------------------------------------------------------------
// The table.

const CONTRACTS: readonly ImageContract[] = [
    {
        repository: "docker.io/library/postgres",
        pinned: { tag: "17.2-bookworm", source: "config/postgres.ts" },
        upstream: {
            read: "docker-library/postgres at c17c1aad (the 17.2 tree: the parent of 'Update 17 to 17.3')",
            note:
                "the snapshot's HEAD (6edb0a8c) is 17.9: its entrypoint adds docker_error_old_databases (PostgreSQL 18+ layouts only) and clears NOTIFY_SOCKET for the temporary server; nothing below differs",
        },
        runAs: {
            user: 999,
            group: 999,
            home: "/var/lib/postgresql",
            source: `${PG}/Dockerfile:11-13 (groupadd -r postgres --gid=999; useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql)`,
            anyUser: {
                why: "the entrypoint supports `--user`: as root it chowns PGDATA and re-execs through gosu; an unknown uid gets a passwd entry from nss_wrapper",
                source: `${PG}/docker-entrypoint.sh (docker_create_db_directories: 'allow the container to be started with --user'; docker_init_database_dir: nss_wrapper)`,
            },
        },
        imageEnv: { values: { PGDATA: "/var/lib/postgresql/data", PG_MAJOR: "17" }, source: `${PG}/Dockerfile (ENV PGDATA, ENV PG_MAJOR)` },
        entrypoint: {
            entrypoint: ["docker-entrypoint.sh"],
            cmd: ["postgres"],
            workdir: "/",
            script: { path: "docker-entrypoint.sh", execs: { kind: "command", flagsRunAs: "postgres" }, source: `${PG}/docker-entrypoint.sh (_main: a first argument that is a flag gets postgres in front)` },
            source: `${PG}/Dockerfile (ENTRYPOINT ["docker-entrypoint.sh"], CMD ["postgres"], STOPSIGNAL SIGINT, EXPOSE 5432)`,
        },
        processes: [
            {
                program: "postgres",
                what: "the database server",
                needsEntrypoint: {
                    why: "initdb, the superuser password and POSTGRES_DB are set up by docker-entrypoint.sh only; `postgres` started directly never initialises an empty PGDATA",
                    source: `${PG}/docker-entrypoint.sh (_main)`,
                },
                writes: [
                    {
                        path: "/var/lib/postgresql/data",
                        env: "PGDATA",
                        what: "the cluster (initdb on an empty directory, then the server's data); chmod 0700 at start",
                        shipped: { path: "/var/lib/postgresql/data", owner: 999, group: 999, mode: 0o1777, source: `${PG}/Dockerfile (install --directory --owner postgres --group postgres --mode 1777 "$PGDATA")` },
                        source: `${PG}/docker-entrypoint.sh (docker_create_db_directories, docker_init_database_dir)`,
                    },
                    {
                        path: "/var/run/postgresql",
                        what: "the Unix socket and lock file",
                        shipped: { path: "/var/run/postgresql", owner: 999, group: 999, mode: 0o3777, source: `${PG}/Dockerfile (install --directory --owner postgres --group postgres --mode 3777 /var/run/postgresql)` },
                        source: `${PG}/docker-entrypoint.sh (docker_create_db_directories: mkdir -p /var/run/postgresql; chmod 03775)`,
                    },
                    {
                        path: "/tmp",
                        env: "TMPDIR",
                        onlyForOtherUsers: true,
                        what: "nss_wrapper passwd and group files (mktemp), for a uid without a passwd entry",
                        source: `${PG}/docker-entrypoint.sh (docker_init_database_dir)`,
                    },
                ],
                env: [
                    {
                        name: "POSTGRES_PASSWORD",
                        use: "required",
                        orEnv: ["POSTGRES_PASSWORD_FILE"],
                        unless: { env: "POSTGRES_HOST_AUTH_METHOD", equals: "trust" },
                        note: "required to initialise an empty PGDATA (exit 1 otherwise); ignored once PGDATA holds a cluster",
                        source: `${PG}/docker-entrypoint.sh (docker_verify_minimum_env, docker_setup_env)`,
                    },
                    { name: "POSTGRES_USER", use: "read", orEnv: ["POSTGRES_USER_FILE"], note: "superuser name at initdb; default postgres", source: `${PG}/docker-entrypoint.sh (docker_setup_env)` },
                    { name: "POSTGRES_DB", use: "read", orEnv: ["POSTGRES_DB_FILE"], note: "database created at init; default $POSTGRES_USER", source: `${PG}/docker-entrypoint.sh (docker_setup_env, docker_setup_db)` },
                    { name: "POSTGRES_INITDB_ARGS", use: "read", note: "extra initdb arguments", source: `${PG}/docker-entrypoint.sh (docker_init_database_dir)` },
                    { name: "PGDATA", use: "read", note: "default /var/lib/postgresql/data (image ENV)", source: `${PG}/Dockerfile` },
                ],
                ports: [{ port: 5432, protocol: "TCP", what: "PostgreSQL (EXPOSE 5432)", source: `${PG}/Dockerfile` }],
                behaviour: [
                    {
                        fact:
                            "an empty PGDATA (no non-empty PG_VERSION) is initialised: initdb with POSTGRES_USER and POSTGRES_PASSWORD, `host all all all <password_encryption>` appended to pg_hba.conf, " +
                            "a socket-only temporary server runs POSTGRES_DB's creation and /docker-entrypoint-initdb.d/*, then stops",
                        source: `${PG}/docker-entrypoint.sh (_main, pg_setup_hba_conf, docker_temp_server_start, docker_setup_db)`,
                    },
                    {
                        fact: "a PGDATA that holds a cluster skips all of it: POSTGRES_PASSWORD, POSTGRES_USER and POSTGRES_DB are then ignored, so changing them never changes the running cluster",
                        source: `${PG}/docker-entrypoint.sh (docker_setup_env: DATABASE_ALREADY_EXISTS; _main)`,
                    },
                    {
                        fact: "VAR and VAR_FILE together are an error (exit 1); VAR_FILE's content is read into VAR",
                        source: `${PG}/docker-entrypoint.sh (file_env)`,
                    },
                    { fact: "STOPSIGNAL SIGINT (fast shutdown)", source: `${PG}/Dockerfile` },
                ],
            },
            NO_WRITES_CLIENT(
                "any other command (psql, pg_isready, a shell script) is exec'ed unchanged and writes nothing of the server's",
                `${PG}/docker-entrypoint.sh (_main: exec "$@" when the first argument is not postgres)`,
            ),
        ],
        build: {
            buildable: true,
            from: ["debian"],
            sameVersion: false,
            localRef: "docker.io/library/postgres:17.12-trixie",
            note:
                "PostgreSQL 17.12 from Debian trixie's postgresql-17 17.12-0+deb13u1, not the pinned 17.2 (same major: data directories are compatible), " +
                "behind our own docker-entrypoint.sh, which follows upstream's documented contract. " +
                "Differences from upstream: locale C.UTF-8 (upstream en_US.utf8); TCP from 127.0.0.1 and ::1 needs scram-sha-256 (upstream's initdb trusts loopback), the socket is trusted as upstream; " +
                "POSTGRES_INITDB_ARGS is split on whitespace without quoting (upstream evals it); POSTGRES_INITDB_WALDIR is not supported; _FILE works for POSTGRES_PASSWORD, POSTGRES_USER and POSTGRES_DB; " +
                "the image runs as USER 999:999 (upstream starts as root and steps down with gosu; root still works, through setpriv); no VOLUME; /usr/lib/postgresql/17/bin first on PATH",
            source: "tools/images/postgres/image.sh",
        },
    },
    {
        repository: "docker.io/library/redis",
        pinned: { tag: "7.2.7-alpine", source: "config/redis.ts" },
        upstream: { read: "docker-library/redis at e9204996 (2024-06-28)", note: "that snapshot builds 7.2.5, not the pinned 7.2.7; the user, entrypoint and layout are those of the 7.2/alpine template" },
        runAs: {
            user: 999,
            group: 1000,
            source: `${REDIS}/Dockerfile:12-13 (addgroup -S -g 1000 redis; adduser -S -G redis -u 999 redis)`,
            anyUser: {
                why: "the entrypoint supports `--user`: only root chowns the data directory and steps down through gosu",
                source: `${REDIS}/docker-entrypoint.sh ('allow the container to be started with --user')`,
            },
        },
        imageEnv: { values: {}, source: `${REDIS}/Dockerfile` },
        entrypoint: {
            entrypoint: ["docker-entrypoint.sh"],
            cmd: ["redis-server"],
            workdir: "/data",
            script: { path: "docker-entrypoint.sh", execs: { kind: "command", flagsRunAs: "redis-server" }, source: `${REDIS}/docker-entrypoint.sh (a flag or *.conf first argument gets redis-server in front)` },
            source: `${REDIS}/Dockerfile (VOLUME /data, WORKDIR /data, ENTRYPOINT ["docker-entrypoint.sh"], CMD ["redis-server"], EXPOSE 6379)`,
        },
        processes: [
            {
                program: "redis-server",
                what: "the server",
                writes: [
                    {
                        path: "/data",
                        flag: "--dir",
                        what: "RDB snapshots and the append-only file (the working directory unless --dir)",
                        shipped: { path: "/data", owner: 999, group: 1000, mode: 0o755, source: `${REDIS}/Dockerfile:133 (mkdir /data && chown redis:redis /data)` },
                        source: `${REDIS}/Dockerfile (WORKDIR /data)`,
                    },
                ],
                env: [],
                ports: [{ port: 6379, protocol: "TCP", what: "Redis (EXPOSE 6379)", source: `${REDIS}/Dockerfile` }],
                behaviour: [
                    {
                        fact: "through the entrypoint, a umask of 0022 becomes 0077 (data files private to the user); a pod whose `command` replaces the entrypoint keeps the runtime's umask",
                        source: `${REDIS}/docker-entrypoint.sh`,
                    },
                ],
            },
            NO_WRITES_CLIENT("any other command (redis-cli) is exec'ed unchanged", `${REDIS}/docker-entrypoint.sh (exec "$@")`),
        ],
        build: {
            buildable: true,
            from: ["debian"],
            sameVersion: false,
            localRef: "docker.io/library/redis:7.0.15-bookworm",
            note:
                "Redis 7.0.15 from Debian bookworm's redis-server and redis-tools 5:7.0.15-1~deb12u10 (glibc), not the pinned 7.2.7 (Alpine, musl); " +
                "chosen over trixie's 8.0.2, a new major under other licences (RSALv2/SSPLv1/AGPLv3). " +
                "Differences from upstream: Debian's binary keeps protected-mode yes by default (upstream patches it to no; irrelevant with the pod's password); " +
                "7.0 writes RDB v10 and cannot read the v11 files 7.2 writes; no VOLUME; the image creates its redis user as 999:1000 itself (Debian's package assigns a system uid)",
            source: "tools/images/redis/image.sh",
        },
    },
    {
        repository: "quay.io/minio/minio",
        pinned: { tag: "RELEASE.2025-04-22T22-12-26Z", source: "config/minio.ts" },
        upstream: { read: "minio/minio at tag RELEASE.2025-04-22T22-12-26Z (0d7408fc); Dockerfile.release is unchanged at the snapshot's HEAD (7aac2a2c)" },
        runAs: {
            user: 0,
            group: 0,
            home: "/root",
            source: `${MINIO}/Dockerfile.release (no USER: the ubi-micro base runs as root)`,
            anyUser: {
                why: "the image has no user of its own and its user switching is 'DEPRECATED and unsupported'; MinIO needs only its data directories and $HOME/.minio writable",
                source: `${MINIO}/Dockerfile.release and ${MINIO}/dockerscripts/docker-entrypoint.sh (docker_switch_user)`,
            },
        },
        imageEnv: {
            values: {
                MINIO_ROOT_USER_FILE: "access_key",
                MINIO_ROOT_PASSWORD_FILE: "secret_key",
                MINIO_CONFIG_ENV_FILE: "config.env",
                MC_CONFIG_DIR: "/tmp/.mc",
            },
            source: `${MINIO}/Dockerfile.release (ENV)`,
        },
        entrypoint: {
            entrypoint: ["/usr/bin/docker-entrypoint.sh"],
            cmd: ["minio"],
            workdir: "/",
            script: {
                path: "/usr/bin/docker-entrypoint.sh",
                execs: { kind: "program", program: "minio", dropFirst: "minio" },
                source: `${MINIO}/dockerscripts/docker-entrypoint.sh (a first argument other than minio gets minio in front)`,
            },
            source: `${MINIO}/Dockerfile.release (ENTRYPOINT ["/usr/bin/docker-entrypoint.sh"], CMD ["minio"], EXPOSE 9000, VOLUME ["/data"])`,
        },
        processes: [
            {
                program: "minio",
                subcommand: "server",
                what: "the object store",
                writes: [
                    { afterArg: "server", path: "/data", what: "objects and .minio.sys (the directory argument of `server`)", source: `${MINIO}/Dockerfile.release (VOLUME ["/data"])` },
                    {
                        path: "$HOME/.minio",
                        flag: "--certs-dir",
                        what: "certs/CAs, created at every start (fatal when it cannot be)",
                        source: `${MINIO}/cmd/config-dir.go (getDefaultConfigDir: homedir + .minio) and ${MINIO}/cmd/common-main.go (mkdirAllIgnorePerm(globalCertsCADir): 'Unable to create certs CA directory')`,
                    },
                ],
                env: [
                    {
                        name: "MINIO_ROOT_USER",
                        use: "required",
                        when: { env: "MINIO_ROOT_PASSWORD" },
                        note: "fatal 'Unable to start MinIO' when only the password is set; with neither, MinIO falls back to its well-known default root credentials (DefaultAccessKey/DefaultSecretKey), which is why the platform always sets both from generated Secrets",
                        source: `${MINIO}/cmd/common-main.go (EnvRootUser/EnvRootPassword checks) and ${MINIO}/internal/auth/credentials.go (DefaultAccessKey)`,
                    },
                    {
                        name: "MINIO_ROOT_PASSWORD",
                        use: "required",
                        when: { env: "MINIO_ROOT_USER" },
                        note: "fatal 'Unable to start MinIO' when only the user is set",
                        source: `${MINIO}/cmd/common-main.go`,
                    },
                ],
                ports: [
                    { port: 9000, protocol: "TCP", what: "S3 API (EXPOSE 9000; --address)", source: `${MINIO}/Dockerfile.release` },
                    { port: 0, protocol: "TCP", what: "console: a random free port unless --console-address", source: `${MINIO}/cmd/common-main.go (xnet.GetFreePort for the console)` },
                ],
                behaviour: [
                    {
                        fact: "the root credentials are read from the environment at every start (nothing is stored), so new values take effect on restart",
                        source: `${MINIO}/cmd/common-main.go (loadRootCredentials)`,
                    },
                ],
            },
            NO_WRITES_CLIENT(
                "a command that replaces the ENTRYPOINT (the image also ships mc and curl) runs without the server and writes none of its paths",
                `${MINIO}/Dockerfile.release (COPY mc*, curl* to /usr/bin) and ${MINIO}/dockerscripts/docker-entrypoint.sh (anything reaching it becomes \`minio ...\`)`,
            ),
        ],
        build: {
            buildable: true,
            from: ["go", "debian"],
            sameVersion: false,
            localRef: "quay.io/minio/minio:v0.0.0-20260212201848-7aac2a2c5b7c",
            note:
                "minio and mc from tools/minio/build.sh: github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c, not the pinned RELEASE.2025-04-22T22-12-26Z " +
                "(the module is untagged and the commit is no RELEASE.* build, so the tag is the pseudo-version), behind our own docker-entrypoint.sh. " +
                "Differences from upstream: `minio --version` says DEVELOPMENT.GOGET (go install stamps no version); the base is Debian bookworm minbase with ca-certificates (upstream UBI-micro); " +
                "it ships mc but not curl; MINIO_USERNAME user switching is not supported (upstream deprecated it); it runs as root by default, as upstream; /data is root's, 0755, with no VOLUME",
            source: "tools/images/minio/image.sh",
        },
    },
    {
        repository: "quay.io/minio/mc",
        pinned: { tag: "RELEASE.2025-04-16T18-13-26Z", source: "config/minio.ts (clientImage)" },
        upstream: { read: "minio/mc at tag RELEASE.2025-04-16T18-13-26Z; Dockerfile.release unchanged at the snapshot's HEAD (77f82e18)" },
        runAs: {
            user: 0,
            group: 0,
            home: "/root",
            source: `${MC}/Dockerfile.release (no USER: the ubi-micro base runs as root)`,
            anyUser: { why: "the image has no user of its own; mc needs only its config directory writable", source: `${MC}/Dockerfile.release and ${MC}/cmd/config.go (getMcConfigDir)` },
        },
        imageEnv: { values: {}, source: `${MC}/Dockerfile.release (no ENV)` },
        entrypoint: { entrypoint: ["mc"], cmd: [], workdir: "/", source: `${MC}/Dockerfile.release (ENTRYPOINT ["mc"])` },
        processes: [
            {
                program: "mc",
                what: "the MinIO client",
                writes: [
                    {
                        path: "$HOME/.mc",
                        env: "MC_CONFIG_DIR",
                        flag: "--config-dir",
                        what: "config.json, share/ and session files, created on every run",
                        source: `${MC}/cmd/config.go (getMcConfigDir: homedir + .mc/) and ${MC}/cmd/flags.go (config-dir, EnvVar MC_CONFIG_DIR)`,
                    },
                ],
                env: [{ name: "MC_HOST_<alias>", use: "read", note: "an alias as a URL with credentials; used instead of `mc alias set`", source: `${MC}/cmd/config.go (mcEnvHostPrefix = "MC_HOST_")` }],
                ports: [],
                behaviour: [{ fact: "ENTRYPOINT is the mc binary itself; the image has no shell script around it", source: `${MC}/Dockerfile.release` }],
            },
        ],
        build: {
            buildable: true,
            from: ["go", "debian"],
            sameVersion: false,
            localRef: "quay.io/minio/mc:v0.0.0-20250313080218-cf909e1063a9",
            note:
                "mc from tools/minio/build.sh: github.com/minio/mc v0.0.0-20250313080218-cf909e1063a9, a month before the pinned RELEASE.2025-04-16T18-13-26Z " +
                "(the module is untagged and the commit is no RELEASE.* build, so the tag is the pseudo-version). " +
                "Differences from upstream: `mc --version` says DEVELOPMENT.GOGET (go install stamps no version); the base is Debian bookworm minbase with ca-certificates (upstream UBI-micro), " +
                "so the image has /bin/sh; it runs as root by default, as upstream",
            source: "tools/images/mc/image.sh",
        },
    },
    {
        repository: "registry.k8s.io/git-sync/git-sync",
        pinned: { tag: "v4.4.2", source: "config/airflow.ts (airflow.dags.git.image)" },
        upstream: { read: "kubernetes/git-sync at tag v4.4.2 (Dockerfile.in, main.go)" },
        runAs: {
            user: 65533,
            group: 65533,
            home: "/tmp",
            source: `${GIT_SYNC}/Dockerfile.in (echo "git-sync:x:65533:65533::/tmp:/sbin/nologin" >> /etc/passwd; USER 65533:65533)`,
            anyUser: {
                why: "'set your own UID/GID and mount a volume on /git writeable by those'; HOME=/tmp so any uid can write it; SSH with another uid needs --add-user",
                source: `${GIT_SYNC}/Dockerfile.in (header 'HOW TO USE THIS CONTAINER', ENV HOME=/tmp)`,
            },
        },
        imageEnv: { values: { HOME: "/tmp", GITSYNC_ROOT: "/git" }, source: `${GIT_SYNC}/Dockerfile.in (ENV HOME=/tmp, ENV GITSYNC_ROOT=/git)` },
        entrypoint: { entrypoint: ["/git-sync"], cmd: [], workdir: "/tmp", source: `${GIT_SYNC}/Dockerfile.in (ENTRYPOINT ["/{ARG_BIN}"], WORKDIR /tmp)` },
        processes: [
            {
                program: "git-sync",
                what: "the repository syncer",
                writes: [
                    {
                        path: "/git",
                        env: "GITSYNC_ROOT",
                        flag: "--root",
                        what: "the repository and its worktrees; the link is swapped atomically after each sync",
                        shipped: { path: "/git", owner: 65533, group: 65533, mode: 0o2775, source: `${GIT_SYNC}/Dockerfile.in (mkdir -m 02775 /git && chown 65533:65533 /git)` },
                        source: `${GIT_SYNC}/main.go (--root, $GITSYNC_ROOT)`,
                    },
                    { path: "/tmp", env: "TMPDIR", what: "a private gitconfig (os.CreateTemp), fatal when it cannot be created", source: `${GIT_SYNC}/main.go ('FATAL: can't create gitconfig file')` },
                ],
                env: [
                    { name: "GITSYNC_REPO", use: "required", orFlag: "--repo", note: "'required flag: --repo must be specified'", source: `${GIT_SYNC}/main.go` },
                    {
                        name: "GITSYNC_PASSWORD",
                        use: "required",
                        orEnv: ["GITSYNC_PASSWORD_FILE"],
                        orFlag: "--password-file",
                        when: { env: "GITSYNC_USERNAME" },
                        note: "'required flag: $GITSYNC_PASSWORD or --password-file must be specified when --username is specified'",
                        source: `${GIT_SYNC}/main.go`,
                    },
                    { name: "GITSYNC_REF", use: "read", note: "default HEAD", source: `${GIT_SYNC}/main.go (envString("HEAD", "GITSYNC_REF"))` },
                ],
                ports: [],
                behaviour: [{ fact: "the uid needs a passwd entry only for SSH (--add-user writes one; /etc/passwd is 0666 for it)", source: `${GIT_SYNC}/Dockerfile.in` }],
            },
        ],
        build: {
            buildable: false,
            from: ["go"],
            sameVersion: false,
            note: "the Go module proxy refuses k8s.io/git-sync at every version; Debian's git with a shell loop would be a different program, not this image",
            source: "the Go module proxy's answer for k8s.io/git-sync, as recorded by the project (every version refused); not asked again here",
        },
    },
    {
        repository: "docker.io/prom/prometheus",
        pinned: { tag: "v3.5.0", source: "config/prometheus.ts" },
        upstream: { read: "prometheus/prometheus at tag v3.5.0 (8be3a956)" },
        runAs: {
            user: 65534,
            group: 65534,
            source: `${PROMETHEUS}/Dockerfile (USER nobody; chown nobody:nobody) and ${STATSD}/Dockerfile (USER 65534, the same busybox base's nobody named numerically); the gid 65534 of busybox's nobody group is not stated in either file`,
            anyUser: false,
        },
        imageEnv: { values: {}, source: `${PROMETHEUS}/Dockerfile` },
        entrypoint: {
            entrypoint: ["/bin/prometheus"],
            cmd: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
            workdir: "/prometheus",
            source: `${PROMETHEUS}/Dockerfile (WORKDIR /prometheus, ENTRYPOINT ["/bin/prometheus"], CMD, EXPOSE 9090, VOLUME ["/prometheus"])`,
        },
        processes: [
            {
                program: "prometheus",
                what: "the server",
                writes: [
                    {
                        path: "data/",
                        flag: "--storage.tsdb.path",
                        what: "the TSDB (blocks, WAL, lock) and queries.active; the CMD passes /prometheus, the flag's own default is data/ under WORKDIR",
                        shipped: { path: "/prometheus", owner: 65534, group: 65534, mode: 0o775, source: `${PROMETHEUS}/Dockerfile (chown -R nobody:nobody /etc/prometheus /prometheus && chmod g+w /prometheus)` },
                        source: `${PROMETHEUS}/cmd/prometheus/main.go:428-429 (storage.tsdb.path default "data/") and ${PROMETHEUS}/promql/query_logger.go:140 (queries.active in the storage path)`,
                    },
                ],
                env: [],
                ports: [{ port: 9090, protocol: "TCP", what: "UI, API and /metrics (--web.listen-address default 0.0.0.0:9090)", source: `${PROMETHEUS}/cmd/prometheus/main.go:362-363` }],
                behaviour: [
                    { fact: "arguments replace the CMD entirely: a pod that passes args must pass --config.file and --storage.tsdb.path itself", source: `${PROMETHEUS}/Dockerfile` },
                ],
            },
        ],
        build: {
            buildable: true,
            from: ["go", "debian"],
            sameVersion: true,
            localRef: "docker.io/prom/prometheus:v3.5.0",
            note:
                "prometheus and promtool from tools/prometheus/build.sh (Go module github.com/prometheus/prometheus v0.305.0, which is v3.5.0, through a wrapper module: its go.mod has a replace line, " +
                "so `go install` refuses it) with the module's example prometheus.yml, on the local busybox image (Debian's busybox-static); Debian's prometheus package (2.42.0) is another major. " +
                "Differences from upstream: built with go1.26.8 (upstream 1.24) and -tags netgo, without builtinassets, so there is no web UI (/ redirects to /query, which returns 500; the API and /metrics work); " +
                "`prometheus --version` shows revision unknown; no LICENSE or NOTICE files in the image",
            source: "tools/images/prometheus/image.sh",
        },
    },
    {
        repository: "docker.io/prom/statsd-exporter",
        pinned: { tag: "v0.31.0", source: "config/statsd-exporter.ts" },
        upstream: {
            read: "prometheus/statsd_exporter at ac592b1e (VERSION 0.30.0)",
            note: "the snapshot stops before v0.31.0; the Dockerfile last changed on 2026-03-12 (healthcheck removed), before 0.30.0",
        },
        runAs: { user: 65534, group: 65534, source: `${STATSD}/Dockerfile (USER 65534, no group: the primary group of busybox's nobody, 65534 by convention; not stated in the file)`, anyUser: false },
        imageEnv: { values: {}, source: `${STATSD}/Dockerfile` },
        entrypoint: { entrypoint: ["/bin/statsd_exporter"], cmd: [], workdir: "/", source: `${STATSD}/Dockerfile (ENTRYPOINT ["/bin/statsd_exporter"], EXPOSE 9102 9125 9125/udp)` },
        processes: [
            {
                program: "statsd_exporter",
                what: "the StatsD-to-Prometheus bridge",
                writes: [],
                env: [],
                ports: [
                    { port: 9102, protocol: "TCP", what: "/metrics (--web.listen-address)", source: `${STATSD}/Dockerfile` },
                    { port: 9125, protocol: "UDP", what: "StatsD (--statsd.listen-udp)", source: `${STATSD}/Dockerfile` },
                    { port: 9125, protocol: "TCP", what: "StatsD (--statsd.listen-tcp)", source: `${STATSD}/Dockerfile` },
                ],
                behaviour: [{ fact: "keeps its counters in memory and writes no files; the mapping file is read at start", source: `${STATSD}/Dockerfile` }],
            },
        ],
        build: {
            buildable: true,
            from: ["go", "debian"],
            sameVersion: true,
            localRef: "docker.io/prom/statsd-exporter:v0.31.0",
            note:
                "statsd_exporter from tools/statsd-exporter/build.sh (go install github.com/prometheus/statsd_exporter@v0.31.0) on the local busybox image (Debian's busybox-static). " +
                "Differences from upstream: the build_info version label and the `--version` output are empty (go install stamps no version)",
            source: "tools/images/statsd-exporter/image.sh",
        },
    },
    {
        repository: "docker.io/grafana/grafana",
        pinned: { tag: "12.2.1", source: "config/grafana.ts" },
        upstream: {
            read: "grafana/grafana Dockerfile at 78515af6 (Go 1.24.2, alpine 3.21: the 12.0 era) and packaging/docker/run.sh at 07754534",
            note: "12.2.1's own revision is not in the store; GF_UID/GF_GID, the paths and run.sh's contract are the same in both revisions read",
        },
        runAs: {
            user: 472,
            group: 0,
            source: `${GRAFANA_DOCKERFILE} (ARG GF_UID="472", ARG GF_GID="0"; adduser -S -u $GF_UID -G <group of gid 0> grafana; USER "$GF_UID")`,
            anyUser: {
                why: "every path Grafana writes is created mode 0777, so any uid can run it (the documented way to run with bind mounts is --user)",
                source: `${GRAFANA_DOCKERFILE} (chmod -R 777 "$GF_PATHS_DATA" "$GF_PATHS_HOME/.aws" "$GF_PATHS_LOGS" "$GF_PATHS_PLUGINS" "$GF_PATHS_PROVISIONING")`,
            },
        },
        imageEnv: {
            values: {
                GF_PATHS_CONFIG: "/etc/grafana/grafana.ini",
                GF_PATHS_DATA: "/var/lib/grafana",
                GF_PATHS_HOME: "/usr/share/grafana",
                GF_PATHS_LOGS: "/var/log/grafana",
                GF_PATHS_PLUGINS: "/var/lib/grafana/plugins",
                GF_PATHS_PROVISIONING: "/etc/grafana/provisioning",
            },
            source: `${GRAFANA_DOCKERFILE} (ENV GF_PATHS_*)`,
        },
        entrypoint: {
            entrypoint: ["/run.sh"],
            cmd: [],
            workdir: "/usr/share/grafana",
            script: { path: "/run.sh", execs: { kind: "program", program: "grafana", programArgs: ["server"] }, source: `${GRAFANA_RUN} (exec grafana server --homepath ... "$@" cfg:default.paths.*)` },
            source: `${GRAFANA_DOCKERFILE} (WORKDIR $GF_PATHS_HOME, EXPOSE 3000, ENTRYPOINT ["/run.sh"])`,
        },
        processes: [
            {
                program: "grafana",
                subcommand: "server",
                what: "the server",
                writes: [
                    {
                        path: "/var/lib/grafana",
                        env: "GF_PATHS_DATA",
                        what: "grafana.db (users, sessions, preferences), plugins",
                        shipped: { path: "/var/lib/grafana", owner: 472, group: 0, mode: 0o777, source: GRAFANA_DOCKERFILE },
                        source: `${GRAFANA_RUN} (warns when GF_PATHS_DATA is not writable; cfg:default.paths.data)`,
                    },
                    {
                        path: "/var/lib/grafana/plugins",
                        env: "GF_PATHS_PLUGINS",
                        what: "plugins (run.sh creates the directory when missing)",
                        shipped: { path: "/var/lib/grafana/plugins", owner: 472, group: 0, mode: 0o777, source: GRAFANA_DOCKERFILE },
                        source: `${GRAFANA_RUN} (mkdir "$GF_PATHS_PLUGINS")`,
                    },
                    {
                        path: "/var/log/grafana",
                        env: "GF_PATHS_LOGS",
                        what: "log files (run.sh sets log mode console; the path is still passed)",
                        shipped: { path: "/var/log/grafana", owner: 472, group: 0, mode: 0o777, source: GRAFANA_DOCKERFILE },
                        source: `${GRAFANA_RUN} (cfg:default.paths.logs)`,
                    },
                ],
                env: [
                    {
                        name: "GF_SECURITY_ADMIN_PASSWORD",
                        use: "read",
                        note: "default admin; applied only when the admin user is first created in an empty data directory, later changes are ignored",
                        source: `${GH}/grafana/grafana/blob/main/conf/defaults.ini ([security] admin_password: 'can be changed before first start of grafana, or in profile settings')`,
                    },
                ],
                ports: [{ port: 3000, protocol: "TCP", what: "HTTP (EXPOSE 3000; [server] http_port)", source: GRAFANA_DOCKERFILE }],
                behaviour: [
                    { fact: "GF_<SECTION>_<KEY> overrides grafana.ini; GF_<VAR>__FILE reads the value from a file (both set is an error)", source: GRAFANA_RUN },
                    { fact: "run.sh exports HOME=$GF_PATHS_HOME and forces log mode console", source: GRAFANA_RUN },
                ],
            },
        ],
        build: {
            buildable: false,
            from: ["go", "npm"],
            sameVersion: false,
            note: "Grafana's Go module is not usable here (the Go package list marks github.com/grafana/grafana not-to-use: AGPL); it is not a Debian package either",
            source: "the go-partial package list of this workplace",
        },
    },
    {
        repository: "ghcr.io/mlflow/mlflow",
        pinned: { tag: "v3.5.1", source: "services/mlflow/Dockerfile (FROM)" },
        upstream: {
            read: "mlflow/mlflow docker/Dockerfile at e52d70d6 (FROM python:3.10-slim-bullseye; pip install mlflow==$VERSION) and the mlflow-skinny 3.5.1 wheel",
            note: "the Dockerfile's revision for the v3.5.1 image was not established; docker/Dockerfile.full (3.9+) moved to python:3.11-slim-bookworm",
        },
        runAs: { user: 0, group: 0, home: "/root", source: `${MLFLOW_DOCKERFILE} (no USER: the python base runs as root)`, anyUser: false },
        imageEnv: { values: {}, source: MLFLOW_DOCKERFILE },
        entrypoint: { entrypoint: [], cmd: ["python3"], workdir: "/", source: `${MLFLOW_DOCKERFILE} (no ENTRYPOINT/CMD/WORKDIR: the python image's CMD ["python3"])` },
        processes: [MLFLOW_SERVER],
        build: {
            buildable: true,
            from: ["pypi", "debian"],
            sameVersion: true,
            localRef: "ghcr.io/mlflow/mlflow:v3.5.1",
            note:
                "mlflow==3.5.1 from PyPI with tools/images/mlflow-base/constraints-3.11.txt (the versions of the MLflow image's hash lock services/mlflow/requirements.lock.txt for this Python) and pip 26.1.2, " +
                "in a venv at /usr/local on Debian bookworm's Python 3.11, so python3, pip and mlflow are at the python image's paths; root, no ENTRYPOINT, CMD python3, as upstream. " +
                "Differences from upstream: Debian's Python 3.11 (upstream the python image's own 3.10); every installed version fixed by the constraints file (upstream has none)",
            source: "tools/images/mlflow-base/image.sh",
        },
    },
    {
        repository: "mlops-platform/mlflow",
        pinned: { tag: "3.5.1-1", source: "config/mlflow.ts" },
        upstream: { read: "services/mlflow/Dockerfile (ours), on ghcr.io/mlflow/mlflow:v3.5.1" },
        runAs: { user: 1000, group: 1000, source: "services/mlflow/Dockerfile (USER 1000:1000; no passwd entry in the python base)", anyUser: false },
        imageEnv: { values: { HOME: "/tmp" }, source: "services/mlflow/Dockerfile (ENV HOME=/tmp)" },
        entrypoint: { entrypoint: [], cmd: ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"], workdir: "/", source: "services/mlflow/Dockerfile (ENTRYPOINT [], CMD)" },
        processes: [
            MLFLOW_SERVER,
            {
                program: "mlflow",
                subcommand: "gc",
                what: "permanent deletion of the runs deleted longer ago than --older-than, with their artifacts (the gc CronJob)",
                writes: [
                    {
                        path: "./mlruns",
                        flag: "--backend-store-uri",
                        what: "the file backend store, when no database URI is given",
                        source: `${MLFLOW_SRC}/cli/__init__.py (gc: --backend-store-uri default DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH)`,
                    },
                ],
                env: [
                    {
                        name: "MLFLOW_TRACKING_URI",
                        use: "required",
                        orFlag: "--tracking-uri",
                        note: "'Tracking URL is not set' otherwise; with proxied artifacts it must be the server, which resolves mlflow-artifacts:/ URIs",
                        source: `${MLFLOW_SRC}/cli/__init__.py (gc: is_tracking_uri_set; the command's docstring)`,
                    },
                ],
                ports: [],
                behaviour: [
                    {
                        fact: "fails (MlflowException) when a deleted experiment older than --older-than holds a run deleted more recently; the platform never deletes experiments",
                        source: `${MLFLOW_SRC}/cli/__init__.py (gc: 'is not older than the required age')`,
                    },
                ],
            },
            {
                program: "*",
                what: "a Python one-off: the schema upgrade Job (the tracking database only) or the server pod's auth setup (both databases)",
                writes: [
                    {
                        env: "MLFLOW_AUTH_CONFIG_PATH",
                        fileIn: true,
                        what: "the auth setup writes the auth app's config there (mode 600); nothing without the variable",
                        source: "components/mlflow.ts (AUTH_SETUP_SCRIPT)",
                    },
                ],
                env: [],
                ports: [],
                behaviour: [
                    {
                        fact: "the auth setup's MlflowClient on a database URI creates its default artifact root ./mlruns in the working directory (the pod sets workingDir /tmp, an emptyDir)",
                        source: `${MLFLOW_SRC}/store/tracking/sqlalchemy_store.py (SqlAlchemyStore.__init__: mkdir of a local default_artifact_root) and components/mlflow.ts (auth-setup)`,
                    },
                ],
            },
        ],
        build: {
            buildable: true,
            from: ["pypi", "debian"],
            sameVersion: true,
            localRef: "docker.io/mlops-platform/mlflow:3.5.1-1",
            note:
                "services/mlflow/Dockerfile as written (pip install --no-deps --require-hashes of services/mlflow/requirements.lock.txt), on the local ghcr.io/mlflow/mlflow:v3.5.1 (tools/images/mlflow-base); " +
                "the differences from an upstream-based build are the base's (Debian's Python 3.11 in a venv at /usr/local, not 3.10)",
            source: "tools/images/mlflow/image.sh",
        },
    },
    {
        repository: "apache/airflow",
        pinned: { tag: "3.3.2-python3.11", source: "services/airflow/Dockerfile (FROM)" },
        upstream: {
            read: "apache/airflow Dockerfile at 0060b1a4 (AIRFLOW_VERSION 3.3.0), scripts/docker/entrypoint_prod.sh at 424b6e9c, and the apache-airflow-core 3.3.2 wheel",
            note: "the 3.3.2 image's Dockerfile revision was not in the store; the user, paths and entrypoint are those of the 3.3 line",
        },
        runAs: {
            user: 50000,
            group: 0,
            home: "/home/airflow",
            source: `${AIRFLOW_DOCKERFILE} (ARG AIRFLOW_UID="50000"; adduser airflow --uid $AIRFLOW_UID --gid 0 --home /home/airflow; USER \${AIRFLOW_UID})`,
            anyUser: {
                group: 0,
                why: "OpenShift-style: any uid works with gid 0 (every Airflow path is group 0 and g+rw); the entrypoint exits 1 for another gid unless the uid is 50000",
                source: `${AIRFLOW_ENTRYPOINT} (check_uid_gid, create_system_user_if_missing)`,
            },
        },
        imageEnv: { values: { AIRFLOW_HOME: "/opt/airflow", AIRFLOW_USER_HOME_DIR: "/home/airflow" }, source: `${AIRFLOW_DOCKERFILE} (ENV AIRFLOW_HOME, AIRFLOW_USER_HOME_DIR)` },
        entrypoint: {
            entrypoint: ["/usr/bin/dumb-init", "--", "/entrypoint"],
            cmd: [],
            workdir: "/opt/airflow",
            script: {
                path: "/entrypoint",
                execs: { kind: "program", program: "airflow", dropFirst: "airflow", passThrough: ["bash", "python"] },
                source: `${AIRFLOW_ENTRYPOINT} (exec_to_bash_or_python_command_if_specified; a leading airflow is removed; exec "airflow" "$@")`,
            },
            source: `${AIRFLOW_DOCKERFILE} (WORKDIR \${AIRFLOW_HOME}, EXPOSE 8080, ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"], CMD [])`,
        },
        processes: [...AIRFLOW_PROCESSES, AIRFLOW_SHELL],
        build: {
            buildable: true,
            from: ["pypi", "debian"],
            sameVersion: true,
            localRef: "docker.io/apache/airflow:3.3.2-python3.11",
            note:
                "apache-airflow 3.3.2 with the celery, postgres and amazon providers and statsd (services/airflow/requirements.txt) from PyPI, with pip 26.1.2 and tools/images/airflow-base/constraints-3.11.txt " +
                "(the versions of the Airflow image's hash lock services/airflow/requirements.lock.txt, the full resolution of services/airflow/requirements.txt and dags/requirements.txt on the image's Python: Airflow's own constraints file lives on GitHub, unreachable here), " +
                "in a venv at /home/airflow/.local owned 50000:0 and group-writable, on Debian bookworm's Python 3.11.2, behind our own /entrypoint under dumb-init. " +
                "Differences from upstream: Debian's Python (upstream compiles its own CPython); only those three providers and statsd (upstream ~30 extras; no FAB, so `airflow users create`, " +
                "which _AIRFLOW_WWW_USER_CREATE runs, does not exist); _PIP_ADDITIONAL_REQUIREMENTS is refused with exit 1; no /clean-logs, airflow-scheduler-autorestart, sudo or LABELs; " +
                "of upstream's ENV it keeps AIRFLOW_HOME, AIRFLOW_USER_HOME_DIR, AIRFLOW_UID, AIRFLOW_VERSION, VIRTUAL_ENV, PIP_CACHE_DIR, GUNICORN_CMD_ARGS, DUMB_INIT_SETSID=1, " +
                "AIRFLOW__CORE__LOAD_EXAMPLES=false, LANG and LC_ALL",
            source: "tools/images/airflow-base/image.sh",
        },
    },
    {
        repository: "mlops-platform/airflow",
        pinned: { tag: "3.3.2-1", source: "config/airflow.ts" },
        upstream: { read: "services/airflow/Dockerfile (ours), on apache/airflow:3.3.2-python3.11" },
        runAs: {
            user: 50000,
            group: 0,
            home: "/home/airflow",
            source: "services/airflow/Dockerfile (USER 50000:0)",
            anyUser: { group: 0, why: "as the official image: any uid with gid 0", source: `${AIRFLOW_ENTRYPOINT} (check_uid_gid)` },
        },
        imageEnv: { values: { AIRFLOW_HOME: "/opt/airflow", AIRFLOW_USER_HOME_DIR: "/home/airflow" }, source: `${AIRFLOW_DOCKERFILE} (inherited)` },
        entrypoint: {
            entrypoint: ["/usr/bin/dumb-init", "--", "/entrypoint"],
            cmd: [],
            workdir: "/opt/airflow",
            script: {
                path: "/entrypoint",
                execs: { kind: "program", program: "airflow", dropFirst: "airflow", passThrough: ["bash", "python"] },
                source: `${AIRFLOW_ENTRYPOINT} (inherited: services/airflow/Dockerfile keeps the ENTRYPOINT)`,
            },
            source: "services/airflow/Dockerfile ('The official entrypoint stays')",
        },
        processes: [
            ...AIRFLOW_PROCESSES,
            AIRFLOW_SHELL,
            {
                program: "cp",
                what: "coreutils cp: the api-server's init container copies the passwords file from its Secret into a writable emptyDir (components/airflow.ts)",
                writes: [],
                env: [],
                ports: [],
                behaviour: [{ fact: "writes only the destination it is given (a mounted emptyDir here)", source: "coreutils cp(1), Debian bookworm" }],
            },
        ],
        build: {
            buildable: true,
            from: ["pypi", "debian"],
            sameVersion: true,
            localRef: "docker.io/mlops-platform/airflow:3.3.2-1",
            note:
                "services/airflow/Dockerfile as written (pip install --no-deps --require-hashes of services/airflow/requirements.lock.txt), on the local apache/airflow:3.3.2-python3.11 (tools/images/airflow-base); " +
                "the differences from an upstream-based build are the base's (Debian's Python 3.11.2, only the celery, postgres and amazon providers and statsd, no FAB, our own /entrypoint)",
            source: "tools/images/airflow/image.sh",
        },
    },
    {
        repository: "mlops-platform/model-api",
        pinned: { tag: "0.1.0", source: "config/services.ts (modelApi.image)" },
        upstream: { read: "services/model-api/Dockerfile (ours), on docker.io/library/node:20.20.2-bookworm-slim (docker-node at 8e93bb03)" },
        runAs: { user: 1000, group: 1000, home: "/home/node", source: `services/model-api/Dockerfile (USER 1000:1000) and ${NODE}/Dockerfile:3-4 (node is 1000:1000, --create-home)`, anyUser: false },
        imageEnv: { values: { NODE_ENV: "production", HOST: "0.0.0.0", PORT: "8989" }, source: "services/model-api/Dockerfile (ENV)" },
        entrypoint: {
            entrypoint: ["docker-entrypoint.sh"],
            cmd: ["node", "services/model-api/dist/src/server.js"],
            workdir: "/app",
            script: NODE_ENTRYPOINT_SCRIPT,
            source: `services/model-api/Dockerfile (WORKDIR /app, CMD; ENTRYPOINT inherited from ${NODE}/Dockerfile)`,
        },
        processes: [
            {
                program: "node",
                subcommand: "services/model-api/dist/src/prune.js",
                what: "the inference-log retention program (the prune CronJob): deletes old rows of serving.inference_log in batches",
                writes: [],
                env: [
                    { name: "DATABASE_URL", use: "required", note: "exits 2 without it", source: "services/model-api/src/prune.ts (main)" },
                    { name: "INFERENCE_LOG_RETENTION_DAYS", use: "required", note: "a whole number of days >= 1, or exit 2", source: "services/model-api/src/prune.ts (parseDays)" },
                ],
                ports: [],
                behaviour: [{ fact: "talks to Postgres only, prints JSON lines, writes no files", source: "services/model-api/src/prune.ts" }],
            },
            {
                program: "node",
                subcommand: "services/model-api/dist/src/migrate.js",
                what: "the schema migrations (the migrate init container, as the owner), then the server role's grants (INSERT into serving.inference_log only)",
                writes: [],
                env: [
                    { name: "DATABASE_URL", use: "required", note: "exits 2 without it", source: "services/model-api/src/migrate.ts (main)" },
                    { name: "DATABASE_RUNTIME_ROLE", use: "read", note: "the role granted what the server runs; none granted without it", source: "services/model-api/src/migrate.ts (main, grantRuntimeRole)" },
                ],
                ports: [],
                behaviour: [{ fact: "talks to Postgres only, prints JSON lines, writes no files; reads the SQL files of migrations/", source: "services/model-api/src/migrate.ts" }],
            },
            {
                program: "node",
                what: "the model API server",
                writes: [
                    {
                        env: "MODEL_CACHE_DIR",
                        what: "the last good model (model.onnx, feature_spec.json, meta.json), written after each load from MLflow; nothing without the variable",
                        source: "services/model-api/src/model-cache.ts (writeModelCache) and src/config.ts (MODEL_CACHE_DIR)",
                    },
                ],
                env: [
                    {
                        name: "MLFLOW_TRACKING_URI",
                        use: "required",
                        orEnv: ["MODEL_PATH"],
                        note: "refuses to start without it unless MODEL_PATH serves a local model",
                        source: "services/model-api/src/config.ts (loadConfig)",
                    },
                    { name: "DATABASE_URL", use: "read", note: "the inference log is off without it", source: "services/model-api/src/config.ts" },
                ],
                ports: [{ port: 8989, protocol: "TCP", what: "HTTP (PORT)", source: "services/model-api/Dockerfile (EXPOSE 8989)" }],
                behaviour: [
                    {
                        fact: "loads the model into memory through MLflow's artifact proxy; writes files only to MODEL_CACHE_DIR, and serves the model kept there when MLflow cannot be reached at start",
                        source: "services/model-api/src/model.ts",
                    },
                ],
            },
        ],
        build: nodeServiceBuild("model-api"),
    },
    {
        repository: "mlops-platform/data-api",
        pinned: { tag: "0.1.0", source: "config/services.ts (dataApi.image)" },
        upstream: { read: "services/data-api/Dockerfile (ours), on docker.io/library/node:20.20.2-bookworm-slim (docker-node at 8e93bb03)" },
        runAs: { user: 1000, group: 1000, home: "/home/node", source: `services/data-api/Dockerfile (USER 1000:1000) and ${NODE}/Dockerfile:3-4`, anyUser: false },
        imageEnv: {
            values: { NODE_ENV: "production", DATA_API_PORT: "8000", DATA_API_STATE_FILE: "/var/lib/data-api/state.json" },
            source: "services/data-api/Dockerfile (ENV)",
        },
        entrypoint: {
            entrypoint: ["docker-entrypoint.sh"],
            cmd: ["node", "services/data-api/dist/server.js"],
            workdir: "/app",
            script: NODE_ENTRYPOINT_SCRIPT,
            source: `services/data-api/Dockerfile (WORKDIR /app, CMD, VOLUME /var/lib/data-api; ENTRYPOINT inherited from ${NODE}/Dockerfile)`,
        },
        processes: [
            {
                program: "node",
                subcommand: "services/data-api/dist/migrate.js",
                what: "the schema migrations (the migrate init container, as the owner), then the server role's grants (the batch counters only)",
                writes: [],
                env: [
                    { name: "DATA_API_DATABASE_URL", use: "required", note: "exits 2 without it", source: "services/data-api/src/migrate.ts (main)" },
                    { name: "DATA_API_DATABASE_RUNTIME_ROLE", use: "read", note: "the role granted what the server runs; none granted without it", source: "services/data-api/src/migrate.ts (main, grantRuntimeRole)" },
                ],
                ports: [],
                behaviour: [{ fact: "talks to Postgres only, prints JSON lines, writes no files; reads the SQL files of migrations/", source: "services/data-api/src/migrate.ts" }],
            },
            {
                program: "node",
                what: "the data API server",
                writes: [
                    {
                        path: "data-api-state.json",
                        env: "DATA_API_STATE_FILE",
                        fileIn: true,
                        unless: { env: "DATA_API_STATE_BACKEND", equals: "postgres" },
                        what: "the batch counters (write + rename of a temp file beside it)",
                        shipped: { path: "/var/lib/data-api", owner: 1000, group: 1000, mode: 0o755, source: "services/data-api/Dockerfile (mkdir -p /var/lib/data-api && chown 1000:1000)" },
                        source: "services/data-api/src/state.ts (FileStateStore) and services/data-api/src/config.ts (DATA_API_STATE_FILE default data-api-state.json)",
                    },
                ],
                env: [
                    {
                        name: "DATA_API_DATABASE_URL",
                        use: "required",
                        when: { env: "DATA_API_STATE_BACKEND", equals: "postgres" },
                        note: "refuses to start with the postgres state backend and no database URL",
                        source: "services/data-api/src/config.ts (crossFieldProblems)",
                    },
                ],
                ports: [{ port: 8000, protocol: "TCP", what: "HTTP (DATA_API_PORT)", source: "services/data-api/Dockerfile (EXPOSE 8000)" }],
                behaviour: [],
            },
        ],
        build: nodeServiceBuild("data-api"),
    },
    {
        repository: "mlops-platform/ui",
        pinned: { tag: "0.1.0", source: "config/services.ts (ui.image)" },
        upstream: { read: "services/ui/Dockerfile (ours), on docker.io/library/node:20.20.2-bookworm-slim (docker-node at 8e93bb03)" },
        runAs: { user: 1000, group: 1000, home: "/home/node", source: `services/ui/Dockerfile (USER 1000:1000) and ${NODE}/Dockerfile:3-4`, anyUser: false },
        imageEnv: { values: { NODE_ENV: "production", UI_PORT: "8501" }, source: "services/ui/Dockerfile (ENV)" },
        entrypoint: {
            entrypoint: ["docker-entrypoint.sh"],
            cmd: ["node", "services/ui/dist/server.js"],
            workdir: "/app",
            script: NODE_ENTRYPOINT_SCRIPT,
            source: `services/ui/Dockerfile (WORKDIR /app, CMD; ENTRYPOINT inherited from ${NODE}/Dockerfile)`,
        },
        processes: [
            {
                program: "node",
                what: "the UI server (static bundle and a proxy to the APIs)",
                writes: [],
                env: [],
                ports: [{ port: 8501, protocol: "TCP", what: "HTTP (UI_PORT)", source: "services/ui/Dockerfile (EXPOSE 8501)" }],
                behaviour: [{ fact: "every upstream URL has a default, so no variable is required", source: "services/ui/src/config.ts (loadConfig)" }],
            },
        ],
        build: nodeServiceBuild("ui"),
    },
];

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const child of Object.values(value)) {
            deepFreeze(child);
        }
    }
    return value;
}

function table(contracts: readonly ImageContract[]): Readonly<Record<string, ImageContract>> {
    const out: Record<string, ImageContract> = {};
    for (const c of contracts) {
        if (out[c.repository]) {
            throw new Error(`image contract '${c.repository}' is listed twice`);
        }
        out[c.repository] = c;
    }
    return out;
}

/** The contracts, keyed by image repository (the reference without tag or digest). */
export const IMAGE_CONTRACTS: Readonly<Record<string, ImageContract>> = deepFreeze(table(CONTRACTS));

/** `docker.io/library/postgres:17.2-bookworm` -> `docker.io/library/postgres` (tag and digest dropped). */
export function repositoryOf(image: string): string {
    const name = image.split("@")[0] ?? image;
    const slash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    return colon > slash ? name.slice(0, colon) : name;
}

/**
 * The contract of an image reference. Our images may carry a registry in front when they are
 * pushed (`registry.example:5000/mlops-platform/mlflow@sha256:...`); upstream ones never do.
 */
export function contractFor(image: string): ImageContract | undefined {
    const repository = repositoryOf(image);
    const exact = IMAGE_CONTRACTS[repository];
    if (exact) {
        return exact;
    }
    const ours = Object.keys(IMAGE_CONTRACTS).find((k) => k.startsWith("mlops-platform/") && repository.endsWith(`/${k}`));
    return ours ? IMAGE_CONTRACTS[ours] : undefined;
}
