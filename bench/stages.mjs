#!/usr/bin/env node
// Derives a kwok stage config with per-workload start delays from kwok's "fast" stages
// (the toolchain cache's kwok-stages/fast.yaml): node stages and pod-delete are copied as they
// are; pod-ready and pod-complete each get one delayed copy per workload in bench/delays.mjs
// (selected by matchLabels) plus the original, instant stage restricted to every other pod.
// The selectors are mutually exclusive, so kwok never has to pick among matching stages at
// random (it would, weighted, if several matched).
//
// A delayed long-running pod goes through two stages, as under a kubelet: first (at once) it
// gets its pod IP while still Pending and not Ready (the sandbox is up, the image is being
// pulled), so the endpoints controller lists it under notReadyAddresses; then, after the
// delay, the original pod-ready template makes it Running and Ready. The fast stages set the
// IP only together with Ready, which would let the Kubernetes provider call a Service ready
// before its pods are (it waits for "no not-ready addresses, settled for 10 s", not for a
// ready address), hiding a wait that a real cluster has.
//
//   node bench/stages.mjs <fast.yaml> > delayed.yaml
import fs from "node:fs";
import YAML from "yaml";
import { COMPONENT, DELAYS, NAME } from "./delays.mjs";

const src = process.argv[2];
if (!src) {
    console.error("usage: stages.mjs <kwok fast stages yaml>");
    process.exit(2);
}
const stages = YAML.parseAllDocuments(fs.readFileSync(src, "utf8"))
    .map((d) => d.toJS())
    .filter(Boolean);
const byName = new Map(stages.map((s) => [s.metadata.name, s]));
for (const need of ["pod-ready", "pod-complete"]) {
    if (!byName.has(need)) throw new Error(`${src} has no stage ${need}`);
}

// [start, end) of the hostIP/podIP lines in pod-ready's status template
function ipBlock(tpl) {
    const from = tpl.indexOf("{{ $hostIPs");
    const to = tpl.indexOf("phase: Running");
    if (from < 0 || to < from) throw new Error("pod-ready template has no hostIPs/podIPs block");
    return [from, to];
}

// pod-ready's first half: IP assigned, Pending, not ready (its own IP/host lines reused).
function startStage(podReady, d) {
    const tpl = podReady.spec.next.statusTemplate;
    const [from, to] = ipBlock(tpl);
    const s = structuredClone(podReady);
    s.metadata.name = `pod-start-${d.name}-${d.component}`;
    s.spec.selector = {
        matchExpressions: [...s.spec.selector.matchExpressions, { key: ".status.podIP", operator: "DoesNotExist" }],
        matchLabels: { [NAME]: d.name, [COMPONENT]: d.component },
    };
    s.spec.next = {
        statusTemplate: [
            "{{ $now := Now }}",
            "conditions:",
            ...["Initialized", "Ready", "ContainersReady"].flatMap((type) => [
                `- lastTransitionTime: {{ $now | Quote }}`,
                `  status: "${type === "Initialized" ? "True" : "False"}"`,
                `  type: ${type}`,
            ]),
            "containerStatuses:",
            "{{ range .spec.containers }}",
            "- image: {{ .image | Quote }}",
            "  name: {{ .name | Quote }}",
            "  ready: false",
            "  restartCount: 0",
            "  state:",
            "    waiting:",
            "      reason: ContainerCreating",
            "{{ end }}",
            tpl.slice(from, to).trimEnd(),
            "phase: Pending",
            "startTime: {{ $now | Quote }}",
            "",
        ].join("\n"),
    };
    return s;
}

// jq over the pod: "<name>/<component>" ("/" when unlabelled; jq's null + "x" is "x").
const pairKey = `.metadata.labels["${NAME}"] + "/" + .metadata.labels["${COMPONENT}"]`;
const out = [];
for (const stage of stages) {
    const kind = { "pod-ready": "ready", "pod-complete": "complete" }[stage.metadata.name];
    if (!kind) {
        out.push(stage);
        continue;
    }
    const mine = DELAYS.filter((d) => d.stage === kind);
    for (const d of mine) {
        if (kind === "ready") out.push(startStage(stage, d));
        const copy = structuredClone(stage);
        copy.metadata.name = `${stage.metadata.name}-${d.name}-${d.component}`;
        copy.spec.selector = { ...copy.spec.selector, matchLabels: { [NAME]: d.name, [COMPONENT]: d.component } };
        if (kind === "ready") {
            // The pod already has its IPs (pod-start); asking kwok again would allocate a
            // second IP, and a status with two IPv4 pod IPs is rejected.
            copy.spec.selector.matchExpressions.push({ key: ".status.podIP", operator: "Exists" });
            const [from, to] = ipBlock(copy.spec.next.statusTemplate);
            copy.spec.next.statusTemplate = copy.spec.next.statusTemplate.slice(0, from) + copy.spec.next.statusTemplate.slice(to);
        }
        copy.spec.delay = { durationMilliseconds: d.seconds * 1000 };
        out.push(copy);
    }
    const rest = structuredClone(stage);
    rest.spec.selector.matchExpressions = [
        ...(rest.spec.selector.matchExpressions ?? []),
        { key: pairKey, operator: "NotIn", values: mine.map((d) => `${d.name}/${d.component}`) },
    ];
    out.push(rest);
}
process.stdout.write(out.map((s) => "---\n" + YAML.stringify(s, { lineWidth: 0 })).join(""));
