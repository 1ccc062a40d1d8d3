import { z } from "zod";
import { image, res, resources, storageSize } from "./shared";

/** PostgreSQL: one server holding the `airflow`, `mlflow` and `mlops` databases. */
export const postgresSchema = z
    .strictObject({
        image: image.default("docker.io/library/postgres:17.2-bookworm"),
        storage: z
            .strictObject({
                size: storageSize.default("5Gi"),
                /** Overrides the platform storageClass for this volume. */
                storageClass: z.string().min(1, "must not be empty").optional(),
            })
            .prefault({}),
        resources: resources.default(res("200m", "384Mi", "768Mi")),
        /** Resources of the short-lived database-setup Job. */
        jobResources: resources.default(res("50m", "64Mi", "128Mi")),
    })
    .prefault({});
export type PostgresConfig = z.infer<typeof postgresSchema>;
