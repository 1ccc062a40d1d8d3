import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkConfig } from "../config/network";
import { CLIENTS_ANNOTATION, labels } from "./shared";

/**
 * Default-deny ingress NetworkPolicies, and one policy per Service that admits exactly the
 * flows the program's own wiring implies. Nothing here is a hand-kept list of who talks to
 * whom: a `Wiring` records every Kubernetes object the components create (a transformation
 * on the components' resource options), and `deriveFlows` reads the flows off them:
 *
 *  - a pod that is handed a Service's in-cluster name (`<service>.<namespace>.svc...`, in its
 *    spec or in a ConfigMap or Secret it mounts or reads) may reach that Service: on the port in
 *    the reference, on 80/443 for a bare `http://`/`https://` URL, otherwise on every port;
 *  - Prometheus may reach each pod annotated `prometheus.io/scrape` on its annotated port;
 *  - the ingress controller's namespace may reach each Ingress backend on its port;
 *  - clients a component declares on a pod template it serves without a Service (annotation
 *    `mlops.dev/clients`: Airflow's api-server reading a running task's log from its worker);
 *  - `network.clients` adds clients from outside the platform (another namespace, a test Job).
 *
 * Policies select pods by the stable selector labels (name, instance, component), never by
 * version, so a rolling update keeps its access. The kubelet's probes and `kubectl
 * port-forward` are not pod-to-pod traffic and stay unaffected.
 */

/** A Kubernetes object as a component declared it, with its inputs resolved. */
export interface RenderedObject {
    /** The resource type's last segment: `Deployment`, `Service`, `Secret`, ... */
    readonly kind: string;
    readonly props: Record<string, any>;
}

/** Whom a policy admits: pods of the namespace by labels, or pods of another namespace. */
export type Peer = { readonly podLabels: Readonly<Record<string, string>>; readonly namespace?: string } | { readonly namespace: string; readonly podLabels?: undefined };

export interface Flow {
    /** The target pods: the Service's selector (or a scraped workload's selector labels). */
    readonly target: Readonly<Record<string, string>>;
    readonly from: Peer;
    readonly port: number;
    readonly protocol: "TCP" | "UDP" | "SCTP";
    /** Why the flow exists, for the policy's annotation and for test failures. */
    readonly why: string;
}

