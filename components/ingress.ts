import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { INGRESS_SERVICES, IngressConfig, IngressService } from "../config/ingress";
import { labels } from "./shared";

/** The Service an Ingress routes to. */
export interface IngressBackend {
    readonly serviceName: pulumi.Input<string>;
    readonly port: number;
    /**
     * Don't make `pulumi up` wait for this Ingress (its backend may correctly have no ready
     * endpoints yet, like the model API before the first promoted model).
     * @default false
     */
    readonly skipAwait?: boolean;
}

export interface PlatformIngressArgs {
    readonly namespace: pulumi.Input<string>;
    readonly config: IngressConfig;
    /** Where each service's host goes. */
    /** A service left out (e.g. Grafana when it is disabled) must have no host. */
    readonly backends: Readonly<Partial<Record<IngressService, IngressBackend>>>;
}

/** `minioConsole` -> `minio-console`: the object name of a service's Ingress. */
export function ingressName(service: IngressService): string {
    return service.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The configured host of `service`, when the Ingress is on and gives it one. */
export function ingressHost(config: IngressConfig, service: IngressService): string | undefined {
    return config.enabled ? config.hosts[service] : undefined;
}

/** The URL a person opens for `host`: https when the Ingress carries TLS. */
export function ingressUrl(config: IngressConfig, host: string): string {
    return `${config.tlsSecretName ? "https" : "http"}://${host}/`;
}

/**
 * One Ingress per service that has a host (`ingress.hosts`): the whole host, path `/`, to the
 * service's port. Optional TLS from an existing Secret; class and annotations from config.
 */
export class PlatformIngress extends pulumi.ComponentResource {
    /** URL per exposed service. */
    public readonly urls: Readonly<Partial<Record<IngressService, string>>>;
    public readonly ingresses: Readonly<Partial<Record<IngressService, k8s.networking.v1.Ingress>>>;

    constructor(name: string, args: PlatformIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:PlatformIngress", name, {}, opts);
        const { config } = args;
        if (!config.enabled) {
            throw new Error("PlatformIngress needs 'ingress.enabled' true; create it only when the stack enables it");
        }
        const urls: Partial<Record<IngressService, string>> = {};
        const ingresses: Partial<Record<IngressService, k8s.networking.v1.Ingress>> = {};
        for (const service of INGRESS_SERVICES) {
            const host = config.hosts[service];
            if (host === undefined) continue;
            const backend = args.backends[service];
            if (backend === undefined) throw new Error(`ingress: '${service}' has a host but no backend (is it disabled?)`);
            const objectName = ingressName(service);
            ingresses[service] = new k8s.networking.v1.Ingress(
                `${name}-${objectName}`,
                {
                    metadata: {
                        name: objectName,
                        namespace: args.namespace,
                        labels: labels({ name: service === "minioConsole" ? "minio" : objectName, instance: objectName, component: "ingress" }),
                        annotations: { ...config.annotations, ...(backend.skipAwait ? { "pulumi.com/skipAwait": "true" } : {}) },
                    },
                    spec: {
                        ingressClassName: config.className,
                        tls: config.tlsSecretName ? [{ hosts: [host], secretName: config.tlsSecretName }] : undefined,
                        rules: [
                            {
                                host,
                                http: {
                                    paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: backend.serviceName, port: { number: backend.port } } } }],
                                },
                            },
                        ],
                    },
                },
                { parent: this },
            );
            urls[service] = ingressUrl(config, host);
        }
        this.urls = urls;
        this.ingresses = ingresses;
        this.registerOutputs({ urls });
    }
}
