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
    /**
     * What the server logs in as: a role of its own in `mlops` that may only INSERT into
     * `serving.inference_log` (the internet-facing process holds no owner's rights).
     */
    readonly database: DatabaseConnection;
    /**
     * The owner of `mlops`. The migrate init container logs in as it (the schema migrations, then
     * the grants to `database.user`), and so does the prune CronJob (it deletes rows); the
     * server's container never gets its password.
     */
    readonly owner: DatabaseConnection;
    /** Rolls the pods when a database password (the owner's or the server's) rotates. */
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
        const { config, database, owner } = args;
        // $(MLOPS_DB_PASSWORD) is expanded by the kubelet from the container's own secretKeyRef.
        const dsnOf = (db: DatabaseConnection) => pulumi.interpolate`postgresql://${db.user}:$(MLOPS_DB_PASSWORD)@${db.host}:${db.port}/${db.database}`;
        const ownerEnv = () => [secretEnv("MLOPS_DB_PASSWORD", owner.password), plainEnv("DATABASE_URL", dsnOf(owner))];
        const image = args.image ?? config.image;
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
                    plainEnv("DATABASE_URL", dsnOf(database)),
                    // The migrate init container did it; this role could not (INSERT only).
                    plainEnv("INFERENCE_LOG_MIGRATE", "false"),
                    secretEnv("HOOK_TOKEN", args.hookToken),
                    plainEnv("MODEL_CACHE_DIR", MODEL_CACHE_DIR),
                ],
                // The last good model: a restarted container serves it while MLflow is down.
                volumes: [{ name: "model-cache", emptyDir: { sizeLimit: config.modelCacheSize } }],
                volumeMounts: [{ name: "model-cache", mountPath: MODEL_CACHE_DIR }],
                // Before every start: the schema up to date, and the server's role granted exactly
                // what the server runs (replicas serialise on the migrations' advisory lock).
                initContainers: [
                    container({
                        name: "migrate",
                        image,
                        resources: config.migrateResources,
                        readOnlyRootFilesystem: true,
                        // services/model-api/src/migrate.ts (main)
                        command: ["node", "services/model-api/dist/src/migrate.js"],
                        env: [...ownerEnv(), plainEnv("DATABASE_RUNTIME_ROLE", database.user)],
                    }),
                ],
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
                                image,
                                resources: retention.resources,
                                command: ["node", "services/model-api/dist/src/prune.js"],
                                // It deletes rows, which the server's role may not: the owner's.
                                env: [...ownerEnv(), plainEnv("INFERENCE_LOG_RETENTION_DAYS", String(retention.days))],
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
