import { z } from "zod";
import { image, res, resources } from "./shared";

const gitDuration = z.string().regex(/^\d+(s|m|h)$/, "must be a duration such as '60s' or '5m'");

/** Where the DAG files come from. */
export const dagsSchema = z
    .strictObject({
        /**
         * `git`: a git-sync v4 sidecar pulls `git.repo` at `git.ref` into every pod that parses
         * or runs DAGs. `local`: the repository's dags/ folder is shipped in a ConfigMap (offline
         * development; re-run `pulumi up` after editing a DAG).
         */
        source: z.enum(["git", "local"], { error: "must be 'git' or 'local'" }).default("local"),
        git: z
            .strictObject({
                repo: z.string().min(1, "must not be empty").optional(),
                ref: z.string().min(1, "must not be empty").default("main"),
                /** Folder inside the repository that holds the DAG files. */
                subPath: z.string().default("dags"),
                period: gitDuration.default("60s"),
                /** Username for HTTPS auth; the token is the secret config `gitSyncPassword`. */
                username: z.string().min(1, "must not be empty").optional(),
                image: image.default("registry.k8s.io/git-sync/git-sync:v4.4.2"),
                resources: resources.default(res("10m", "32Mi", "128Mi")),
            })
            .prefault({}),
    })
    .prefault({})
    .refine((d) => d.source !== "git" || d.git.repo !== undefined, {
        message: "is required when 'airflow.dags.source' is 'git'",
        path: ["git", "repo"],
    });

/** Airflow 3 with the Celery executor. */
export const airflowSchema = z
    .strictObject({
        /** Airflow 3.3.2 with the DAGs' Python dependencies (services/airflow/Dockerfile). */
        image: image.default("mlops-platform/airflow:3.3.2-1"),
        /** Login of the UI's admin user; its password is generated. */
        adminUser: z.string().regex(/^[a-z][a-z0-9_.-]{2,31}$/, "must be 3-32 characters of a-z, 0-9, '_', '.', '-'").default("admin"),
        apiServer: z.strictObject({ resources: resources.default(res("150m", "512Mi", "1Gi")) }).prefault({}),
        scheduler: z.strictObject({ resources: resources.default(res("150m", "512Mi", "1Gi")) }).prefault({}),
        dagProcessor: z.strictObject({ resources: resources.default(res("100m", "384Mi", "768Mi")) }).prefault({}),
        triggerer: z.strictObject({ resources: resources.default(res("50m", "256Mi", "512Mi")) }).prefault({}),
        workers: z
            .strictObject({
                replicas: z.number().int().min(1, "must be >= 1").default(1),
                /** Task slots per worker (Celery concurrency). */
                concurrency: z.number().int().min(1, "must be >= 1").default(4),
                resources: resources.default(res("250m", "768Mi", "2Gi")),
            })
            .prefault({}),
        migrateJob: z.strictObject({ resources: resources.default(res("100m", "256Mi", "768Mi")) }).prefault({}),
        dags: dagsSchema,
    })
    .prefault({});
export type AirflowConfig = z.infer<typeof airflowSchema>;

/** A git ref that names a fixed tree: a full commit id, or a version-like tag (`v1.2`, `2024.06.1`). */
const PINNED_REF = /^([0-9a-f]{40}|v?\d+(\.\d+)*([-+][0-9A-Za-z.-]+)?)$/;

/**
 * The warning due when DAGs follow a branch outside the dev stack: whatever is pushed there is
 * what production runs within `git.period`, with no `pulumi up` and no review of the change.
 * `undefined` when there is nothing to say.
 */
export function gitRefWarning(dags: z.infer<typeof dagsSchema>, stack: string): string | undefined {
    if (dags.source !== "git" || stack === "dev" || PINNED_REF.test(dags.git.ref)) return undefined;
    return (
        `'airflow.dags.git.ref' is '${dags.git.ref}', which looks like a branch: on stack '${stack}' every push to it ` +
        `reaches the running DAGs within ${dags.git.period}. Pin a tag or a full commit id to deploy DAG changes deliberately.`
    );
}
