import { z } from "zod";

/** A DNS host name (RFC 1123 subdomain), lower case: what an Ingress rule's `host` accepts. */
const hostName = z
    .string()
    .max(253, "must be at most 253 characters")
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a lower-case DNS name such as 'mlflow.example.com'");

/** The UIs an Ingress can expose, each on a host of its own. */
export const INGRESS_SERVICES = ["airflow", "mlflow", "minioConsole", "modelApi", "ui", "prometheus", "grafana"] as const;
export type IngressService = (typeof INGRESS_SERVICES)[number];

/**
 * Optional Ingress objects, one per service given a host. Off by default (dev reaches the
 * UIs with the `portForwards` outputs); the cluster needs an ingress controller
 * (`minikube addons enable ingress`; k3s ships Traefik).
 */
export const ingressSchema = z
    .strictObject({
        enabled: z.boolean().default(false),
        /** `spec.ingressClassName`; unset uses the cluster's default class. */
        className: z.string().min(1, "must not be empty").optional(),
        /** Host name per service; services without one get no Ingress. */
        hosts: z.strictObject(Object.fromEntries(INGRESS_SERVICES.map((s) => [s, hostName.optional()])) as Record<IngressService, z.ZodOptional<typeof hostName>>).prefault({}),
        /** A TLS Secret (kubernetes.io/tls) in the platform's namespace covering every host, e.g. from cert-manager. */
        tlsSecretName: z.string().min(1, "must not be empty").optional(),
        /** Annotations on every Ingress (controller settings, cert-manager issuer, auth). */
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
    });
export type IngressConfig = z.infer<typeof ingressSchema>;
