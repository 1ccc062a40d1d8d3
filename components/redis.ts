import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RedisConfig } from "../config/redis";
import { container, DATA_VOLUME, dataStore, execProbe, imageTag, podSpec, secretEnv, SecretKeyRef } from "./shared";

export interface RedisArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: RedisConfig;
    /** StorageClass of the append-only-file volume unless `config.persistence.storageClass` overrides it. */
    readonly storageClass: string;
    /** The generated `requirepass` password. */
    readonly password: SecretKeyRef;
    /** Changes when the password rotates; rolls the pod so the new password takes effect. */
    readonly credentialsChecksum: pulumi.Input<string>;
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
        const ports = [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }];

        const ping = ["sh", "-c", `redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping | grep -q PONG`];
        const persistent = config.persistence.enabled;
        const store = dataStore(
            name,
            {
                namespace: args.namespace,
                labels: serverLabels,
                ports,
                podAnnotations: { "mlops.dev/credentials-checksum": args.credentialsChecksum },
                volume: persistent
                    ? { configPath: "redis.persistence", size: config.persistence.size, storageClass: config.persistence.storageClass ?? args.storageClass }
                    : undefined,
                podSpec: podSpec({
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
                            volumeMounts: [{ name: DATA_VOLUME, mountPath: DATA_DIR }],
                        }),
                    ],
                    volumes: persistent ? [] : [{ name: DATA_VOLUME, emptyDir: {} }],
                }),
            },
            this,
        );
        this.statefulSet = store.statefulSet;
        const service = store.service;

        this.password = args.password;
        this.host = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.statefulSet.metadata.name])
            .apply(([svc, ns]) => `${svc}.${ns}.svc.cluster.local`);
        this.registerOutputs({ host: this.host });
    }
}
