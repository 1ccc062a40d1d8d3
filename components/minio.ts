import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MinioConfig } from "../config/minio";
import { checksum, container, DATA_VOLUME, dataStore, httpProbe, imageTag, labels, plainEnv, podSpec, secretEnv, SecretKeyRef } from "./shared";

export interface MinioArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: MinioConfig;
    /** StorageClass of the data volume unless `config.storage.storageClass` overrides it. */
    readonly storageClass: string;
    readonly rootUser: SecretKeyRef;
    readonly rootPassword: SecretKeyRef;
    /** Buckets the bucket Job creates if missing. */
    readonly buckets: readonly string[];
    /**
     * Objects of these buckets expire this many days after they were written (a lifecycle rule,
     * applied by the bucket Job; MinIO's scanner deletes them). Every key must be in `buckets`.
     */
    readonly expiryDays?: Readonly<Record<string, number>>;
    /**
     * Buckets kept versioned: an object deleted or overwritten stays recoverable as a
     * noncurrent version for this many days, then expires. Every key must be in `buckets`, and
     * none in `expiryDays` (a bucket holds one kind of rule).
     */
    readonly versionedDays?: Readonly<Record<string, number>>;
    /**
     * MinIO users the bucket Job creates (or updates), by name: each gets a policy that grants
     * exactly `buckets` (read: list and get; readwrite: also put and delete). Only the bucket
     * Job holds the root credentials; every other client gets one of these users.
     */
    readonly users?: Readonly<Record<string, MinioUser>>;
    /** Changes when the root credentials rotate; rolls the server and re-runs the bucket Job. */
    readonly credentialsChecksum: pulumi.Input<string>;
    /** Changes when a user's credentials rotate; re-runs the bucket Job (the server keeps running). */
    readonly usersChecksum?: pulumi.Input<string>;
}

/** A MinIO user: credentials in a Secret, and the buckets it may use. */
export interface MinioUser {
    readonly accessKey: SecretKeyRef;
    readonly secretKey: SecretKeyRef;
    readonly buckets: Readonly<Record<string, "read" | "readwrite">>;
}

/** An S3 policy document granting exactly these buckets (MinIO's IAM policy language). */
export function bucketPolicy(buckets: Readonly<Record<string, "read" | "readwrite">>): string {
    const entries = Object.entries(buckets);
    if (entries.length === 0) throw new Error("a MinIO user needs at least one bucket");
    const read = ["s3:GetObject", "s3:GetObjectVersion"];
    const write = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: entries.flatMap(([bucket, access]) => [
            {
                Effect: "Allow",
                Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:GetBucketVersioning"],
                Resource: [`arn:aws:s3:::${bucket}`],
            },
            { Effect: "Allow", Action: access === "readwrite" ? [...read, ...write] : read, Resource: [`arn:aws:s3:::${bucket}/*`] },
        ]),
    });
}

/**
 * mc commands that create or update each user, its policy, and attach it: all three are
 * idempotent (checked against a real MinIO), so a re-run only updates the secret keys. The
 * names and secrets come from the step's environment ($(VAR), expanded by the kubelet), the
 * policy documents from the mounted ConfigMap. Named steps: `user-<name>`, `policy-<name>`,
 * `attach-<name>`.
 */
export function userCommands(users: readonly string[], policyDir: string): [string, string[]][] {
    return users.flatMap((name) => {
        const v = envSuffix(name);
        return [
            [`user-${name}`, ["mc", "admin", "user", "add", ALIAS, `$(ACCESS_KEY_${v})`, `$(SECRET_KEY_${v})`]],
            [`policy-${name}`, ["mc", "admin", "policy", "create", ALIAS, `${name}-access`, `${policyDir}/${name}.json`]],
            [`attach-${name}`, ["mc", "admin", "policy", "attach", ALIAS, `${name}-access`, "--user", `$(ACCESS_KEY_${v})`]],
        ] as [string, string[]][];
    });
}

function envSuffix(name: string): string {
    return name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

export const MINIO_API_PORT = 9000;
export const MINIO_CONSOLE_PORT = 9001;
const RUN_AS = { user: 1000, group: 1000 }; // the image has no user of its own; any non-root uid works with fsGroup
const DATA_DIR = "/data";
const ALIAS = "platform";

/** Bucket names as S3 accepts them. */
export function validateBucketName(bucket: string): string {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
        throw new Error(`bucket name '${bucket}' must be 3-63 characters of a-z, 0-9, '.', '-'`);
    }
    return bucket;
}

/**
 * mc commands that leave exactly one expiry rule on each bucket, whether the Job runs for the
 * first time or again: `mc ilm rule add` appends a rule on every run, and `rm --all` fails
 * while a bucket has no lifecycle configuration at all. So: add (now there is one), remove
 * all, add. Named steps: `expire-<bucket>-1..3`.
 */
export function expiryCommands(expiry: readonly (readonly [string, number])[]): [string, string[]][] {
    return expiry.flatMap(([bucket, days]) => oneRule(`expire-${bucket}`, bucket, ["--expire-days", String(days)]));
}

