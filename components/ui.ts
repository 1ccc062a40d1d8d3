import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { UiConfig } from "../config/services";
import { httpService, plainEnv } from "./shared";

export interface UiArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: UiConfig;
    /** Upstreams the UI server proxies, so the browser needs one origin. */
    readonly modelApiUrl: pulumi.Input<string>;
    readonly mlflowUrl: pulumi.Input<string>;
    readonly dataApiUrl: pulumi.Input<string>;
}

export const UI_PORT = 8501;

/** The UI: Predict, Models and Data pages, served with a proxy to the model API, MLflow and the data API. */
export class Ui extends pulumi.ComponentResource {
    public readonly url: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: UiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Ui", name, {}, opts);
        const { config } = args;
        const spec = httpService({
            name,
            namespace: args.namespace,
            image: config.image,
            replicas: config.replicas,
            resources: config.resources,
            runAs: { user: 1000, group: 1000 },
            containerPort: UI_PORT,
            servicePort: UI_PORT,
            livenessPath: "/health",
            readinessPath: "/health",
            env: [
                plainEnv("UI_PORT", String(UI_PORT)),
                plainEnv("MODEL_API_URL", args.modelApiUrl),
                plainEnv("MLFLOW_URL", args.mlflowUrl),
                plainEnv("DATA_API_URL", args.dataApiUrl),
            ],
        });
        this.deployment = new k8s.apps.v1.Deployment(name, spec.deployment, { parent: this });
        const service = new k8s.core.v1.Service(name, spec.service, { parent: this });
        this.serviceName = service.metadata.name;
        this.url = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.deployment.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${UI_PORT}`);
        this.registerOutputs({ url: this.url });
    }
}
