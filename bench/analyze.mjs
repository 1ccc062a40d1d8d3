#!/usr/bin/env node
// Compares a measured `pulumi up` with two numbers computed from the program's own graph and
// the per-workload delays of bench/delays.mjs:
//   critical path  longest path through the dependency graph, each resource costing its
//                  readiness delay: the lower bound of any orchestrator that respects the graph.
//   manual waves   the old guide's three waves (1: postgres, redis, minio + their Jobs;
//                  2: mlflow; 3: airflow); a wave starts when the previous wave's slowest
//                  member is ready. Inside a wave the graph still holds (a Job needs its server).
// The graph comes from `pulumi stack export` (each resource's `dependencies`; a dependency on
// a component stands for all of its custom descendants) plus one runtime fact the provider
// awaits: a Service with a selector (not headless) is ready when the pods it selects are, so
// it gets an edge from the workloads whose pod template its selector matches.
//
//   node bench/analyze.mjs <stack-export.json> <up-events.json> <up-wall-seconds>
import fs from "node:fs";
import { DELAYS, key, MEASURED_FROM } from "./delays.mjs";

const [exportFile, eventsFile, wallArg] = process.argv.slice(2);
if (!exportFile || !eventsFile || !wallArg) {
    console.error("usage: analyze.mjs <stack-export.json> <up-events.json> <up-wall-seconds>");
    process.exit(2);
}
const wall = Number(wallArg);
const resources = JSON.parse(fs.readFileSync(exportFile, "utf8")).deployment.resources ?? [];
const events = fs
    .readFileSync(eventsFile, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

const byUrn = new Map(resources.map((r) => [r.urn, r]));
const short = (urn) => {
    const parts = urn.split("::");
    return `${(parts[2] ?? "").split("$").pop().split(":").pop()}/${parts.pop()}`;
};
const WORKLOAD = new Set(["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"]);
const delayOf = new Map(DELAYS.map((d) => [`${d.name}/${d.component}`, d]));

// custom descendants of a component
const children = new Map();
for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
const customsUnder = (urn) => {
    const r = byUrn.get(urn);
    if (!r) return [];
    if (r.custom) return [urn];
    return (children.get(urn) ?? []).flatMap(customsUnder);
};

// nodes: every custom resource except providers
const nodes = resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
// The provider does not wait for resources annotated pulumi.com/skipAwait: they cost nothing
// and a Service with it is not tied to its pods.
const skipAwait = (r) => r.outputs?.metadata?.annotations?.["pulumi.com/skipAwait"] === "true";
const workloadDelay = new Map(); // urn -> delay entry
for (const r of nodes) {
    if (!WORKLOAD.has(r.type) || skipAwait(r)) continue;
    const d = delayOf.get(key(r.outputs?.spec?.template?.metadata?.labels));
    if (d) workloadDelay.set(r.urn, d);
}
const deps = new Map();
const implicit = []; // [service, workload] edges that come from selectors
for (const r of nodes) {
    const set = new Set();
    for (const d of r.dependencies ?? []) for (const c of customsUnder(d)) if (c !== r.urn && nodes.some((n) => n.urn === c)) set.add(c);
    if (r.type === "kubernetes:core/v1:Service") {
        const sel = r.outputs?.spec?.selector ?? {};
        const headless = r.outputs?.spec?.clusterIP === "None";
        if (Object.keys(sel).length && !headless && !skipAwait(r)) {
            for (const w of nodes.filter((n) => WORKLOAD.has(n.type) && n.type !== "kubernetes:batch/v1:Job")) {
                const tl = w.outputs?.spec?.template?.metadata?.labels ?? {};
                if (Object.entries(sel).every(([k, v]) => tl[k] === v)) {
                    set.add(w.urn);
                    implicit.push([r.urn, w.urn]);
                }
            }
        }
    }
    deps.set(r.urn, [...set]);
}

// longest path; cost(urn) may be masked (waves)
function longest(cost) {
    const finish = new Map();
    const via = new Map();
    const visiting = new Set();
    const f = (u) => {
        if (finish.has(u)) return finish.get(u);
        if (visiting.has(u)) throw new Error(`cycle at ${short(u)}`);
        visiting.add(u);
        let best = 0;
        let arg = null;
        for (const d of deps.get(u) ?? []) {
            const t = f(d);
            // on a tie, show the predecessor that costs something (the workload, not its Service)
            if (t > best || (t === best && arg !== null && cost(d) > cost(arg))) [best, arg] = [t, d];
        }
        visiting.delete(u);
        finish.set(u, best + cost(u));
        via.set(u, arg);
        return finish.get(u);
    };
    let end = 0;
    let last = null;
    for (const r of nodes) if (f(r.urn) >= end) [end, last] = [f(r.urn), r.urn];
    const chain = [];
    for (let u = last; u; u = via.get(u)) chain.unshift(u);
    return { end, chain, finish };
}
const cost = (u) => workloadDelay.get(u)?.seconds ?? 0;
const cp = longest(cost);

const waves = [1, 2, 3].map((w) => longest((u) => (workloadDelay.get(u)?.wave === w ? cost(u) : 0)).end);
const wavesTotal = waves.reduce((a, b) => a + b, 0);

// measured: seconds after the first event at which each resource was ready
const t0 = events[0]?.timestamp ?? 0;
const ready = new Map();
let firstRegister = null;
let lastReady = 0;
for (const e of events) {
    if (e.resourcePreEvent?.metadata?.type?.startsWith("kubernetes:") && firstRegister === null) firstRegister = e.timestamp - t0;
    if (e.resOutputsEvent?.metadata?.urn) {
        ready.set(e.resOutputsEvent.metadata.urn, e.timestamp - t0);
        if (!e.resOutputsEvent.metadata.urn.includes("pulumi:pulumi:Stack")) lastReady = Math.max(lastReady, e.timestamp - t0);
    }
}

const pad = (s, n) => String(s).padEnd(n);
const fmt = (x) => x.toFixed(1);
console.log(`graph: ${nodes.length} custom resources, ${[...deps.values()].reduce((a, d) => a + d.length, 0)} edges ` +
    `(${implicit.length} Service->pods edges from selectors), ${workloadDelay.size} delayed workloads`);
for (const r of nodes) {
    if (WORKLOAD.has(r.type) && !workloadDelay.has(r.urn)) {
        console.log(`  note: ${short(r.urn)} (${key(r.outputs?.spec?.template?.metadata?.labels)}) costs 0: ${skipAwait(r) ? "skipAwait, not awaited" : "no delay in bench/delays.mjs"}`);
    }
}
const waveless = [...workloadDelay].filter(([, d]) => d.wave == null).map(([u]) => short(u));
if (waveless.length) console.log(`  not in the three waves (count 0 there): ${waveless.join(", ")}`);
const measuredCount = DELAYS.filter((d) => d.source === "measured").length;
console.log(
    MEASURED_FROM
        ? `\ndelays: ${measuredCount} of ${DELAYS.length} measured on the real node (${MEASURED_FROM}), the rest estimates (${DELAYS.filter((d) => d.source !== "measured").map((d) => d.name + "/" + d.component).join(", ") || "none"})`
        : "\ndelays: all estimates (run npm run test:cluster once to measure them on a real node)",
);
console.log("\ncritical path (model finish / measured ready, seconds; measured = after the first engine event):");
for (const u of cp.chain) {
    const d = workloadDelay.get(u);
    console.log(`  ${pad(short(u), 42)} ${pad(d ? `+${d.seconds}` : "+0", 5)} ${String(cp.finish.get(u)).padStart(4)}  ${ready.has(u) ? String(ready.get(u)).padStart(4) : "   -"}${d?.source === "measured" ? "  (measured)" : ""}`);
}
console.log(`\nwaves: ${waves.map((w, i) => `wave ${i + 1} ${w}s`).join(" + ")} = ${wavesTotal}s`);
console.log("\n| measure | seconds |");
console.log("| --- | --- |");
console.log(`| pulumi up (wall) | ${fmt(wall)} |`);
console.log(`| critical path (lower bound) | ${cp.end} |`);
console.log(`| three manual waves | ${wavesTotal} |`);
console.log(`| up / critical path | ${(wall / cp.end).toFixed(3)} (target <= 1.15) |`);
console.log(`| waves / up | ${(wavesTotal / wall).toFixed(3)} |`);
console.log(`\nevent log (whole seconds after the first event): first Kubernetes object started at ${firstRegister}s ` +
    `(program start, providers), last resource ready at ${lastReady}s; up - critical path = ${fmt(wall - cp.end)}s`);
