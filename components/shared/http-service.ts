import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../../config";
import { imageTag, labels, selectorLabels } from "./labels";
import { container, podSpec } from "./pod";
import { httpProbe } from "./probes";
import type { RunAs } from "./security";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Container = k8s.types.input.core.v1.Container;

/** A stateless HTTP service of ours: one container, a ClusterIP Service, Prometheus scraping. */
export interface HttpServiceSpec {
    readonly name: string;
    readonly namespace: pulumi.Input<string>;
    /** The configured (pinned) reference; its tag becomes the version label. */
    readonly image: string;
    /** What the pods run, when it differs from `image` (e.g. a built image whose reference depends on the build). */
    readonly imageRef?: pulumi.Input<string>;
    readonly replicas: number;
    readonly resources: Resources;
    readonly runAs: RunAs;
    /** Port the process listens on (unprivileged). */
    readonly containerPort: number;
    /** Port the Service answers on. */
    readonly servicePort: number;
    readonly env: pulumi.Input<EnvVar[]>;
    readonly livenessPath: string;
    readonly readinessPath: string;
    /** Scraped by Prometheus when set. */
    readonly metricsPath?: string;
    readonly podAnnotations?: Record<string, pulumi.Input<string>>;
    readonly volumes?: k8s.types.input.core.v1.Volume[];
    readonly volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
    /**
     * Run to completion, in order, before the server starts (e.g. schema migrations with
     * credentials the server itself must not hold); build them with container().
     * @default []
     */
    readonly initContainers?: Container[];
    /**
     * Don't make `pulumi up` wait for readiness (Deployment Available, Service endpoints):
     * for a service that is correctly not Ready until something outside the deployment
     * happens, such as the model API before the first model is promoted.
     * @default false
     */
    readonly skipAwait?: boolean;
}

/** Deployment and Service arguments for an HTTP service, with every safe default applied. */
export function httpService(spec: HttpServiceSpec): { deployment: k8s.apps.v1.DeploymentArgs; service: k8s.core.v1.ServiceArgs } {
    const serverLabels = { name: spec.name, instance: spec.name, component: "server", version: imageTag(spec.image) };
    const scrape: Record<string, string> = spec.metricsPath
        ? { "prometheus.io/scrape": "true", "prometheus.io/port": String(spec.containerPort), "prometheus.io/path": spec.metricsPath }
        : {};
    const annotations = spec.skipAwait ? { "pulumi.com/skipAwait": "true" } : undefined;
    return {
        deployment: {
            metadata: { name: spec.name, namespace: spec.namespace, labels: labels(serverLabels), annotations },
            spec: {
                replicas: spec.replicas,
                selector: { matchLabels: selectorLabels(serverLabels) },
                template: {
                    metadata: { labels: labels(serverLabels), annotations: { ...scrape, ...spec.podAnnotations } },
                    spec: podSpec({
                        runAs: spec.runAs,
                        terminationGracePeriodSeconds: 30,
                        ...(spec.initContainers?.length ? { initContainers: spec.initContainers } : {}),
                        containers: [
                            container({
                                name: spec.name,
                                image: spec.imageRef ?? spec.image,
                                resources: spec.resources,
                                // Our Node services write nothing outside their declared volumes.
                                readOnlyRootFilesystem: true,
                                ports: [{ name: "http", containerPort: spec.containerPort }],
                                env: spec.env,
                                readinessProbe: httpProbe("readiness", spec.readinessPath, "http", { initialDelaySeconds: 3, periodSeconds: 5 }),
                                livenessProbe: httpProbe("liveness", spec.livenessPath, "http", { initialDelaySeconds: 10 }),
                                volumeMounts: spec.volumeMounts ?? [],
                            }),
                        ],
                        volumes: spec.volumes ?? [],
                    }),
                },
            },
        },
        service: {
            metadata: { name: spec.name, namespace: spec.namespace, labels: labels(serverLabels), annotations },
            spec: {
                type: "ClusterIP",
                selector: selectorLabels(serverLabels),
                ports: [{ name: "http", port: spec.servicePort, targetPort: "http" }],
            },
        },
    };
}
