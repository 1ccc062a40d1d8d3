/**
 * A reusable integrity check over every Kubernetes object a program registers. Each
 * later component passes through it unchanged: it knows Kubernetes, not our components.
 *
 * It reports (never throws) so a test can show every problem at once, and so negative
 * tests can prove that each rule fires.
 */

export interface K8sObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    readonly [field: string]: any;
}

interface PodTemplate {
    readonly owner: K8sObject;
    readonly labels: Record<string, string>;
    readonly spec: any;
    /** Volume names that a StatefulSet's volumeClaimTemplates provide. */
    readonly claimTemplates: string[];
}

const CLUSTER_SCOPED_KINDS = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "Node", "CustomResourceDefinition", "PriorityClass"]);

/** Volume types the Pod Security Standard `restricted` profile allows. */
const RESTRICTED_VOLUME_TYPES = new Set([
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
]);

export function describeObject(o: K8sObject): string {
    return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name ?? "<auto-named>"}`;
}

/**
 * What the scheduler reserves for one pod of a template: per resource, the larger of the sum
 * over its containers and the largest init container (init containers run one at a time).
 */
export function podRequest(spec: any, parse: { cpu: (q: string) => number; memory: (q: string) => number }): { cpu: number; memory: number } {
    const main: any[] = spec.containers ?? [];
    const init: any[] = spec.initContainers ?? [];
    const of = (kind: "cpu" | "memory") => {
        const q = (c: any) => parse[kind](c.resources.requests[kind]);
        return Math.max(main.map(q).reduce((a, b) => a + b, 0), init.map(q).reduce((a, b) => Math.max(a, b), 0));
    };
    return { cpu: of("cpu"), memory: of("memory") };
}

/**
 * Whether a template runs by itself: a suspended CronJob is a template that runs only when an
 * operator starts a Job from it (the restore, which first scales the platform's consumers to 0).
 */
export function runsOnItsOwn(owner: K8sObject): boolean {
    return !(owner.kind === "CronJob" && owner.spec?.suspend === true);
}

/** Pod templates of every workload kind, with their owner. */
export function podTemplates(objects: readonly K8sObject[]): PodTemplate[] {
    const out: PodTemplate[] = [];
    for (const o of objects) {
        let template: any;
        switch (o.kind) {
            case "Deployment":
            case "StatefulSet":
            case "DaemonSet":
            case "ReplicaSet":
            case "Job":
                template = o.spec?.template;
                break;
            case "CronJob":
                template = o.spec?.jobTemplate?.spec?.template;
                break;
            case "Pod":
                template = { metadata: o.metadata, spec: o.spec };
                break;
            default:
                continue;
        }
        out.push({
            owner: o,
            labels: template?.metadata?.labels ?? {},
            spec: template?.spec ?? {},
            claimTemplates: (o.kind === "StatefulSet" ? (o.spec?.volumeClaimTemplates ?? []) : []).map((t: any) => t.metadata?.name),
        });
    }
    return out;
}

function allContainers(spec: any): any[] {
    return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

function keysOf(o: K8sObject | undefined): Set<string> {
    return new Set([...Object.keys(o?.data ?? {}), ...Object.keys(o?.stringData ?? {}), ...Object.keys(o?.binaryData ?? {})]);
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Every rule below, as a list of human-readable problems; empty when the objects are sound. */
export function checkIntegrity(objects: readonly K8sObject[]): string[] {
    const problems: string[] = [];
    const find = (kind: string, namespace: string | undefined, name: string | undefined) =>
        objects.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? undefined) === (namespace ?? undefined));

    // 1. No two objects of one kind share a namespace and name.
    const seen = new Map<string, number>();
    for (const o of objects) {
        if (!o.metadata.name) {
            continue; // auto-named by the provider: unique by construction
        }
        const key = `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const [key, count] of seen) {
        if (count > 1) {
            problems.push(`${count} objects collide as ${key}`);
        }
    }

    // 2. Namespaced objects live in a namespace the program creates.
    const namespaces = new Set(objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
    for (const o of objects) {
        if (CLUSTER_SCOPED_KINDS.has(o.kind)) {
            continue;
        }
        if (!o.metadata.namespace) {
            problems.push(`${describeObject(o)} has no namespace`);
        } else if (!namespaces.has(o.metadata.namespace)) {
            problems.push(`${describeObject(o)} is in namespace '${o.metadata.namespace}', which the program does not create`);
        }
    }
    for (const ns of objects.filter((o) => o.kind === "Namespace")) {
        if (ns.metadata.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted") {
            problems.push(`${describeObject(ns)} does not enforce the 'restricted' Pod Security Standard`);
        }
    }

    const templates = podTemplates(objects);
    for (const t of templates) {
        const where = describeObject(t.owner);
        const ns = t.owner.metadata.namespace;
        const spec = t.spec;
        const volumes: any[] = spec.volumes ?? [];
        const volumeNames = new Set([...volumes.map((v) => v.name), ...t.claimTemplates]);

        // 3. Workload selectors select their own template.
        const selector = t.owner.spec?.selector?.matchLabels;
        if (selector && !matches(selector, t.labels)) {
            problems.push(`${where}: selector ${JSON.stringify(selector)} does not match its pod template labels`);
        }

        // 4. References resolve to objects the program creates, with the keys used.
        const secretRef = (name: string, key: string | undefined, what: string) => {
            const secret = find("Secret", ns, name);
            if (!secret) {
                problems.push(`${where}: ${what} references Secret '${name}', which the program does not create`);
            } else if (key !== undefined && !keysOf(secret).has(key)) {
                problems.push(`${where}: ${what} references key '${key}' missing from Secret '${name}'`);
            }
        };
        const configMapRef = (name: string, key: string | undefined, what: string) => {
            const cm = find("ConfigMap", ns, name);
            if (!cm) {
                problems.push(`${where}: ${what} references ConfigMap '${name}', which the program does not create`);
            } else if (key !== undefined && !keysOf(cm).has(key)) {
                problems.push(`${where}: ${what} references key '${key}' missing from ConfigMap '${name}'`);
            }
        };
        for (const v of volumes) {
            if (v.secret) {
                secretRef(v.secret.secretName, undefined, `volume '${v.name}'`);
                for (const item of v.secret.items ?? []) secretRef(v.secret.secretName, item.key, `volume '${v.name}'`);
            }
            if (v.configMap) {
                configMapRef(v.configMap.name, undefined, `volume '${v.name}'`);
                for (const item of v.configMap.items ?? []) configMapRef(v.configMap.name, item.key, `volume '${v.name}'`);
            }
            if (v.persistentVolumeClaim && !find("PersistentVolumeClaim", ns, v.persistentVolumeClaim.claimName)) {
                problems.push(`${where}: volume '${v.name}' references PersistentVolumeClaim '${v.persistentVolumeClaim.claimName}', which the program does not create`);
            }
            for (const source of v.projected?.sources ?? []) {
                if (source.secret) secretRef(source.secret.name, undefined, `volume '${v.name}'`);
                if (source.configMap) configMapRef(source.configMap.name, undefined, `volume '${v.name}'`);
            }
            const type = Object.keys(v).find((k) => k !== "name");
            if (type && !RESTRICTED_VOLUME_TYPES.has(type)) {
                problems.push(`${where}: volume '${v.name}' of type ${type} is not allowed by the restricted profile`);
            }
        }
        if (spec.serviceAccountName && spec.serviceAccountName !== "default" && !find("ServiceAccount", ns, spec.serviceAccountName)) {
            problems.push(`${where}: serviceAccountName '${spec.serviceAccountName}' is not a ServiceAccount the program creates`);
        }
        for (const ps of spec.imagePullSecrets ?? []) {
            secretRef(ps.name, undefined, "imagePullSecrets");
        }
        if (t.owner.kind === "StatefulSet" && !find("Service", ns, t.owner.spec?.serviceName)) {
            problems.push(`${where}: serviceName '${t.owner.spec?.serviceName}' is not a Service the program creates`);
        }

        // 5. The Pod Security Standard `restricted` profile, field by field.
        const podSc = spec.securityContext ?? {};
        if (spec.hostNetwork || spec.hostPID || spec.hostIPC) {
            problems.push(`${where}: uses host namespaces`);
        }
        if (podSc.runAsUser === 0) {
            problems.push(`${where}: pod runs as uid 0`);
        }
        for (const c of allContainers(spec)) {
            const cw = `${where} container '${c.name}'`;
            const sc = c.securityContext ?? {};
            if (!(sc.runAsNonRoot === true || (podSc.runAsNonRoot === true && sc.runAsNonRoot !== false))) {
                problems.push(`${cw}: runAsNonRoot is not true`);
            }
            if (sc.runAsUser === 0) {
                problems.push(`${cw}: runs as uid 0`);
            }
            if (sc.allowPrivilegeEscalation !== false) {
                problems.push(`${cw}: allowPrivilegeEscalation is not false`);
            }
            if (sc.privileged === true) {
                problems.push(`${cw}: is privileged`);
            }
            if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
                problems.push(`${cw}: does not drop ALL capabilities`);
            }
            const added = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== "NET_BIND_SERVICE");
            if (added.length > 0) {
                problems.push(`${cw}: adds capabilities ${added.join(", ")}`);
            }
            const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
            if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
                problems.push(`${cw}: seccompProfile is not RuntimeDefault or Localhost`);
            }
            for (const p of c.ports ?? []) {
                if (p.hostPort) problems.push(`${cw}: uses hostPort ${p.hostPort}`);
            }

            // Images are pinned; requests and a memory limit are set.
            if (typeof c.image !== "string" || !/:[^/:]+$|@sha256:/.test(c.image) || /:latest$/.test(c.image)) {
                problems.push(`${cw}: image '${c.image}' is not pinned to a version`);
            }
            if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory) {
                problems.push(`${cw}: lacks cpu/memory requests or a memory limit`);
            }

            // Env references resolve; $(VAR) only names variables defined before it.
            const defined: string[] = [];
            for (const e of c.env ?? []) {
                if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) {
                    secretRef(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key, `env ${e.name}`);
                }
                if (e.valueFrom?.configMapKeyRef && !e.valueFrom.configMapKeyRef.optional) {
                    configMapRef(e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key, `env ${e.name}`);
                }
                for (const m of String(e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
                    if (!defined.includes(m[1]!)) {
                        problems.push(`${cw}: env ${e.name} refers to $(${m[1]}), which is not defined before it`);
                    }
                }
                defined.push(e.name);
            }
            for (const ef of c.envFrom ?? []) {
                if (ef.secretRef && !ef.secretRef.optional) secretRef(ef.secretRef.name, undefined, "envFrom");
                if (ef.configMapRef && !ef.configMapRef.optional) configMapRef(ef.configMapRef.name, undefined, "envFrom");
            }
            for (const vm of c.volumeMounts ?? []) {
                if (!volumeNames.has(vm.name)) {
                    problems.push(`${cw}: mounts volume '${vm.name}', which the pod does not define`);
                }
            }

            // Probe ports exist on the container.
            const portNames = new Set((c.ports ?? []).map((p: any) => p.name).filter(Boolean));
            const portNumbers = new Set((c.ports ?? []).map((p: any) => p.containerPort));
            for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
                const probe = c[kind];
                const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
                if (port === undefined) continue;
                if (typeof port === "string" ? !portNames.has(port) : !portNumbers.has(port)) {
                    problems.push(`${cw}: ${kind} port '${port}' is not a port of the container`);
                }
            }
        }
    }

    // 6. Services select pods, and every targetPort exists on each selected pod.
    for (const svc of objects.filter((o) => o.kind === "Service")) {
        const selector: Record<string, string> | undefined = svc.spec?.selector;
        if (!selector || Object.keys(selector).length === 0) {
            continue; // a selector-less Service is managed by hand (Endpoints); nothing to check
        }
        const selected = templates.filter((t) => t.owner.metadata.namespace === svc.metadata.namespace && matches(selector, t.labels));
        if (selected.length === 0) {
            problems.push(`${describeObject(svc)}: selector ${JSON.stringify(selector)} matches no pod template`);
            continue;
        }
        for (const port of svc.spec?.ports ?? []) {
            const target = port.targetPort ?? port.port;
            for (const t of selected) {
                const ports = (t.spec.containers ?? []).flatMap((c: any) => c.ports ?? []);
                const found = typeof target === "string" ? ports.some((p: any) => p.name === target) : ports.some((p: any) => p.containerPort === target);
                if (!found) {
                    problems.push(`${describeObject(svc)}: targetPort '${target}' is not a container port of ${describeObject(t.owner)}`);
                }
            }
        }
    }

    // 7. Ingress backends are Services the program creates, on one of their ports.
    for (const ing of objects.filter((o) => o.kind === "Ingress")) {
        const backends = [ing.spec?.defaultBackend, ...(ing.spec?.rules ?? []).flatMap((r: any) => (r.http?.paths ?? []).map((p: any) => p.backend))].filter(Boolean);
        for (const b of backends) {
            const name = b.service?.name;
            const svc = find("Service", ing.metadata.namespace, name);
            if (!svc) {
                problems.push(`${describeObject(ing)}: backend Service '${name}' is not a Service the program creates`);
                continue;
            }
            const port = b.service.port ?? {};
            const ports: any[] = svc.spec?.ports ?? [];
            if (!ports.some((p) => (port.name !== undefined ? p.name === port.name : p.port === port.number) && (p.protocol ?? "TCP") === "TCP")) {
                problems.push(`${describeObject(ing)}: backend port ${port.name ?? port.number} is not a TCP port of Service '${name}'`);
            }
        }
    }
    return problems;
}

/**
 * Validates each object against the Kubernetes OpenAPI schema through kubernetes-models
 * (ESM-only, hence the dynamic import). Returns one problem per invalid object.
 */
export async function validateSchemas(objects: readonly K8sObject[]): Promise<string[]> {
    const problems: string[] = [];
    for (const o of objects) {
        const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [undefined, o.apiVersion];
        const modulePath = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
        let model: any;
        try {
            model = (await import(modulePath))[o.kind];
        } catch {
            problems.push(`${describeObject(o)}: no schema for ${o.apiVersion} ${o.kind}`);
            continue;
        }
        try {
            new model(o).validate();
        } catch (err) {
            problems.push(`${describeObject(o)}: ${(err as Error).message}`);
        }
    }
    return problems;
}
