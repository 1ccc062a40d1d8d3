import { z } from "zod";

/** A DNS host name (RFC 1123 subdomain), lower case: what an Ingress rule's `host` accepts. */
const hostName = z
    .string()
    .max(253, "must be at most 253 characters")
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a lower-case DNS name such as 'mlflow.example.com'");

/** The name of a Kubernetes object in the platform's namespace (a Secret). */
const objectName = z
    .string()
    .max(253, "must be at most 253 characters")
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a Kubernetes object name (lower-case letters, digits, '-' and '.')");

const httpUrl = z.string().regex(/^https?:\/\/[^\s"]+$/, "must be an http(s) URL");

/** The UIs an Ingress can expose, each on a host of its own. */
export const INGRESS_SERVICES = ["airflow", "mlflow", "minioConsole", "modelApi", "ui", "prometheus", "grafana"] as const;
export type IngressService = (typeof INGRESS_SERVICES)[number];

/**
 * How the users of one exposed host authenticate, checked by the ingress controller before a
 * request reaches the service (the first three as ingress-nginx annotations):
 * - `basic`: HTTP basic auth against an htpasswd Secret of yours (key `auth`) in the platform's namespace;
 * - `external`: every request is first sent to `url` (e.g. oauth2-proxy's `/oauth2/auth`), which
 *   answers 2xx to let it through; `signin` is where a refused browser is sent;
 * - `annotations`: another controller's own (e.g. a Traefik `router.middlewares` naming a
 *   basicAuth or forwardAuth middleware);
 * - `none`: no authentication in front of it, an explicit choice (Airflow, Grafana and the MinIO
 *   console ask for a login of their own; MLflow, Prometheus, the model API and the UI do not).
 */
export const ingressAuthSchema = z.discriminatedUnion(
    "type",
    [
        z.strictObject({ type: z.literal("basic"), secretName: objectName, realm: z.string().min(1, "must not be empty").optional() }),
        z.strictObject({
            type: z.literal("external"),
            url: httpUrl,
            signin: httpUrl.optional(),
            /** Headers of the auth service's answer passed on to the service (e.g. `X-Auth-Request-User`). */
            responseHeaders: z.array(z.string().regex(/^[A-Za-z0-9-]+$/, "must be a header name")).optional(),
        }),
        z.strictObject({
            type: z.literal("annotations"),
            annotations: z.record(z.string(), z.string()).refine((a) => Object.keys(a).length > 0, "must name at least one annotation"),
        }),
        z.strictObject({ type: z.literal("none") }),
    ],
    { error: "must have a 'type' of 'basic', 'external', 'annotations' or 'none'" },
);
export type IngressAuth = z.infer<typeof ingressAuthSchema>;

const perService = <T extends z.ZodType>(value: T) =>
    z.strictObject(Object.fromEntries(INGRESS_SERVICES.map((s) => [s, value.optional()])) as Record<IngressService, z.ZodOptional<T>>).prefault({});

/**
 * Optional Ingress objects, one per service given a host. Off by default (dev reaches the
 * UIs with the `portForwards` outputs); the cluster needs an ingress controller
 * (`minikube addons enable ingress`; k3s ships Traefik).
 *
 * Every exposed host has TLS and authentication in front of it unless the stack opts out for
 * that host by name (`plainHttp.<service>: true`, `auth.<service>.type: none`): a host that has
 * neither its setting nor its opt-out is a config error (ingressExposureProblems).
 */
export const ingressSchema = z
    .strictObject({
        enabled: z.boolean().default(false),
        /** `spec.ingressClassName`; unset uses the cluster's default class. */
        className: z.string().min(1, "must not be empty").optional(),
        /** Host name per service; services without one get no Ingress. */
        hosts: perService(hostName),
        /** A TLS Secret (kubernetes.io/tls) in the platform's namespace covering every host, e.g. from cert-manager. */
        tlsSecretName: z.string().min(1, "must not be empty").optional(),
        /** Hosts served over plain HTTP even though TLS is required: the explicit per-host opt-out. */
        plainHttp: perService(z.boolean()),
        /** Authentication per exposed host (see ingressAuthSchema); `{type: none}` is the explicit opt-out. */
        auth: perService(ingressAuthSchema),
        /** Annotations on every Ingress (controller settings, cert-manager issuer). */
        annotations: z.record(z.string(), z.string()).default({}),
    })
    .prefault({})
    .refine((i) => !i.enabled || Object.values(i.hosts).some((h) => h !== undefined), {
        message: `needs at least one host when 'ingress.enabled' is true (one of ${INGRESS_SERVICES.join(", ")})`,
        path: ["hosts"],
    })
    .refine((i) => new Set(Object.values(i.hosts).filter((h) => h !== undefined)).size === Object.values(i.hosts).filter((h) => h !== undefined).length, {
        message: "must give each service a host of its own",
        path: ["hosts"],
    })
    .superRefine((i, ctx) => {
        // A host that is not a host name is reported as such, and only that.
        const valid = { ...i, hosts: Object.fromEntries(Object.entries(i.hosts).filter(([, h]) => hostName.safeParse(h).success)) };
        for (const { service, message } of ingressExposureProblems(valid)) ctx.addIssue({ code: "custom", path: ["hosts", service], message });
    });
export type IngressConfig = z.infer<typeof ingressSchema>;

/** Whether `service`'s Ingress carries TLS: a Secret is configured and the host did not opt out. */
export function ingressHasTls(config: Pick<IngressConfig, "tlsSecretName" | "plainHttp">, service: IngressService): boolean {
    return config.tlsSecretName !== undefined && config.plainHttp[service] !== true;
}

/**
 * Each exposed host that lacks TLS or authentication without its explicit opt-out, with what to
 * set; empty when the Ingress is off. The schema reports these (one line per host, all at
 * once), and PlatformIngress refuses a config that has any.
 */
export function ingressExposureProblems(config: Pick<IngressConfig, "enabled" | "hosts" | "tlsSecretName" | "plainHttp" | "auth">): { service: IngressService; message: string }[] {
    if (!config.enabled) return [];
    const problems: { service: IngressService; message: string }[] = [];
    for (const service of INGRESS_SERVICES) {
        const host = config.hosts[service];
        if (host === undefined) continue;
        const noTls = config.tlsSecretName === undefined && config.plainHttp[service] !== true;
        const noAuth = config.auth[service] === undefined;
        if (!noTls && !noAuth) continue;
        const tls = `'ingress.tlsSecretName' (a kubernetes.io/tls Secret covering it) or, to serve it over plain HTTP, 'ingress.plainHttp.${service}' true`;
        const auth =
            `'ingress.auth.${service}' ({type: basic, secretName}, {type: external, url}` +
            ` or {type: annotations, annotations}) or, to leave it open, 'ingress.auth.${service}.type' none`;
        const message = noTls && noAuth
            ? `(${host}) is exposed without TLS and without authentication: set ${tls}; and set ${auth}`
            : noTls
              ? `(${host}) is exposed without TLS: set ${tls}`
              : `(${host}) is exposed without authentication: set ${auth}`;
        problems.push({ service, message });
    }
    return problems;
}
