import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { BackupConfig } from "../config/backup";
import type { Resources } from "../config";
import { container, imageTag, maintenanceCronJob, plainEnv, podSpec, secretEnv, SecretKeyRef } from "./shared";
import { MINIO_API_PORT } from "./minio";
import { databaseAccessSql, POSTGRES_PORT, type RoleAccess } from "./postgres";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/**
 * Layout of a backup in the bucket, `<id>/`:
 *   dumps/<database>.dump    `pg_dump --format=custom` of one database
 *   dumps/SHA256SUMS         sha256 of every dump
 *   artifacts/<bucket>/...   the model artifacts (full backups)
 *   manifest.json            written last: a backup without one is incomplete
 * The id is the name of the Job that took it (a Job per backup).
 */
export const MANIFEST_FORMAT = 1;
/** Annotation of a restore Job's pod: the id of the backup it restores. */
export const RESTORE_ID_ANNOTATION = "mlops.dev/backup-id";
/** Names of the two CronJobs, as `npm run backup` and `npm run restore` find them. */
export const BACKUP_CRONJOB = "platform-backup";
export const RESTORE_CRONJOB = "platform-restore";

const ALIAS = "platform";
const SCRATCH = "/backup";
const POSTGRES_RUN_AS = { user: 999, group: 999 }; // the `postgres` user of the official image

/** Where backups go and what they are taken with. */
export interface BackupTarget {
    readonly namespace: pulumi.Input<string>;
    readonly config: BackupConfig;
    /** The Postgres image (its pg_dump and pg_restore match the server's major version). */
    readonly postgresImage: string;
    readonly postgresHost: pulumi.Input<string>;
    /** The `mc` client image. */
    readonly clientImage: string;
    readonly minioHost: pulumi.Input<string>;
    readonly minioUser: SecretKeyRef;
    readonly minioPassword: SecretKeyRef;
    /** The backups bucket; resolves once it exists. */
    readonly bucket: pulumi.Input<string>;
    /** Image versions written into each manifest (`npm run restore` refuses a backup whose versions differ). */
    readonly versions: Readonly<Record<string, string>>;
}

/** A database the backup reads, and the role it reads it as. */
export interface BackupDatabase {
    readonly name: string;
    readonly user: pulumi.Input<string>;
    readonly password: SecretKeyRef;
}

/** Init containers and their volumes, to run before a pod's own containers. */
export interface InitSteps {
    readonly initContainers: Container[];
    readonly volumes: Volume[];
}

/**
 * The dump step, a bash script for the Postgres image. Dumps each of `$DATABASES` to
 * `$BACKUP_DIR/data/$BACKUP_ID/dumps/` with a SHA256SUMS file, and writes the manifest to
 * `$BACKUP_DIR/manifest/$BACKUP_ID/`, to be uploaded last. With `$SKIP_EMPTY=1` (before a migration)
 * a database that has no table yet is not dumped, and when none is left nothing is written.
 */
export function dumpScript(): string {
    return String.raw`set -euo pipefail
id="${"$"}{BACKUP_ID:?BACKUP_ID is not set}"
dir="${"$"}{BACKUP_DIR:?BACKUP_DIR is not set}"
out="$dir/data/$id"; manifest_dir="$dir/manifest/$id"
# Both directories exist even when nothing is dumped: the upload steps mirror them as they are.
mkdir -p "$out/dumps" "$manifest_dir"
for i in $(seq 1 30); do pg_isready -q && break; echo "waiting for $PGHOST ($i)"; sleep 2; done
entries=()
for db in $DATABASES; do
  if [ "${"$"}{SKIP_EMPTY:-0}" = 1 ]; then
    tables="$(psql -d "$db" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
    if [ "$tables" = 0 ]; then echo "database $db has no table yet: nothing to back up"; continue; fi
  fi
  echo "dumping database $db ..."
  t0=$SECONDS
  pg_dump --format=custom --no-password --dbname="$db" --file="$out/dumps/$db.dump"
  bytes="$(stat -c %s "$out/dumps/$db.dump")"
  sha="$(cd "$out/dumps" && sha256sum "$db.dump" | tee -a SHA256SUMS | cut -d" " -f1)"
  echo "dumped database $db: $bytes bytes in $((SECONDS - t0)) s"
  entries+=("{\"name\":\"$db\",\"file\":\"dumps/$db.dump\",\"bytes\":$bytes,\"sha256\":\"$sha\"}")
done
if [ ${"$"}{#entries[@]} -eq 0 ]; then rm -rf "$out"; echo "backup $id: nothing to back up"; exit 0; fi
server="$(psql -d postgres -Atc 'SHOW server_version_num')"
artifacts="{}"
[ -n "${"$"}{ARTIFACT_BUCKET:-}" ] && artifacts="{\"$ARTIFACT_BUCKET\":\"artifacts/$ARTIFACT_BUCKET/\"}"
databases="$(IFS=,; echo "${"$"}{entries[*]}")"
printf '{"format":${MANIFEST_FORMAT},"id":"%s","kind":"%s","createdAt":"%s","postgresServerVersionNum":%s,"versions":%s,"databases":[%s],"artifacts":%s}\n' \
  "$id" "$BACKUP_KIND" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$server" "$VERSIONS" "$databases" "$artifacts" >"$manifest_dir/manifest.json"
echo "backup $id: ${"$"}{#entries[@]} database(s) dumped, manifest written"
`;
}

