import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ModelApiConfig } from "../config/services";
import type { DatabaseConnection } from "./postgres";
import { HttpServiceComponent } from "./http-service";
import type { Resources } from "../config/shared";
import { container, imageTag, type Login, maintenanceCronJob, plainEnv, secretEnv, type SecretKeyRef } from "./shared";

export interface ModelApiArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: ModelApiConfig;
    /**
     * The image to run; pass PlatformImages' reference so pods wait for the build.
     * @default config.image
     */
    readonly image?: pulumi.Input<string>;
    /** MLflow's in-cluster tracking URI (resolves once MLflow is Ready). */
    readonly mlflowTrackingUri: pulumi.Input<string>;
    /** The model API's MLflow login (sent as HTTP basic auth): it only reads. */
    readonly mlflowLogin: Login;
    /** The `mlops` database, for the inference log (`mlops.serving.inference_log`). */
    readonly database: DatabaseConnection;
    /** Rolls the pods when the database password rotates. */
    readonly credentialsChecksum: pulumi.Input<string>;
    /** The generated token POST /hooks/model_update requires (the train DAG sends it). */
    readonly hookToken: SecretKeyRef;
    /**
     * Inference-log retention: a CronJob runs the image's prune program (src/prune.ts), which
     * deletes the rows older than `days` days in batches.
     */
    readonly inferenceLogRetention?: { readonly schedule: string; readonly days: number; readonly resources: Resources };
}

export const MODEL_API_PORT = 8989;
/** Where the model API keeps the last good model (an emptyDir: it outlives container restarts). */
export const MODEL_CACHE_DIR = "/var/cache/model-api";

/** The model API: serves the `production` alias of the registered model as ONNX, hot-swapping new versions. */
export class ModelApi extends HttpServiceComponent {
    constructor(name: string, args: ModelApiArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config, database } = args;
        const dsn = pulumi.interpolate`postgresql://${database.user}:$(MLOPS_DB_PASSWORD)@${database.host}:${database.port}/${database.database}`;
        super(
            "mlops:k8s:ModelApi",
            name,
            {
                name,
                namespace: args.namespace,
                image: config.image,
                imageRef: args.image,
                replicas: config.replicas,
                resources: config.resources,
                runAs: { user: 1000, group: 1000 },
                containerPort: MODEL_API_PORT,
                servicePort: MODEL_API_PORT,
                livenessPath: "/health",
                // 503 until a model is loaded: no traffic before the service can answer. On a fresh
                // platform that is after the first training run, so `pulumi up` does not wait for it.
                readinessPath: "/ready",
                skipAwait: true,
                metricsPath: "/metrics",
                podAnnotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                env: [
                    plainEnv("PORT", String(MODEL_API_PORT)),
                    plainEnv("MLFLOW_TRACKING_URI", args.mlflowTrackingUri),
                    // MLflow's own variable names, as its Python client reads them.
                    plainEnv("MLFLOW_TRACKING_USERNAME", args.mlflowLogin.username),
                    secretEnv("MLFLOW_TRACKING_PASSWORD", args.mlflowLogin.password),
                    plainEnv("MODEL_NAME", config.modelName),
                    plainEnv("MODEL_ALIAS", config.modelAlias),
                    plainEnv("MODEL_POLL_INTERVAL_SECONDS", String(config.pollIntervalSeconds)),
                    secretEnv("MLOPS_DB_PASSWORD", database.password),
                    plainEnv("DATABASE_URL", dsn),
                    secretEnv("HOOK_TOKEN", args.hookToken),
                    plainEnv("MODEL_CACHE_DIR", MODEL_CACHE_DIR),
                ],
                // The last good model: a restarted container serves it while MLflow is down.
                volumes: [{ name: "model-cache", emptyDir: { sizeLimit: config.modelCacheSize } }],
                volumeMounts: [{ name: "model-cache", mountPath: MODEL_CACHE_DIR }],
            },
            opts,
        );
        if (args.inferenceLogRetention) {
            const retention = args.inferenceLogRetention;
            this.pruneCronJob = maintenanceCronJob(
                `${name}-prune`,
                {
                    namespace: args.namespace,
                    labels: { name, instance: name, component: "prune", version: imageTag(config.image) },
                    schedule: retention.schedule,
                    annotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                    pod: {
                        runAs: { user: 1000, group: 1000 },
                        containers: [
                            container({
                                name: "prune",
                                image: args.image ?? config.image,
                                resources: retention.resources,
                                command: ["node", "services/model-api/dist/src/prune.js"],
                                env: [
                                    secretEnv("MLOPS_DB_PASSWORD", database.password),
                                    plainEnv("DATABASE_URL", dsn),
                                    plainEnv("INFERENCE_LOG_RETENTION_DAYS", String(retention.days)),
                                ],
                            }),
                        ],
                    },
                },
                { parent: this },
            );
        }
    }

    /** The inference-log retention CronJob, when configured. */
    public readonly pruneCronJob?: k8s.batch.v1.CronJob;
}
