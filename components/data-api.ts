import * as pulumi from "@pulumi/pulumi";
import type { DataApiConfig } from "../config/services";
import type { DatabaseConnection } from "./postgres";
import { HttpServiceComponent } from "./http-service";
import { plainEnv, secretEnv, type SecretKeyRef } from "./shared";

export interface DataApiArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: DataApiConfig;
    /**
     * The image to run; pass PlatformImages' reference so pods wait for the build.
     * @default config.image
     */
    readonly image?: pulumi.Input<string>;
    /** The `mlops` database, for batch counters when `config.state` is `postgres`. */
    readonly database: DatabaseConnection;
    readonly credentialsChecksum: pulumi.Input<string>;
    /** The generated token /restart_data_generation requires. */
    readonly restartToken: SecretKeyRef;
}

const CONTAINER_PORT = 8000;
/** The course data service answered on 80; DAGs written for it keep working. */
export const DATA_API_SERVICE_PORT = 80;
const STATE_DIR = "/var/lib/data-api";

/** The data API: batches of US real-estate listings per (group, day), the course service's contract. */
export class DataApi extends HttpServiceComponent {
    constructor(name: string, args: DataApiArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config, database } = args;
        if (config.state === "file" && config.replicas > 1) {
            throw new Error("'dataApi.replicas' must be 1 when 'dataApi.state' is 'file' (replicas would each count batches)");
        }
        const stateEnv =
            config.state === "postgres"
                ? [
                      plainEnv("DATA_API_STATE_BACKEND", "postgres"),
                      secretEnv("MLOPS_DB_PASSWORD", database.password),
                      plainEnv("DATA_API_DATABASE_URL", pulumi.interpolate`postgresql://${database.user}:$(MLOPS_DB_PASSWORD)@${database.host}:${database.port}/${database.database}`),
                  ]
                : [plainEnv("DATA_API_STATE_BACKEND", "file"), plainEnv("DATA_API_STATE_FILE", `${STATE_DIR}/state.json`)];
        super(
            "mlops:k8s:DataApi",
            name,
            {
                name,
                namespace: args.namespace,
                image: config.image,
                imageRef: args.image,
                replicas: config.replicas,
                resources: config.resources,
                runAs: { user: 1000, group: 1000 },
                containerPort: CONTAINER_PORT,
                servicePort: DATA_API_SERVICE_PORT,
                livenessPath: "/health",
                readinessPath: "/health",
                metricsPath: "/metrics",
                podAnnotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                env: [
                    plainEnv("DATA_API_PORT", String(CONTAINER_PORT)),
                    plainEnv("DATA_API_INTERVAL_SECONDS", String(config.intervalSeconds)),
                    ...stateEnv,
                    secretEnv("DATA_API_RESTART_TOKEN", args.restartToken),
                ],
                volumes: [{ name: "state", emptyDir: {} }],
                volumeMounts: [{ name: "state", mountPath: STATE_DIR }],
            },
            opts,
        );
    }
}
