import * as pulumi from "@pulumi/pulumi";
import type { DataApiConfig } from "../config/services";
import type { DatabaseConnection } from "./postgres";
import { HttpServiceComponent } from "./http-service";
import { container, plainEnv, secretEnv, type SecretKeyRef } from "./shared";

export interface DataApiArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: DataApiConfig;
    /**
     * The image to run; pass PlatformImages' reference so pods wait for the build.
     * @default config.image
     */
    readonly image?: pulumi.Input<string>;
    /**
     * What the server logs in as when `config.state` is `postgres`: a role of its own in `mlops`
     * that may only read and write the batch counters (`public.data_api_batch_state`).
     */
    readonly database: DatabaseConnection;
    /**
     * The owner of `mlops`: the migrate init container logs in as it (the schema migrations, then
     * the grants to `database.user`); the server's container never gets its password.
     */
    readonly owner: DatabaseConnection;
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
        const { config, database, owner } = args;
        if (config.state === "file" && config.replicas > 1) {
            throw new Error("'dataApi.replicas' must be 1 when 'dataApi.state' is 'file' (replicas would each count batches)");
        }
        // $(MLOPS_DB_PASSWORD) is expanded by the kubelet from the container's own secretKeyRef.
        const dbEnv = (db: DatabaseConnection) => [
            secretEnv("MLOPS_DB_PASSWORD", db.password),
            plainEnv("DATA_API_DATABASE_URL", pulumi.interpolate`postgresql://${db.user}:$(MLOPS_DB_PASSWORD)@${db.host}:${db.port}/${db.database}`),
        ];
        const stateEnv =
            config.state === "postgres"
                ? [
                      plainEnv("DATA_API_STATE_BACKEND", "postgres"),
                      ...dbEnv(database),
                      // The migrate init container did it; this role could not (no DDL).
                      plainEnv("DATA_API_DB_MIGRATE", "false"),
                  ]
                : [plainEnv("DATA_API_STATE_BACKEND", "file"), plainEnv("DATA_API_STATE_FILE", `${STATE_DIR}/state.json`)];
        // Before every start: the schema up to date, and the server's role granted exactly what
        // the server runs (replicas serialise on the migrations' advisory lock).
        const migrate =
            config.state === "postgres"
                ? [
                      container({
                          name: "migrate",
                          image: args.image ?? config.image,
                          resources: config.migrateResources,
                          readOnlyRootFilesystem: true,
                          // services/data-api/src/migrate.ts (main)
                          command: ["node", "services/data-api/dist/migrate.js"],
                          env: [...dbEnv(owner), plainEnv("DATA_API_DATABASE_RUNTIME_ROLE", database.user)],
                      }),
                  ]
                : [];
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
                initContainers: migrate,
            },
            opts,
        );
    }
}