export interface DeriveArgs {
    readonly namespace: string;
    /** Selector labels of the Prometheus pods (they scrape every annotated pod of the namespace). */
    readonly scrapers?: Readonly<Record<string, string>>;
    /** Namespace of the ingress controller, which reaches the Ingress backends. */
    readonly ingressControllerNamespace?: string;
    /** Extra clients per Service name (`network.clients`). */
    readonly clients?: NetworkConfig["clients"];
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"]);
const SELECTOR_KEYS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"];

interface Workload {
    readonly name: string;
    /** The stable subset of the pod template's labels. */
    readonly podLabels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly podSpec: Record<string, any>;
}

interface ServiceInfo {
    readonly name: string;
    readonly selector: Record<string, string>;
    readonly ports: readonly { port: number; targetPort: number | string; protocol: "TCP" | "UDP" | "SCTP"; name?: string }[];
}

function podTemplate(o: RenderedObject): Record<string, any> | undefined {
    const spec = o.props.spec ?? {};
    if (o.kind === "CronJob") return spec.jobTemplate?.spec?.template;
    if (o.kind === "Pod") return { metadata: o.props.metadata, spec };
    return spec.template;
}

function workloadName(o: RenderedObject, podLabels: Record<string, string>): string {
    const name = o.props.metadata?.name;
    if (typeof name === "string") return name;
    // Jobs are auto-named; their labels say what they are.
    return [podLabels["app.kubernetes.io/instance"], podLabels["app.kubernetes.io/component"]].filter(Boolean).join("-") || o.kind;
}

function workloads(objects: readonly RenderedObject[]): Workload[] {
    return objects
        .filter((o) => WORKLOAD_KINDS.has(o.kind))
        .map((o) => {
            const template = podTemplate(o) ?? {};
            const all: Record<string, string> = template.metadata?.labels ?? {};
            const podLabels = Object.fromEntries(SELECTOR_KEYS.filter((k) => all[k] !== undefined).map((k) => [k, all[k]!]));
            if (Object.keys(podLabels).length === 0) {
                throw new Error(`network policies: the pods of ${o.kind} '${o.props.metadata?.name ?? "?"}' carry none of ${SELECTOR_KEYS.join(", ")}; no policy could name them`);
            }
            return { name: workloadName(o, podLabels), podLabels, annotations: template.metadata?.annotations ?? {}, podSpec: template.spec ?? {} };
        });
}

function services(objects: readonly RenderedObject[]): ServiceInfo[] {
    return objects
        .filter((o) => o.kind === "Service" && o.props.spec?.selector)
        .map((o) => ({
            name: String(o.props.metadata?.name),
            selector: o.props.spec.selector,
            ports: (o.props.spec.ports ?? []).map((p: any) => ({ port: Number(p.port), targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? "TCP", name: p.name })),
        }));
}

/** The names of the ConfigMaps and Secrets a pod reads (env, envFrom, volumes, projected). */
function referencedConfig(podSpec: Record<string, any>): { configMaps: Set<string>; secrets: Set<string> } {
    const configMaps = new Set<string>();
    const secrets = new Set<string>();
    const containers = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
    for (const c of containers) {
        for (const e of c.env ?? []) {
            if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
            if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
        }
        for (const e of c.envFrom ?? []) {
            if (e.configMapRef?.name) configMaps.add(e.configMapRef.name);
            if (e.secretRef?.name) secrets.add(e.secretRef.name);
        }
    }
    for (const v of podSpec.volumes ?? []) {
        if (v.configMap?.name) configMaps.add(v.configMap.name);
        if (v.secret?.secretName) secrets.add(v.secret.secretName);
        for (const s of v.projected?.sources ?? []) {
            if (s.configMap?.name) configMaps.add(s.configMap.name);
            if (s.secret?.name) secrets.add(s.secret.name);
        }
    }
    return { configMaps, secrets };
}

function decoded(o: RenderedObject): string {
    const data = Object.values(o.props.data ?? {}).map((v) => (o.kind === "Secret" ? Buffer.from(String(v), "base64").toString("utf8") : String(v)));
    return [...data, ...Object.values(o.props.stringData ?? {}).map(String)].join("\n");
}

function escapeRegExp(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function matches(selector: Record<string, string>, podLabels: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => podLabels[k] === v);
}

/** A Service port's target as a number: named ports resolve through the target pods' containers. */
function targetPort(svc: ServiceInfo, p: ServiceInfo["ports"][number], all: readonly Workload[]): number {
    if (typeof p.targetPort === "number") return p.targetPort;
    if (/^\d+$/.test(p.targetPort)) return Number(p.targetPort);
    for (const w of all.filter((w) => matches(svc.selector, w.podLabels))) {
        for (const c of [...(w.podSpec.containers ?? [])]) {
            const found = (c.ports ?? []).find((cp: any) => cp.name === p.targetPort);
            if (found) return Number(found.containerPort);
        }
    }
    throw new Error(`network policies: Service '${svc.name}' targets the port named '${p.targetPort}', which no container of its pods declares`);
}

/**
 * Every flow the wiring implies, deduplicated and sorted. Throws, naming the object, when a
 * reference cannot be resolved (a port the Service lacks, a client of an unknown Service).
 */
export function deriveFlows(objects: readonly RenderedObject[], args: DeriveArgs): Flow[] {
    const all = workloads(objects);
    const svcs = services(objects);
    const byName = new Map<string, RenderedObject>();
    for (const o of objects) {
        if ((o.kind === "ConfigMap" || o.kind === "Secret") && typeof o.props.metadata?.name === "string") byName.set(`${o.kind}/${o.props.metadata.name}`, o);
    }
    const flows: Flow[] = [];
    const add = (svc: ServiceInfo, from: Peer, ports: ServiceInfo["ports"], why: string) => {
        for (const p of ports) flows.push({ target: svc.selector, from, port: targetPort(svc, p, all), protocol: p.protocol, why });
    };

    for (const w of all) {
        const refs = referencedConfig(w.podSpec);
        const text = [
            JSON.stringify(w.podSpec),
            ...[...refs.configMaps].map((n) => byName.get(`ConfigMap/${n}`)).filter((o) => o !== undefined).map(decoded),
            ...[...refs.secrets].map((n) => byName.get(`Secret/${n}`)).filter((o) => o !== undefined).map(decoded),
        ].join("\n");
        for (const svc of svcs) {
            if (matches(svc.selector, w.podLabels)) continue; // its own Service
            const host = `(?<![A-Za-z0-9-])${escapeRegExp(svc.name)}\\.${escapeRegExp(args.namespace)}\\.svc(?:\\.cluster\\.local)?(?!\\.?[A-Za-z0-9-])`;
            const re = new RegExp(`(?:(https?)://(?:[^\\s"'/@]*@)?)?${host}(?::(\\d+))?`, "g");
            for (const m of text.matchAll(re)) {
                const scheme = m[1];
                const port = m[2] !== undefined ? Number(m[2]) : scheme === "http" ? 80 : scheme === "https" ? 443 : undefined;
                const ports = port === undefined ? svc.ports : svc.ports.filter((p) => p.port === port);
                if (ports.length === 0) {
                    throw new Error(`network policies: ${w.name} refers to ${m[0]}, but Service '${svc.name}' has no port ${port} (it has ${svc.ports.map((p) => p.port).join(", ")})`);
                }
                add(svc, { podLabels: w.podLabels }, ports, `${w.name} refers to ${m[0]}`);
            }
        }
    }

    if (args.scrapers) {
        for (const w of all.filter((w) => w.annotations["prometheus.io/scrape"] === "true")) {
            const port = Number(w.annotations["prometheus.io/port"]);
            if (!Number.isInteger(port) || port <= 0) throw new Error(`network policies: ${w.name} is annotated prometheus.io/scrape without a numeric prometheus.io/port`);
            flows.push({ target: w.podLabels, from: { podLabels: args.scrapers }, port, protocol: "TCP", why: `Prometheus scrapes ${w.name} (prometheus.io/port ${port})` });
        }
    }

    for (const w of all.filter((w) => w.annotations[CLIENTS_ANNOTATION] !== undefined)) {
        let declared: { podLabels: Record<string, string>; port: number }[];
        try {
            declared = JSON.parse(w.annotations[CLIENTS_ANNOTATION]!);
        } catch {
            throw new Error(`network policies: ${w.name}'s ${CLIENTS_ANNOTATION} annotation is not JSON`);
        }
        for (const c of declared) {
            flows.push({ target: w.podLabels, from: { podLabels: c.podLabels }, port: c.port, protocol: "TCP", why: `${w.name} declares ${CLIENTS_ANNOTATION}` });
        }
    }

    if (args.ingressControllerNamespace) {
        for (const ing of objects.filter((o) => o.kind === "Ingress")) {
            for (const rule of ing.props.spec?.rules ?? []) {
                for (const p of rule.http?.paths ?? []) {
                    const backend = p.backend?.service;
                    const svc = svcs.find((s) => s.name === backend?.name);
                    if (!svc) throw new Error(`network policies: Ingress '${ing.props.metadata?.name}' routes to Service '${backend?.name}', which the platform does not create`);
                    const ports = svc.ports.filter((sp) => sp.port === backend.port?.number || (backend.port?.name !== undefined && sp.name === backend.port.name));
                    add(svc, { namespace: args.ingressControllerNamespace }, ports, `the ingress controller (namespace ${args.ingressControllerNamespace}) serves ${rule.host ?? "*"}`);
                }
            }
        }
    }

    for (const [name, clients] of Object.entries(args.clients ?? {})) {
        const svc = svcs.find((s) => s.name === name);
        if (!svc) throw new Error(`'network.clients.${name}': the platform has no Service '${name}' (it has ${[...new Set(svcs.map((s) => s.name))].sort().join(", ")})`);
        for (const c of clients) {
            const from: Peer = c.podLabels ? { podLabels: c.podLabels, namespace: c.namespace } : { namespace: c.namespace! };
            add(svc, from, svc.ports, `network.clients.${name}`);
        }
    }

    const seen = new Map<string, Flow>();
    for (const f of flows) {
        const key = JSON.stringify([sorted(f.target), f.from.namespace ?? "", sorted(f.from.podLabels ?? {}), f.port, f.protocol]);
        if (!seen.has(key)) seen.set(key, f);
    }
    return [...seen.values()].sort((a, b) => flowKey(a).localeCompare(flowKey(b)));
}

function sorted(o: Readonly<Record<string, string>>): [string, string][] {
    return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}

function flowKey(f: Flow): string {
    return JSON.stringify([sorted(f.target), f.from.namespace ?? "", sorted(f.from.podLabels ?? {}), String(f.port).padStart(5, "0"), f.protocol]);
}

/** `spec.ingress` of the policy for `target`: one rule per peer, with every port it may use. */
export function ingressRules(flows: readonly Flow[], target: Readonly<Record<string, string>>): k8s.types.input.networking.v1.NetworkPolicyIngressRule[] {
    const key = JSON.stringify(sorted(target));
    const byPeer = new Map<string, { from: Peer; ports: { port: number; protocol: string }[] }>();
    for (const f of flows.filter((f) => JSON.stringify(sorted(f.target)) === key)) {
        const peerKey = JSON.stringify([f.from.namespace ?? "", sorted(f.from.podLabels ?? {})]);
        const entry = byPeer.get(peerKey) ?? { from: f.from, ports: [] };
        if (!entry.ports.some((p) => p.port === f.port && p.protocol === f.protocol)) entry.ports.push({ port: f.port, protocol: f.protocol });
        byPeer.set(peerKey, entry);
    }
    return [...byPeer.values()].map(({ from, ports }) => ({
        from: [
            {
                ...(from.podLabels ? { podSelector: { matchLabels: { ...from.podLabels } } } : {}),
                ...(from.namespace !== undefined ? { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": from.namespace } } } : {}),
            },
        ],
        ports: ports.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol)).map((p) => ({ port: p.port, protocol: p.protocol })),
    }));
}

/**
 * The pods a policy is written for, known while the program runs (before any Output resolves):
 * one per distinct Service selector (a Service and its headless twin share one), named after
 * the shorter Service name, plus scraped workloads and workloads declaring clients
 * (`mlops.dev/clients`) that no Service selects.
 */
export function policyTargets(objects: readonly RenderedObject[]): { name: string; selector: Record<string, string> }[] {
    const targets = new Map<string, { name: string; selector: Record<string, string> }>();
    for (const o of objects.filter((o) => o.kind === "Service")) {
        const name = o.props.metadata?.name;
        const selector = o.props.spec?.selector;
        if (selector === undefined) continue;
        if (typeof name !== "string" || !isPlainLabels(selector)) {
            throw new Error(`network policies: a Service's name and selector must be plain values when the program runs (Service '${String(name)}')`);
        }
        const key = JSON.stringify(sorted(selector));
        const known = targets.get(key);
        if (!known || name.length < known.name.length) targets.set(key, { name, selector });
    }
    for (const o of objects.filter((o) => WORKLOAD_KINDS.has(o.kind))) {
        const template = podTemplate(o);
        const annotations = template?.metadata?.annotations ?? {};
        if (annotations["prometheus.io/scrape"] !== "true" && annotations[CLIENTS_ANNOTATION] === undefined) continue;
        const podLabels = Object.fromEntries(SELECTOR_KEYS.filter((k) => typeof template?.metadata?.labels?.[k] === "string").map((k) => [k, template!.metadata.labels[k] as string]));
        if (![...targets.values()].some((t) => matches(t.selector, podLabels))) {
            targets.set(JSON.stringify(sorted(podLabels)), { name: workloadName(o, podLabels), selector: podLabels });
        }
    }
    return [...targets.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function isPlainLabels(v: unknown): v is Record<string, string> {
    return typeof v === "object" && v !== null && !pulumi.Output.isInstance(v) && Object.values(v).every((x) => typeof x === "string");
}

/**
 * Records the Kubernetes objects of every component it is passed to (as a resource
 * transformation; children inherit it from their component). `objects()` resolves them.
 */
export class Wiring {
    private readonly recorded: { kind: string; props: Record<string, any> }[] = [];

    /** For `ComponentResourceOptions.transformations`. */
    readonly transformation: pulumi.ResourceTransformation = (args) => {
        if (args.type.startsWith("kubernetes:") && !args.type.startsWith("kubernetes:index:")) {
            this.recorded.push({ kind: args.type.split(":").pop()!, props: args.props as Record<string, any> });
        }
        return undefined;
    };

    /** What was recorded so far, inputs as declared (Outputs unresolved). */
    declared(): readonly RenderedObject[] {
        return [...this.recorded];
    }

    /** The recorded objects with every input resolved (secret values included: keep it internal). */
    resolved(): pulumi.Output<RenderedObject[]> {
        return pulumi.output(this.recorded.map((r) => ({ kind: r.kind, props: r.props }))) as unknown as pulumi.Output<RenderedObject[]>;
    }
}

export interface NetworkPoliciesArgs {
    readonly namespace: pulumi.Input<string>;
    /** The platform's objects, recorded by a `Wiring` passed to every component. */
    readonly wiring: Wiring;
    /** Selector labels of the Prometheus pods. */
    readonly scrapers?: pulumi.Input<Record<string, string>>;
    readonly config: NetworkConfig;
    /** Whether the platform creates Ingress objects (then the controller's namespace is admitted). */
    readonly ingressEnabled: boolean;
}

/** The default-deny policy and one allow policy per Service (see the file's header). */
export class NetworkPolicies extends pulumi.ComponentResource {
    /** Every flow admitted, as `<source> -> <target pods> <port>/<protocol>` lines. */
    public readonly flows: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:NetworkPolicies", name, {}, opts);
        const targets = policyTargets(args.wiring.declared());
        const derived = pulumi
            .all([args.wiring.resolved(), args.namespace, args.scrapers])
            .apply(([objects, namespace, scrapers]) =>
                deriveFlows(objects, {
                    namespace,
                    scrapers,
                    clients: args.config.clients,
                    ingressControllerNamespace: args.ingressEnabled ? args.config.ingressControllerNamespace : undefined,
                }),
            );
        // Flows hold names, labels and ports only; the secrets they were read past stay secret.
        const flows = pulumi.unsecret(derived);
        const meta = (policy: string, component: string) => ({
            name: policy,
            namespace: args.namespace,
            labels: labels({ name: "network-policy", instance: name, component }),
        });
        const allow = targets.map(
            (t) =>
                new k8s.networking.v1.NetworkPolicy(
                    `${name}-${t.name}`,
                    {
                        // Auto-named, and nothing unknown in metadata: if a change ever replaces an
                        // allow policy, the new one is created before the old one goes. (A fixed name
                        // forces delete-first, and the new policy waits for Jobs the deny then blocks:
                        // seen on the real node during a credentials rotation.)
                        metadata: { namespace: args.namespace, labels: labels({ name: "network-policy", instance: name, component: "allow" }) },
                        spec: { podSelector: { matchLabels: t.selector }, policyTypes: ["Ingress"], ingress: flows.apply((fs) => ingressRules(fs, t.selector)) },
                    },
                    { parent: this },
                ),
        );
        // Last: on a first install nothing is denied before every allow policy exists.
        new k8s.networking.v1.NetworkPolicy(
            `${name}-default-deny`,
            { metadata: meta("default-deny-ingress", "default-deny"), spec: { podSelector: {}, policyTypes: ["Ingress"] } },
            { parent: this, dependsOn: allow },
        );
        this.flows = flows.apply((fs) => fs.map((f) => `${describePeer(f.from)} -> ${describeLabels(f.target)} ${f.port}/${f.protocol}`));
        this.registerOutputs({ flows: this.flows });
    }
}

function describeLabels(l: Readonly<Record<string, string>>): string {
    const short = [l["app.kubernetes.io/instance"] ?? l["app.kubernetes.io/name"], l["app.kubernetes.io/component"]].filter(Boolean).join("/");
    return short || Object.entries(l).map(([k, v]) => `${k}=${v}`).join(",");
}

function describePeer(p: Peer): string {
    const pods = p.podLabels ? describeLabels(p.podLabels) : "every pod";
    return p.namespace !== undefined ? `${pods} in namespace ${p.namespace}` : pods;
}

