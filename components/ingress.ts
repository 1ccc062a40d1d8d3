import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { INGRESS_SERVICES, IngressAuth, IngressConfig, ingressExposureProblems, ingressHasTls, IngressService } from "../config/ingress";
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

/** The URL a person opens for `service`'s host: https when its Ingress carries TLS. */
export function ingressUrl(config: IngressConfig, service: IngressService): string {
    const host = config.hosts[service];
    if (host === undefined) throw new Error(`ingress: '${service}' has no host`);
    return `${ingressHasTls(config, service) ? "https" : "http"}://${host}/`;
}

const NGINX = "nginx.ingress.kubernetes.io";

/** The annotations that put `auth` in front of a host (ingress-nginx's, or the ones given). */
export function authAnnotations(auth: IngressAuth): Record<string, string> {
    switch (auth.type) {
        case "basic":
            return { [`${NGINX}/auth-type`]: "basic", [`${NGINX}/auth-secret`]: auth.secretName, ...(auth.realm ? { [`${NGINX}/auth-realm`]: auth.realm } : {}) };
        case "external":
            return {
                [`${NGINX}/auth-url`]: auth.url,
                ...(auth.signin ? { [`${NGINX}/auth-signin`]: auth.signin } : {}),
                ...(auth.responseHeaders?.length ? { [`${NGINX}/auth-response-headers`]: auth.responseHeaders.join(",") } : {}),
            };
        case "annotations":
            return { ...auth.annotations };
        case "none":
            return {};
    }
}

/**
 * One Ingress per service that has a host (`ingress.hosts`): the whole host, path `/`, to the
 * service's port, with TLS from an existing Secret and its authentication annotations, unless
 * the host opts out of either by name; class and common annotations from config.
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
        // loadConfig reports these already; a config built another way must not expose a host either.
        const exposed = ingressExposureProblems(config);
        if (exposed.length > 0) throw new Error(`PlatformIngress: ${exposed.map((p) => `'ingress.hosts.${p.service}' ${p.message}`).join("; ")}`);
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
                        annotations: {
                            ...config.annotations,
                            ...authAnnotations(config.auth[service]!),
                            ...(backend.skipAwait ? { "pulumi.com/skipAwait": "true" } : {}),
                        },
                    },
                    spec: {
                        ingressClassName: config.className,
                        tls: ingressHasTls(config, service) ? [{ hosts: [host], secretName: config.tlsSecretName! }] : undefined,
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
            urls[service] = ingressUrl(config, service);
        }
        this.urls = urls;
        this.ingresses = ingresses;
        this.registerOutputs({ urls });
    }
}
