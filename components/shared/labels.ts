/** The recommended app.kubernetes.io/* labels, see kubernetes.io/docs/concepts/overview/working-with-objects/common-labels. */
export interface LabelArgs {
    /** The application, e.g. `postgres`. */
    readonly name: string;
    /** The instance, unique per deployment of the application; the component's resource name. */
    readonly instance: string;
    /** The role inside the application, e.g. `server`, `setup`. */
    readonly component: string;
    /** Version of the software, usually the image tag. */
    readonly version?: string;
}

export const PART_OF = "mlops-platform";

/**
 * Pod template annotation: clients that reach these pods without a Service (by pod IP), as JSON
 * `[{"podLabels": {...}, "port": 8793}]`. The NetworkPolicies admit them
 * (components/network-policies.ts); a component declares it next to the port it serves.
 */
export const CLIENTS_ANNOTATION = "mlops.dev/clients";

/**
 * Pod annotation of a pod whose metrics endpoint asks for HTTP basic auth (MLflow's, behind its
 * auth app): its value names the credentials Prometheus scrapes it with (a key of the Prometheus
 * component's `basicAuthScrapes`). Such pods are left out of the anonymous scrape job.
 */
export const SCRAPE_AUTH_ANNOTATION = "mlops.dev/scrape-auth";

/** Labels for an object's metadata. */
export function labels(args: LabelArgs): Record<string, string> {
    return {
        ...selectorLabels(args),
        ...(args.version ? { "app.kubernetes.io/version": sanitizeLabelValue(args.version) } : {}),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** The immutable subset used in selectors: never put a version in a selector. */
export function selectorLabels(args: LabelArgs): Record<string, string> {
    return {
        "app.kubernetes.io/name": args.name,
        "app.kubernetes.io/instance": args.instance,
        "app.kubernetes.io/component": args.component,
    };
}

/** Label values are at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function sanitizeLabelValue(value: string): string {
    return value
        .replace(/[^A-Za-z0-9_.-]/g, "_")
        .slice(0, 63)
        .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** The tag of an image reference, used as the version label. */
export function imageTag(image: string): string {
    const withoutDigest = image.split("@")[0] ?? image;
    const lastSegment = withoutDigest.split("/").pop() ?? withoutDigest;
    const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
    if (!tag) {
        throw new Error(`image '${image}' is not pinned to a tag`);
    }
    return tag;
}

/**
 * Namespace labels: the Pod Security Standard `restricted` profile is enforced, so the API
 * server itself rejects any pod of ours that loses its security context.
 */
export function namespaceLabels(): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}
