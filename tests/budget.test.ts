import { beforeAll, describe, expect, it } from "vitest";
import { ALLOCATIONS, DEV_NODE, SYSTEM_RESERVE } from "../config/budget";
import { parseCpu, parseMemory } from "../config";
import { K8sObject, podRequest, podTemplates, runsOnItsOwn } from "./integrity";
import { LoadedProgram, runProgram } from "./program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

/**
 * Requests per app (app.kubernetes.io/name), counting every replica and every Job and CronJob
 * pod as running at once. A pod's request is what the scheduler reserves: the larger of the
 * sum over its containers and the largest init container (init containers run one at a time).
 */
function requestsByApp(objects: K8sObject[]): Map<string, { cpu: number; memory: number }> {
    const out = new Map<string, { cpu: number; memory: number }>();
    for (const t of podTemplates(objects).filter((t) => runsOnItsOwn(t.owner))) {
        const app = t.labels["app.kubernetes.io/name"] ?? "<unlabelled>";
        const replicas = t.owner.spec?.replicas ?? 1;
        const sum = out.get(app) ?? { cpu: 0, memory: 0 };
        const request = podRequest(t.spec, { cpu: parseCpu, memory: parseMemory });
        sum.cpu += replicas * request.cpu;
        sum.memory += replicas * request.memory;
        out.set(app, sum);
    }
    return out;
}

describe("the dev profile fits minikube at 3 CPUs / 6 GiB", () => {
    it("allocates no more than the node minus the system reserve", () => {
        const cpu = Object.values(ALLOCATIONS).reduce((s, a) => s + parseCpu(a.cpu), 0);
        const memory = Object.values(ALLOCATIONS).reduce((s, a) => s + parseMemory(a.memory), 0);
        expect(cpu + parseCpu(SYSTEM_RESERVE.cpu)).toBeLessThanOrEqual(parseCpu(DEV_NODE.cpu));
        expect(memory + parseMemory(SYSTEM_RESERVE.memory)).toBeLessThanOrEqual(parseMemory(DEV_NODE.memory));
    });

    it("keeps every deployed app within its allocation", () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        const used = requestsByApp(objects);
        expect([...used.keys()].sort()).toEqual(["airflow", "backup", "data-api", "grafana", "minio", "mlflow", "model-api", "postgres", "prometheus", "redis", "statsd-exporter", "ui"]);
        for (const [app, req] of used) {
            const allocation = ALLOCATIONS[app];
            expect(allocation, `no allocation for '${app}' in config/budget.ts`).toBeDefined();
            expect(req.cpu, `${app} cpu (millicores)`).toBeLessThanOrEqual(parseCpu(allocation!.cpu));
            expect(req.memory, `${app} memory (bytes)`).toBeLessThanOrEqual(parseMemory(allocation!.memory));
        }
    });
});

describe("the README's memory advice", () => {
    it("states the sum of the long-running containers' memory limits as rendered", async () => {
        const fs = await import("node:fs");
        const path = await import("node:path");
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        let limits = 0;
        for (const t of podTemplates(objects)) {
            if (t.owner.kind === "Job" || t.owner.kind === "CronJob") continue; // Jobs finish before the load the advice is about
            const replicas = t.owner.spec?.replicas ?? 1;
            for (const c of [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])]) {
                limits += replicas * parseMemory(c.resources.limits.memory);
            }
        }
        const gib = (limits / 2 ** 30).toFixed(1);
        const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8").replace(/\s+/g, " ");
        expect(readme).toContain(`long-running containers add up to ${gib} GiB`);
    });
});
