import { z } from "zod";
import { res, resources } from "./shared";

/** A number of days something is kept; whole days, at least one. */
const days = z.number().int("must be a whole number of days").min(1, "must be at least 1 (a day)");

/**
 * Five fields of a cron schedule (minute hour day-of-month month day-of-week), as Kubernetes
 * CronJobs read it; no `@hourly`-style macros, so the value is what a reader sees.
 */
const cronSchedule = z
    .string()
    .regex(/^\s*\S+(\s+\S+){4}\s*$/, "must be a cron schedule of five fields, e.g. '30 3 * * *'");

/**
 * What the platform prunes, and when: every store that would otherwise grow forever on a
 * fixed-size volume. Each runs as a CronJob (the bucket's expiry is a MinIO lifecycle rule).
 */
export const retentionSchema = z
    .strictObject({
        /** When the pruning CronJobs run (the cluster's time zone, usually UTC). */
        schedule: cronSchedule.default("30 3 * * *"),
        /** Airflow metadata (DAG runs, task instances, logs table, XComs, ...) older than this is deleted (`airflow db clean`). */
        airflowMetadataDays: days.default(90),
        /** Task logs in the `airflow-logs` bucket expire after this (MinIO lifecycle rule). */
        airflowLogDays: days.default(30),
        /** MLflow runs deleted longer ago than this are removed for good, with their artifacts (`mlflow gc`). */
        mlflowDeletedRunDays: days.default(30),
        /** Rows of `serving.inference_log` older than this are deleted. */
        inferenceLogDays: days.default(90),
        /** Requests and limit of each pruning Job's container. */
        jobResources: resources.default(res("20m", "64Mi", "512Mi")),
    })
    .prefault({});
export type RetentionConfig = z.infer<typeof retentionSchema>;
