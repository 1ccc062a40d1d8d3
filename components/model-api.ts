import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ModelApiConfig } from "../config/services";
import type { DatabaseConnection } from "./postgres";
import { httpService, plainEnv, secretEnv } from "./shared";

export interface ModelApiArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: ModelApiConfig;
    /** MLflow's in-cluster tracking URI (resolves once MLflow is Ready). */
    readonly mlflowTrackingUri: pulumi.Input<string>;
    /** The `mlops` database, for the inference log (`mlops.serving.inference_log`). */
    readonly database: DatabaseConnection;
    /** Rolls the pods when the database password rotates. */
    readonly credentialsChecksum: pulumi.Input<string>;
}

export const MODEL_API_PORT = 8989;

/** The model API: serves the `production` alias of the registered model as ONNX, hot-swapping new versions. */
export class ModelApi extends pulumi.ComponentResource {
    /** In-cluster base URL, e.g. `http://model-api.mlops.svc.cluster.local:8989`; resolves once Ready. */
    public readonly url: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: ModelApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:ModelApi", name, {}, opts);
        const { config, database } = args;
        const dsn = pulumi.interpolate`postgresql://${database.user}:$(MLOPS_DB_PASSWORD)@${database.host}:${database.port}/${database.database}`;
        const spec = httpService({
            name,
            namespace: args.namespace,
            image: config.image,
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
            ],
        });
        this.deployment = new k8s.apps.v1.Deployment(name, spec.deployment, { parent: this });
        const service = new k8s.core.v1.Service(name, spec.service, { parent: this });
        this.serviceName = service.metadata.name;
        this.url = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.deployment.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${MODEL_API_PORT}`);
        this.registerOutputs({ url: this.url });
    }
}
