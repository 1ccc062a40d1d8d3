import { z } from "zod";
import { image, res, resources, storageSize } from "./shared";

/** MinIO: S3-compatible object store for MLflow artifacts. */
export const minioSchema = z
    .strictObject({
        image: image.default("quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"),
        /** The `mc` client image used by the bucket Job. */
        clientImage: image.default("quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"),
        storage: z
            .strictObject({
                size: storageSize.default("10Gi"),
                storageClass: z.string().min(1, "must not be empty").optional(),
            })
            .prefault({}),
        resources: resources.default(res("100m", "256Mi", "512Mi")),
        /** The bucket Job's containers (mc): `mc admin policy attach` peaked above 128Mi on the real node (OOMKilled, retried). */
        jobResources: resources.default(res("50m", "64Mi", "256Mi")),
    })
    .prefault({});
export type MinioConfig = z.infer<typeof minioSchema>;
