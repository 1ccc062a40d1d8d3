import * as pulumi from "@pulumi/pulumi";
import type { ModelApiConfig } from "../config/services";
import type { DatabaseConnection } from "./postgres";
import { HttpServiceComponent } from "./http-service";
import { plainEnv, secretEnv, type SecretKeyRef } from "./shared";

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
    /** The `mlops` database, for the inference log (`mlops.serving.inference_log`). */
    readonly database: DatabaseConnection;
    /** Rolls the pods when the database password rotates. */
    readonly credentialsChecksum: pulumi.Input<string>;
    /** The generated token POST /hooks/model_update requires (the train DAG sends it). */
    readonly hookToken: SecretKeyRef;
}

export const MODEL_API_PORT = 8989;

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
                    plainEnv("MODEL_NAME", config.modelName),
                    plainEnv("MODEL_ALIAS", config.modelAlias),
                    plainEnv("MODEL_POLL_INTERVAL_SECONDS", String(config.pollIntervalSeconds)),
                    secretEnv("MLOPS_DB_PASSWORD", database.password),
                    plainEnv("DATABASE_URL", dsn),
                    secretEnv("HOOK_TOKEN", args.hookToken),
                ],
            },
            opts,
        );
    }
}
