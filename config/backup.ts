import { z } from "zod";
import { res, resources, storageSize } from "./shared";

/**
 * Logical backups of the platform's databases and its model artifacts, into the `backups`
 * bucket (components/backup.ts): on a schedule, on demand (`npm run backup`) and before the
 * Airflow and MLflow schema migrations.
 */
export const backupSchema = z
    .strictObject({
        /** When the scheduled backup runs (five cron fields, the cluster's time zone, usually UTC). */
        schedule: z
            .string()
            .regex(/^\s*\S+(\s+\S+){4}\s*$/, "must be a cron schedule of five fields, e.g. '0 2 * * *'")
            .default("0 2 * * *"),
        /** Backups expire this many days after they were taken (a lifecycle rule on the bucket). */
        keepDays: z.number().int("must be a whole number of days").min(1, "must be at least 1 (a day)").default(14),
        /**
         * Model artifacts that MLflow deletes or overwrites stay recoverable for this many days
         * (the `mlflow` bucket is versioned; older versions expire).
         */
        artifactVersionDays: z.number().int("must be a whole number of days").min(1, "must be at least 1 (a day)").default(30),
        /** Scratch space of a backup or restore pod: holds every dump of one backup at once. */
        scratchSize: storageSize.default("2Gi"),
        /** Requests and limit of each backup and restore container. */
        jobResources: resources.default(res("50m", "64Mi", "512Mi")),
    })
    .prefault({});
export type BackupConfig = z.infer<typeof backupSchema>;
