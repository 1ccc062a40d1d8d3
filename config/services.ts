import { z } from "zod";
import { image, memoryQuantity, res, resources } from "./shared";

const replicas = z.number().int().min(1, "must be >= 1").default(1);

/** The model API (services/model-api): serves MLflow's `production` model as ONNX. */
export const modelApiSchema = z
    .strictObject({
        image: image.default("mlops-platform/model-api:0.1.0"),
        replicas,
        /** Registered model and alias to serve. */
        modelName: z.string().min(1, "must not be empty").default("realtor-price"),
        modelAlias: z.string().min(1, "must not be empty").default("production"),
        /** How often the alias is re-resolved (the training DAG also calls the hook). */
        pollIntervalSeconds: z.number().min(0, "must be >= 0").default(30),
        /** Size of the volume keeping the last good model (two copies of a model while one is written). */
        modelCacheSize: memoryQuantity.default("160Mi"),
        resources: resources.default(res("100m", "192Mi", "512Mi")),
        /** The migrate init container (schema migrations and the server role's grants, as the owner), before each server start. */
        migrateResources: resources.default(res("20m", "64Mi", "192Mi")),
    })
    .prefault({});
export type ModelApiConfig = z.infer<typeof modelApiSchema>;

/** The data API (services/data-api): batches of US real-estate listings. */
export const dataApiSchema = z
    .strictObject({
        image: image.default("mlops-platform/data-api:0.1.0"),
        replicas,
        /**
         * Where batch counters live: `postgres` (the `mlops` database; survives restarts and is
         * shared by replicas) or `file` (an emptyDir: survives container restarts only).
         */
        state: z.enum(["postgres", "file"], { error: "must be 'postgres' or 'file'" }).default("postgres"),
        /** Seconds between batch advances per group (the course service used 5 minutes). */
        intervalSeconds: z.number().min(0, "must be >= 0").default(300),
        resources: resources.default(res("50m", "96Mi", "256Mi")),
        /** The migrate init container (with `state: postgres`: migrations and the server role's grants, as the owner). */
        migrateResources: resources.default(res("20m", "64Mi", "192Mi")),
    })
    .prefault({});
export type DataApiConfig = z.infer<typeof dataApiSchema>;

/** The UI (services/ui): Predict, Models and Data pages. */
export const uiSchema = z
    .strictObject({
        image: image.default("mlops-platform/ui:0.1.0"),
        replicas,
        resources: resources.default(res("50m", "96Mi", "256Mi")),
    })
    .prefault({});
export type UiConfig = z.infer<typeof uiSchema>;
