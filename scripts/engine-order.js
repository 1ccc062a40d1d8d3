#!/usr/bin/env node
// Reads a `pulumi up --event-log` file and checks that resources started only after the
// resources the graph says they wait for had finished (were created and awaited ready).
// Prints the order in which resources finished, with seconds since the first event.
"use strict";
const fs = require("node:fs");

const file = process.argv[2];
if (!file) {
    console.error("usage: engine-order.js <event-log.json>");
    process.exit(2);
}
const events = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

const started = new Map(); // logical "Kind/name" -> sequence of its resourcePreEvent
const finished = new Map(); // -> sequence of its resOutputsEvent
const finishedAt = [];
const t0 = events[0]?.timestamp ?? 0;
// urn:pulumi:<stack>::<project>::<parent$...$type>::<name> -> "<Kind>/<name>"
const key = (urn) => {
    const parts = urn.split("::");
    const kind = (parts[2] ?? "").split("$").pop().split(":").pop();
    return `${kind}/${parts.pop()}`;
};
for (const e of events) {
    if (e.resourcePreEvent?.metadata?.urn) started.set(key(e.resourcePreEvent.metadata.urn), e.sequence);
    if (e.resOutputsEvent?.metadata?.urn) {
        const k = key(e.resOutputsEvent.metadata.urn);
        finished.set(k, e.sequence);
        finishedAt.push([k, (e.timestamp ?? t0) - t0]);
    }
}

console.log("ready order (seconds after the first event):");
for (const [k, t] of finishedAt) {
    if (!/^(Stack|Provider|Resource)\//.test(k) && !k.startsWith("provider")) console.log(`  ${String(t).padStart(5)}s  ${k}`);
}

// waiter -> what it must wait for. Only edges between resources that exist are checked;
// a missing one is a failure (the program changed shape without this list following it).
const edges = [
    ["Job/postgres-setup", ["StatefulSet/postgres", "Service/postgres"]],
    ["Job/minio-buckets", ["StatefulSet/minio", "Service/minio"]],
    ["Job/mlflow-db-upgrade", ["Job/postgres-setup"]],
    ["Deployment/mlflow", ["Job/mlflow-db-upgrade", "Job/postgres-setup", "Job/minio-buckets"]],
    ["Job/airflow-migrate", ["Job/postgres-setup", "StatefulSet/redis", "Job/minio-buckets", "Deployment/mlflow", "Deployment/statsd-exporter"]],
    ...["api-server", "scheduler", "dag-processor", "triggerer", "worker"].map((p) => [`Deployment/airflow-${p}`, ["Job/airflow-migrate"]]),
    ["Deployment/model-api", ["Deployment/mlflow", "Job/postgres-setup"]],
    ["Deployment/data-api", ["Job/postgres-setup"]],
    ["Deployment/ui", ["Deployment/model-api", "Deployment/mlflow", "Deployment/data-api"]],
    ["Deployment/grafana", ["StatefulSet/prometheus"]],
];
let problems = 0;
for (const [waiter, deps] of edges) {
    const start = started.get(waiter);
    if (start === undefined) {
        console.log(`FAIL ${waiter} never started`);
        problems++;
        continue;
    }
    for (const dep of deps) {
        const done = finished.get(dep);
        if (done === undefined) {
            console.log(`FAIL ${dep} never finished`);
            problems++;
        } else if (done > start) {
            console.log(`FAIL ${waiter} started (event ${start}) before ${dep} was ready (event ${done})`);
            problems++;
        } else {
            console.log(`ok   ${waiter} started after ${dep} was ready`);
        }
    }
}
process.exit(problems === 0 ? 0 : 1);
