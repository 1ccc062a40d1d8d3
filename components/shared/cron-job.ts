import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, LabelArgs } from "./labels";
import { podSpec, PodSpecArgs } from "./pod";

export interface MaintenanceCronJobArgs {
    readonly namespace: pulumi.Input<string>;
    /** Labels of the Job's pods (and of the CronJob); `component` names the task, e.g. `db-clean`. */
    readonly labels: LabelArgs;
    /** Five-field cron schedule. */
    readonly schedule: string;
    /** The pod: one container doing the work, run as `runAs`, restartPolicy Never. */
    readonly pod: Omit<PodSpecArgs, "restartPolicy">;
    /** Pod annotations, e.g. a credentials checksum. */
    readonly annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Seconds a run may take before it is stopped. @default 1800 */
    readonly activeDeadlineSeconds?: number;
    /** Retries of a failed run. @default 2 */
    readonly backoffLimit?: number;
    /** A template only: never started by the schedule, only by `kubectl create job --from`. @default false */
    readonly suspend?: boolean;
}

/**
 * A CronJob for housekeeping (pruning, garbage collection): never two runs at once, a missed
 * run is started late rather than skipped (for up to an hour), a failed run retried twice,
 * and only the last run of each outcome kept, so `kubectl get jobs` shows what happened last.
 */
export function maintenanceCronJob(name: string, args: MaintenanceCronJobArgs, opts: pulumi.CustomResourceOptions): k8s.batch.v1.CronJob {
    const podLabels = labels(args.labels);
    return new k8s.batch.v1.CronJob(
        name,
        {
            metadata: { name, namespace: args.namespace, labels: podLabels },
            spec: {
                schedule: args.schedule,
                ...(args.suspend ? { suspend: true } : {}),
                concurrencyPolicy: "Forbid",
                startingDeadlineSeconds: 3600,
                successfulJobsHistoryLimit: 1,
                failedJobsHistoryLimit: 1,
                jobTemplate: {
                    metadata: { labels: podLabels },
                    spec: {
                        backoffLimit: args.backoffLimit ?? 2,
                        activeDeadlineSeconds: args.activeDeadlineSeconds ?? 1800,
                        template: {
                            metadata: { labels: podLabels, annotations: args.annotations },
                            spec: podSpec({ ...args.pod, restartPolicy: "Never" }),
                        },
                    },
                },
            },
        },
        opts,
    );
}