/**
 * mc commands that turn versioning on for each bucket (a no-op when it is on) and leave exactly
 * one rule that expires noncurrent versions after the given days, the same way as
 * expiryCommands. Named steps: `version-<bucket>`, `noncurrent-<bucket>-1..3`.
 */
export function versioningCommands(versioned: readonly (readonly [string, number])[]): [string, string[]][] {
    return versioned.flatMap(([bucket, days]) => [
        [`version-${bucket}`, ["mc", "version", "enable", `${ALIAS}/${bucket}`]] as [string, string[]],
        ...oneRule(`noncurrent-${bucket}`, bucket, ["--noncurrent-expire-days", String(days)]),
    ]);
}

function oneRule(step: string, bucket: string, rule: string[]): [string, string[]][] {
    const target = `${ALIAS}/${bucket}`;
    const add = ["mc", "ilm", "rule", "add", ...rule, target];
    return [
        [`${step}-1`, add],
        [`${step}-2`, ["mc", "ilm", "rule", "rm", "--all", "--force", target]],
        [`${step}-3`, add],
    ];
}

/** MinIO with generated root credentials, a PVC, and a Job that creates buckets idempotently. */
export class Minio extends pulumi.ComponentResource {
    /** S3 endpoint URL, e.g. `http://minio.mlops.svc.cluster.local:9000`; resolves after the bucket Job completed. */
    public readonly endpoint: pulumi.Output<string>;
    /** Buckets by name, each resolving after the bucket Job completed. */
    public readonly buckets: Readonly<Record<string, pulumi.Output<string>>>;
    public readonly serviceName: pulumi.Output<string>;
    /** The Service's in-cluster host name, e.g. `minio.mlops.svc.cluster.local`; resolves when the Service exists. */
    public readonly host: pulumi.Output<string>;
    public readonly rootUser: SecretKeyRef;
    public readonly rootPassword: SecretKeyRef;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly bucketJob: k8s.batch.v1.Job;

