import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RedisConfig } from "../config/redis";
import { container, execProbe, imageTag, labels, podSpec, secretEnv, SecretKeyRef, selectorLabels } from "./shared";

export interface RedisArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: RedisConfig;
    /** StorageClass of the append-only-file volume unless `config.persistence.storageClass` overrides it. */
    readonly storageClass: string;
    /** The generated `requirepass` password. */
    readonly password: SecretKeyRef;
    /** Changes when the password rotates; rolls the pod so the new password takes effect. */
    readonly credentialsChecksum: pulumi.Input<string>;
    /**
     * Keep the PVC when the StatefulSet is deleted.
     * @default false
     */
    readonly retainData?: boolean;
}

export const REDIS_PORT = 6379;
const RUN_AS = { user: 999, group: 1000 }; // the `redis` user and group of the official Alpine image
const DATA_DIR = "/data";

/**
 * The server's command line. The password comes from the environment at start; Redis
 * rewrites its process title, so it does not linger in the process list.
 */
export function redisCommand(persistent: boolean): string[] {
    const persistence = persistent ? "--appendonly yes --appendfsync everysec" : '--appendonly no --save ""';
    return ["sh", "-c", `exec redis-server --port ${REDIS_PORT} --dir ${DATA_DIR} ${persistence} --requirepass "$REDIS_PASSWORD"`];
}

/** Redis with a generated password: the Celery broker of Airflow. */
export class Redis extends pulumi.ComponentResource {
    /** In-cluster Service DNS name; resolves once the server is Ready. */
    public readonly host: pulumi.Output<string>;
    public readonly port = REDIS_PORT;
    public readonly password: SecretKeyRef;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Redis", name, {}, opts);
        const { config } = args;
        const serverLabels = { name: "redis", instance: name, component: "server", version: imageTag(config.image) };
        const selector = selectorLabels(serverLabels);
        const ports = [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }];

        const headless = new k8s.core.v1.Service(
            `${name}-headless`,
            {
                metadata: { name: `${name}-headless`, namespace: args.namespace, labels: labels(serverLabels) },
                spec: { clusterIP: "None", selector, ports },
            },
            { parent: this },
        );
        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(serverLabels) },
                spec: { type: "ClusterIP", selector, ports },
            },
            { parent: this },
        );

        const ping = ["sh", "-c", `redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping | grep -q PONG`];
        const persistent = config.persistence.enabled;
        this.statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                metadata: { name, namespace: args.namespace, labels: labels(serverLabels) },
                spec: {
                    serviceName: headless.metadata.name,
                    replicas: 1,
                    selector: { matchLabels: selector },
                    persistentVolumeClaimRetentionPolicy: {
                        whenDeleted: args.retainData ? "Retain" : "Delete",
                        whenScaled: "Retain",
                    },
                    template: {
                        metadata: {
                            labels: labels(serverLabels),
                            annotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            containers: [
                                container({
                                    name: "redis",
                                    image: config.image,
                                    resources: config.resources,
                                    readOnlyRootFilesystem: true,
                                    command: redisCommand(persistent),
                                    ports: [{ name: "redis", containerPort: REDIS_PORT }],
                                    env: [
                                        secretEnv("REDIS_PASSWORD", args.password),
                                        // redis-cli reads the password from here, keeping it off the probe's command line.
                                        secretEnv("REDISCLI_AUTH", args.password),
                                    ],
                                    readinessProbe: execProbe("readiness", ping),
                                    livenessProbe: execProbe("liveness", ping),
                                    volumeMounts: [{ name: "data", mountPath: DATA_DIR }],
                                }),
                            ],
                            volumes: persistent ? [] : [{ name: "data", emptyDir: {} }],
                        }),
                    },
                    volumeClaimTemplates: persistent
                        ? [
                              {
                                  metadata: { name: "data", labels: labels(serverLabels) },
                                  spec: {
                                      accessModes: ["ReadWriteOnce"],
                                      storageClassName: config.persistence.storageClass ?? args.storageClass,
                                      resources: { requests: { storage: config.persistence.size } },
                                  },
                              },
                          ]
                        : [],
                },
            },
            { parent: this },
        );

        this.password = args.password;
        this.host = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.statefulSet.metadata.name])
            .apply(([svc, ns]) => `${svc}.${ns}.svc.cluster.local`);
        this.registerOutputs({ host: this.host });
    }
}
