import * as pulumi from "@pulumi/pulumi";
import type { UiConfig } from "../config/services";
import { HttpServiceComponent } from "./http-service";
import { type Login, plainEnv, secretEnv } from "./shared";

export interface UiArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: UiConfig;
    /**
     * The image to run; pass PlatformImages' reference so pods wait for the build.
     * @default config.image
     */
    readonly image?: pulumi.Input<string>;
    /** Upstreams the UI server proxies, so the browser needs one origin. */
    readonly modelApiUrl: pulumi.Input<string>;
    readonly mlflowUrl: pulumi.Input<string>;
    readonly dataApiUrl: pulumi.Input<string>;
    /** The UI's MLflow login (sent as HTTP basic auth): it only reads. */
    readonly mlflowLogin: Login;
    /** Rolls the pods when the login's password rotates. */
    readonly credentialsChecksum: pulumi.Input<string>;
}

export const UI_PORT = 8501;

/** The UI: Predict, Models and Data pages, served with a proxy to the model API, MLflow and the data API. */
export class Ui extends HttpServiceComponent {
    constructor(name: string, args: UiArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config } = args;
        super(
            "mlops:k8s:Ui",
            name,
            {
                name,
                namespace: args.namespace,
                image: config.image,
                imageRef: args.image,
                replicas: config.replicas,
                resources: config.resources,
                runAs: { user: 1000, group: 1000 },
                containerPort: UI_PORT,
                servicePort: UI_PORT,
                livenessPath: "/health",
                readinessPath: "/health",
                podAnnotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                env: [
                    plainEnv("UI_PORT", String(UI_PORT)),
                    plainEnv("MODEL_API_URL", args.modelApiUrl),
                    plainEnv("MLFLOW_URL", args.mlflowUrl),
                    plainEnv("MLFLOW_TRACKING_USERNAME", args.mlflowLogin.username),
                    secretEnv("MLFLOW_TRACKING_PASSWORD", args.mlflowLogin.password),
                    plainEnv("DATA_API_URL", args.dataApiUrl),
                ],
            },
            opts,
        );
    }
}