    constructor(name: string, args: MinioArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:Minio", name, {}, opts);
        const { config } = args;
        const buckets = args.buckets.map(validateBucketName);
        const expiry = Object.entries(args.expiryDays ?? {});
        const versioned = Object.entries(args.versionedDays ?? {});
        for (const [field, rules] of [["expiryDays", expiry], ["versionedDays", versioned]] as const) {
            for (const [bucket, days] of rules) {
                if (!buckets.includes(bucket)) throw new Error(`'${field}' names bucket '${bucket}', which is not in 'buckets'`);
                if (!Number.isInteger(days) || days < 1) throw new Error(`'${field}.${bucket}' must be a whole number of days >= 1 (got ${days})`);
            }
        }
        for (const [bucket] of versioned) {
            if (args.expiryDays?.[bucket] !== undefined) throw new Error(`bucket '${bucket}' is in both 'expiryDays' and 'versionedDays': a bucket holds one kind of rule`);
        }
        if (buckets.length === 0) {
            throw new Error("'buckets' must list at least one bucket");
        }
        const users = Object.entries(args.users ?? {});
        for (const [user, spec] of users) {
            if (!/^[a-z][a-z0-9-]{1,30}$/.test(user)) throw new Error(`MinIO user name '${user}' must be 2-31 characters of a-z, 0-9, '-', starting with a letter`);
            for (const bucket of Object.keys(spec.buckets)) {
                if (!buckets.includes(bucket)) throw new Error(`MinIO user '${user}' names bucket '${bucket}', which is not in 'buckets'`);
            }
        }
        const serverLabels = { name: "minio", instance: name, component: "server", version: imageTag(config.image) };
        const ports = [
            { name: "api", port: MINIO_API_PORT, targetPort: "api" },
            { name: "console", port: MINIO_CONSOLE_PORT, targetPort: "console" },
        ];

        const credentials = [secretEnv("MINIO_ROOT_USER", args.rootUser), secretEnv("MINIO_ROOT_PASSWORD", args.rootPassword)];
        const store = dataStore(
            name,
            {
                namespace: args.namespace,
                labels: serverLabels,
                ports,
                // On the pod: Prometheus discovers pods, not Services (on the Service these were
                // never read, so MinIO went unscraped; the derived NetworkPolicies showed it).
                podAnnotations: {
                    "mlops.dev/credentials-checksum": args.credentialsChecksum,
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": String(MINIO_API_PORT),
                    "prometheus.io/path": "/minio/v2/metrics/cluster",
                },
                volume: { configPath: "minio.storage", size: config.storage.size, storageClass: config.storage.storageClass ?? args.storageClass },
                podSpec: podSpec({
                    runAs: RUN_AS,
                    containers: [
                        container({
                            name: "minio",
                            image: config.image,
                            resources: config.resources,
                            args: ["server", DATA_DIR, "--address", `:${MINIO_API_PORT}`, "--console-address", `:${MINIO_CONSOLE_PORT}`],
                            ports: [
                                { name: "api", containerPort: MINIO_API_PORT },
                                { name: "console", containerPort: MINIO_CONSOLE_PORT },
                            ],
                            env: [
                                ...credentials,
                                // Prometheus scrapes without a bearer token; metrics carry no object data.
                                plainEnv("MINIO_PROMETHEUS_AUTH_TYPE", "public"),
                                // The uid has no home directory; MinIO keeps its certs dir under $HOME.
                                plainEnv("HOME", "/tmp"),
                            ],
                            readinessProbe: httpProbe("readiness", "/minio/health/ready", "api"),
                            livenessProbe: httpProbe("liveness", "/minio/health/live", "api"),
                            volumeMounts: [
                                { name: DATA_VOLUME, mountPath: DATA_DIR },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        }),
                    ],
                    volumes: [{ name: "tmp", emptyDir: {} }],
                }),
            },
            this,
        );
        this.statefulSet = store.statefulSet;
        const service = store.service;

        const jobLabels = { name: "minio", instance: name, component: "buckets", version: imageTag(config.clientImage) };
        // The image has no shell, so no script: one container per mc command, in order (init
        // containers, the last one the Job's container).
        const userEnv = users.flatMap(([user, spec]) => [secretEnv(`ACCESS_KEY_${envSuffix(user)}`, spec.accessKey), secretEnv(`SECRET_KEY_${envSuffix(user)}`, spec.secretKey)]);
        const POLICY_DIR = "/policies";
        const policyDocs = Object.fromEntries(users.map(([user, spec]) => [`${user}.json`, bucketPolicy(spec.buckets)]));
        const policies =
            users.length > 0
                ? new k8s.core.v1.ConfigMap(
                      `${name}-policies`,
                      { metadata: { name: `${name}-policies`, namespace: args.namespace, labels: labels(jobLabels) }, data: policyDocs },
                      { parent: this },
                  )
                : undefined;
        const mcStep = (stepName: string, command: string[]) =>
            container({
                name: stepName,
                image: config.clientImage,
                resources: config.jobResources,
                command,
                env: [
                    ...credentials,
                    ...(stepName.startsWith("user-") || stepName.startsWith("attach-") ? userEnv : []),
                    // mc reads an alias from MC_HOST_<alias>; $(VAR) is expanded by the kubelet,
                    // so the credentials never appear in the pod spec.
                    plainEnv(`MC_HOST_${ALIAS}`, pulumi.interpolate`http://$(MINIO_ROOT_USER):$(MINIO_ROOT_PASSWORD)@${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${MINIO_API_PORT}`),
                    plainEnv("MC_CONFIG_DIR", "/tmp/.mc"),
                ],
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(policies && stepName.startsWith("policy-") ? [{ name: "policies", mountPath: POLICY_DIR, readOnly: true }] : [])],
            });
        const mcSteps = [
            // `--ignore-existing` makes a re-run a no-op.
            mcStep("mc", ["mc", "mb", "--ignore-existing", ...buckets.map((b) => `${ALIAS}/${b}`)]),
            ...[...expiryCommands(expiry), ...versioningCommands(versioned), ...userCommands(users.map(([u]) => u), POLICY_DIR)].map(([stepName, command]) => mcStep(stepName, command)),
        ];
        this.bucketJob = new k8s.batch.v1.Job(
            `${name}-buckets`,
            {
                metadata: { namespace: args.namespace, labels: labels(jobLabels) },
                spec: {
                    backoffLimit: 6,
                    activeDeadlineSeconds: 600,
                    template: {
                        metadata: {
                            labels: labels(jobLabels),
                            annotations: {
                                "mlops.dev/credentials-checksum": args.credentialsChecksum,
                                ...(args.usersChecksum ? { "mlops.dev/users-checksum": args.usersChecksum } : {}),
                                // A changed policy re-runs the Job (the ConfigMap keeps its name).
                                ...(users.length > 0 ? { "mlops.dev/policies-checksum": checksum(JSON.stringify(policyDocs)) } : {}),
                            },
                        },
                        spec: podSpec({
                            runAs: RUN_AS,
                            restartPolicy: "Never",
                            containers: [
                                ...mcSteps.slice(-1),
                            ],
                            initContainers: mcSteps.slice(0, -1),
                            volumes: [{ name: "tmp", emptyDir: {} }, ...(policies ? [{ name: "policies", configMap: { name: policies.metadata.name } }] : [])],
                        }),
                    },
                },
            },
            { parent: this, dependsOn: [this.statefulSet, service] },
        );

        this.serviceName = service.metadata.name;
        this.host = pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
        this.rootUser = args.rootUser;
        this.rootPassword = args.rootPassword;
        this.endpoint = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.bucketJob.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local:${MINIO_API_PORT}`);
        const out: Record<string, pulumi.Output<string>> = {};
        for (const bucket of buckets) {
            out[bucket] = this.bucketJob.metadata.name.apply(() => bucket);
        }
        this.buckets = out;
        this.registerOutputs({ endpoint: this.endpoint, serviceName: this.serviceName });
    }
}
