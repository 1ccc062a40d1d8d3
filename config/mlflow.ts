import { z } from "zod";
import { image, res, resources } from "./shared";

/** MLflow tracking server and model registry. */
export const mlflowSchema = z
    .strictObject({
        /**
         * MLflow 3.5.1 with psycopg2 and boto3 (services/mlflow/Dockerfile). Built by the
         * stack when image builds are enabled, otherwise pulled by this reference.
         */
        image: image.default("mlops-platform/mlflow:3.5.1-1"),
        /**
         * Login of the admin of MLflow's auth app, who has every permission and manages users; its
         * password is generated (Secret `mlflow-auth`, stack output `credentials`).
         */
        adminUser: z.string().regex(/^[a-z][a-z0-9_.-]{2,31}$/, "must be 3-32 characters of a-z, 0-9, '_', '.', '-'").default("admin"),
        /** Server worker processes; each holds its own SQLAlchemy pool. */
        workers: z.number().int().min(1, "must be >= 1").max(16, "must be <= 16").default(1),
        /** Extra Host headers to accept (e.g. an ingress name); the Service's names are always accepted. */
        extraAllowedHosts: z.array(z.string().min(1, "must not be empty")).default([]),
        resources: resources.default(res("100m", "384Mi", "1Gi")),
        /** The schema-upgrade Job. */
        jobResources: resources.default(res("50m", "128Mi", "512Mi")),
    })
    .prefault({});
export type MlflowConfig = z.infer<typeof mlflowSchema>;