/**
 * The restore step, a bash script for the Postgres image, run as the superuser. Checks every
 * dump against SHA256SUMS, then per database: restores into `<db>_restoring`, and only once that
 * succeeded replaces `<db>` with it, with the database's own privileges as the setup Job sets
 * them (databaseAccessSql: the owner's, none for PUBLIC, CONNECT for each of `roles` of that
 * database). The tables' grants come back with the dump. A failed restore leaves the database
 * as it was.
 */
export function restoreScript(databases: readonly string[], roles: readonly RoleAccess[] = []): string {
    // A dump of a database the platform does not list (an older backup) gets the owner's rules only.
    const cases = databases.map((db) => `    ${db}) echo "${databaseAccessSql(db, roles).replace(/\n/g, " ")}" ;;`).join("\n");
    return String.raw`set -euo pipefail
access_sql() {
  case "$1" in
${cases}
    *) echo "REVOKE ALL ON DATABASE $1 FROM PUBLIC; GRANT ALL PRIVILEGES ON DATABASE $1 TO $1;" ;;
  esac
}
id="${"$"}{BACKUP_ID:?BACKUP_ID is not set: the Job must carry the ${RESTORE_ID_ANNOTATION} annotation}"
dir="${"$"}{BACKUP_DIR:?BACKUP_DIR is not set}/$id"
[ -f "$dir/manifest.json" ] || { echo "backup $id has no manifest.json: it is incomplete, or not a backup" >&2; exit 3; }
cd "$dir/dumps"
sha256sum --check --strict SHA256SUMS || { echo "backup $id: a dump does not match its checksum; nothing restored" >&2; exit 3; }
for i in $(seq 1 30); do pg_isready -q && break; echo "waiting for $PGHOST ($i)"; sleep 2; done
sql() { psql -v ON_ERROR_STOP=1 --no-psqlrc -d postgres -q "$@"; }
for f in *.dump; do
  db="${"$"}{f%.dump}"
  [[ "$db" =~ ^[a-z_][a-z0-9_]{0,50}$ ]] || { echo "backup $id: unexpected dump name $f" >&2; exit 3; }
  tmp="${"$"}{db}_restoring"
  echo "restoring database $db ..."
  t0=$SECONDS
  sql -c "DROP DATABASE IF EXISTS $tmp" -c "CREATE DATABASE $tmp OWNER $db"
  if ! pg_restore --exit-on-error --no-password --dbname="$tmp" "$f"; then
    sql -c "DROP DATABASE IF EXISTS $tmp"
    echo "backup $id: restoring $db failed; $db is unchanged" >&2
    exit 4
  fi
  sql -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "ALTER DATABASE $tmp RENAME TO $db" -c "$(access_sql "$db")"
  echo "restored database $db in $((SECONDS - t0)) s"
done
echo "backup $id restored"
`;
}

