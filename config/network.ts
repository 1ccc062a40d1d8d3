import { z } from "zod";
import { dnsLabel } from "./shared";

/** Label keys and values as Kubernetes accepts them (prefix/name, at most 63 characters per part). */
const labelMap = z.record(
    z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, "must be a label key such as 'app.kubernetes.io/name'"),
    z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, "must be a label value (at most 63 of A-Z a-z 0-9 - _ .)"),
);

/** A client outside the platform's own wiring: pods by labels, in the platform's namespace or in `namespace`. */
const client = z
    .strictObject({
        /** The client's namespace; unset means the platform's own. */
        namespace: dnsLabel.optional(),
        /** The client pods' labels; unset admits every pod of `namespace`. */
        podLabels: labelMap.optional(),
    })
    .refine((c) => c.namespace !== undefined || (c.podLabels !== undefined && Object.keys(c.podLabels).length > 0), {
        message: "needs 'podLabels' or 'namespace' (an empty client would admit every pod)",
    });

/**
 * NetworkPolicies (components/network-policies.ts): every pod of the namespace refuses
 * connections except the flows the platform's wiring needs. They take effect only on a
 * cluster whose network plugin enforces NetworkPolicies (README: "Network policies").
 */
export const networkSchema = z
    .strictObject({
        /** Create the default-deny policy and the per-Service allow policies. */
        policies: z.boolean().default(true),
        /**
         * Namespace of the ingress controller, admitted to the Services that `ingress.hosts`
         * expose when `ingress.enabled` (minikube's addon: `ingress-nginx`; k3s's Traefik: `kube-system`).
         */
        ingressControllerNamespace: dnsLabel.default("ingress-nginx"),
        /**
         * More clients per Service name, e.g. `{"model-api": [{"namespace": "shop"}]}`: they may
         * use every port of that Service. The platform's own flows need no entry here.
         */
        clients: z.record(dnsLabel, z.array(client).min(1, "must list at least one client")).default({}),
    })
    .prefault({});
export type NetworkConfig = z.infer<typeof networkSchema>;
