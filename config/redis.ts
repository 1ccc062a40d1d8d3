import { z } from "zod";
import { image, res, resources, storageSize } from "./shared";

/** Redis: the Celery broker of Airflow. */
export const redisSchema = z
    .strictObject({
        image: image.default("docker.io/library/redis:7.2.7-alpine"),
        persistence: z
            .strictObject({
                /** Keep the append-only file on a PVC; false uses an emptyDir (queued tasks are lost on restart). */
                enabled: z.boolean().default(true),
                size: storageSize.default("1Gi"),
                storageClass: z.string().min(1, "must not be empty").optional(),
            })
            .prefault({}),
        resources: resources.default(res("50m", "64Mi", "256Mi")),
    })
    .prefault({});
export type RedisConfig = z.infer<typeof redisSchema>;