function mcEnv(target: BackupTarget): EnvVar[] {
    return [
        secretEnv("MINIO_ROOT_USER", target.minioUser),
        secretEnv("MINIO_ROOT_PASSWORD", target.minioPassword),
        // $(VAR) is expanded by the kubelet, so the credentials never appear in the pod spec.
        plainEnv(`MC_HOST_${ALIAS}`, pulumi.interpolate`http://$(MINIO_ROOT_USER):$(MINIO_ROOT_PASSWORD)@${target.minioHost}:${MINIO_API_PORT}`),
        plainEnv("MC_CONFIG_DIR", "/tmp/.mc"),
    ];
}

const idFromJobName: EnvVar = { name: "BACKUP_ID", valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } };

interface StepsArgs {
    readonly kind: "full" | "pre-migrate";
    readonly databases: readonly BackupDatabase[];
    /** One role for all databases: the superuser for a full backup, the owner before a migration. */
    readonly role: BackupDatabase;
    /** Full backups copy this bucket's objects too. */
    readonly artifactBucket?: pulumi.Input<string>;
    readonly resources: Resources;
}

/**
 * The steps of a backup, in order (init containers, except that the caller may make the last
 * one its main container): dump, copy artifacts (full only), upload the dumps, upload the
 * manifest. Each step reads BACKUP_ID, the name of its Job.
 */
function backupSteps(target: BackupTarget, args: StepsArgs): { steps: Container[]; volumes: Volume[] } {
    const scratch = { name: "backup-scratch", mountPath: SCRATCH };
    const tmp = { name: "backup-tmp", mountPath: "/tmp" };
    const mc = (name: string, command: pulumi.Input<string>[]): Container =>
        container({ name, image: target.clientImage, resources: args.resources, command, env: [idFromJobName, ...mcEnv(target)], volumeMounts: [scratch, tmp] });
    const dbs = args.databases.map((d) => d.name).join(" ");
    const steps: Container[] = [
        container({
            name: "backup-dump",
            image: target.postgresImage,
            resources: args.resources,
            command: ["bash", "-c", dumpScript()],
            env: [
                idFromJobName,
                plainEnv("BACKUP_DIR", SCRATCH),
                plainEnv("PGHOST", target.postgresHost),
                plainEnv("PGPORT", String(POSTGRES_PORT)),
                plainEnv("PGUSER", args.role.user),
                secretEnv("PGPASSWORD", args.role.password),
                plainEnv("DATABASES", dbs),
                plainEnv("BACKUP_KIND", args.kind),
                plainEnv("SKIP_EMPTY", args.kind === "pre-migrate" ? "1" : "0"),
                plainEnv("VERSIONS", JSON.stringify(target.versions)),
                ...(args.artifactBucket ? [plainEnv("ARTIFACT_BUCKET", args.artifactBucket)] : []),
            ],
            volumeMounts: [scratch],
        }),
        ...(args.artifactBucket
            ? [mc("backup-artifacts", ["mc", "mirror", "--quiet", pulumi.interpolate`${ALIAS}/${args.artifactBucket}`, pulumi.interpolate`${ALIAS}/${target.bucket}/$(BACKUP_ID)/artifacts/${args.artifactBucket}`])]
            : []),
        mc("backup-upload", ["mc", "mirror", "--quiet", `${SCRATCH}/data`, pulumi.interpolate`${ALIAS}/${target.bucket}`]),
        // Last: a backup with a manifest is complete.
        mc("backup-manifest", ["mc", "mirror", "--quiet", `${SCRATCH}/manifest`, pulumi.interpolate`${ALIAS}/${target.bucket}`]),
    ];
    const volumes: Volume[] = [
        { name: "backup-scratch", emptyDir: { sizeLimit: target.config.scratchSize } },
        { name: "backup-tmp", emptyDir: { sizeLimit: "64Mi" } },
    ];
    return { steps, volumes };
}

/**
 * Init containers (and their volumes) that back a database up before a schema migration runs
 * against it: dumped as its owner, kept as backup `<migrate Job name>`. A database without a
 * table yet (a first install) is skipped.
 */
export function preMigrationBackup(target: BackupTarget, database: BackupDatabase): InitSteps {
    const { steps, volumes } = backupSteps(target, { kind: "pre-migrate", databases: [database], role: database, resources: target.config.jobResources });
    return { initContainers: steps, volumes };
}

export interface BackupsArgs extends BackupTarget {
    /** The superuser, which reads every database. */
    readonly superuser: BackupDatabase;
    readonly databases: readonly BackupDatabase[];
    /**
     * The login roles that are not owners (Postgres `roles`): a restore lets them CONNECT to their
     * database again, as the setup Job does.
     * @default []
     */
    readonly roles?: readonly RoleAccess[];
    /** The bucket of the model artifacts; full backups copy it. */
    readonly artifactBucket: pulumi.Input<string>;
}

/**
 * Scheduled and on-demand backups, and the template restores run from:
 * - CronJob `platform-backup`: every database and the artifacts on `config.schedule`;
 *   `npm run backup` starts a Job from it.
 * - CronJob `platform-restore`, suspended (it never runs on its own): `npm run restore` starts a
 *   Job from it with the backup's id as an annotation.
 * Backups expire after `config.keepDays` (the bucket's lifecycle rule, set by the MinIO component).
 */
export class Backups extends pulumi.ComponentResource {
    public readonly backupCronJob: k8s.batch.v1.CronJob;
    public readonly restoreCronJob: k8s.batch.v1.CronJob;

    constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Backups", name, {}, opts);
        const { config } = args;
        const version = imageTag(args.postgresImage);
        const full = backupSteps(args, { kind: "full", databases: args.databases, role: args.superuser, artifactBucket: args.artifactBucket, resources: config.jobResources });
        this.backupCronJob = maintenanceCronJob(
            BACKUP_CRONJOB,
            {
                namespace: args.namespace,
                labels: { name: "backup", instance: name, component: "backup", version },
                schedule: config.schedule,
                pod: {
                    runAs: POSTGRES_RUN_AS,
                    initContainers: full.steps.slice(0, -1),
                    containers: full.steps.slice(-1),
                    volumes: full.volumes,
                },
                activeDeadlineSeconds: 3600,
            },
            { parent: this },
        );

        const scratch = { name: "backup-scratch", mountPath: SCRATCH };
        const idFromAnnotation: EnvVar = { name: "BACKUP_ID", valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${RESTORE_ID_ANNOTATION}']` } } };
        this.restoreCronJob = maintenanceCronJob(
            RESTORE_CRONJOB,
            {
                namespace: args.namespace,
                labels: { name: "backup", instance: name, component: "restore", version },
                schedule: config.schedule,
                suspend: true,
                backoffLimit: 0,
                pod: {
                    runAs: POSTGRES_RUN_AS,
                    initContainers: [
                        // A new pod's first connections can come before the network policy admits
                        // it (about a second on the real node): mc ready retries every 5 s until
                        // MinIO answers, so the fetch that follows is not refused.
                        container({
                            name: "wait-minio",
                            image: args.clientImage,
                            resources: config.jobResources,
                            command: ["mc", "ready", ALIAS],
                            env: mcEnv(args),
                            volumeMounts: [{ name: "backup-tmp", mountPath: "/tmp" }],
                        }),
                        container({
                            name: "fetch",
                            image: args.clientImage,
                            resources: config.jobResources,
                            // The artifacts are copied bucket to bucket by `npm run restore`, not through this pod.
                            command: ["mc", "mirror", "--quiet", "--exclude", "artifacts/*", pulumi.interpolate`${ALIAS}/${args.bucket}/$(BACKUP_ID)`, `${SCRATCH}/$(BACKUP_ID)`],
                            env: [idFromAnnotation, ...mcEnv(args)],
                            volumeMounts: [scratch, { name: "backup-tmp", mountPath: "/tmp" }],
                        }),
                    ],
                    containers: [
                        container({
                            name: "restore",
                            image: args.postgresImage,
                            resources: config.jobResources,
                            command: ["bash", "-c", restoreScript(args.databases.map((d) => d.name), args.roles)],
                            env: [
                                idFromAnnotation,
                                plainEnv("BACKUP_DIR", SCRATCH),
                                plainEnv("PGHOST", args.postgresHost),
                                plainEnv("PGPORT", String(POSTGRES_PORT)),
                                plainEnv("PGUSER", args.superuser.user),
                                secretEnv("PGPASSWORD", args.superuser.password),
                            ],
                            volumeMounts: [scratch],
                        }),
                    ],
                    volumes: full.volumes,
                },
                activeDeadlineSeconds: 3600,
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
