import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCpu, parseMemory } from "../config";
import { K8sObject, podRequest, podTemplates, runsOnItsOwn } from "./integrity";
import { LoadedProgram, ROOT, runProgram, stackConfig } from "./program";

/*
 * Stack `local` (Pulumi.local.yaml) is what the real node tier deploys. Nothing can be pulled
 * there, so every image a pod of that stack names must be one that tools/images builds, under
 * exactly that reference; and the pods must fit the node's 2 CPUs, or some stay Pending.
 */

const BUILD = path.join(ROOT, "tools", "images", "build.sh");
const refOf = (recipe: string): string => execFileSync("bash", [BUILD, "--ref", recipe], { encoding: "utf8" }).trim();
const recipes = (): string[] => execFileSync("bash", [BUILD, "--list"], { encoding: "utf8" }).split("\n").filter(Boolean);

/** The real node of scripts/cluster-up.sh, and what its add-on pods (scripts/cluster/addons.yaml) request. */
const NODE_CPU = 2000;
const ADDONS_CPU = 60;

/** Each image setting of the stack and the recipe that builds it. */
const SETTINGS: Readonly<Record<string, string>> = {
    "postgres.image": "postgres",
    "redis.image": "redis",
    "minio.image": "minio",
    "minio.clientImage": "mc",
    "mlflow.image": "mlflow",
    "airflow.image": "airflow",
    "modelApi.image": "model-api",
    "dataApi.image": "data-api",
    "ui.image": "ui",
    "prometheus.image": "prometheus",
    "statsdExporter.image": "statsd-exporter",
};

function setting(config: Record<string, string>, dotted: string): unknown {
    const [key, ...rest] = dotted.split(".");
    let value: any = JSON.parse(config[`mlops-platform:${key}`] ?? "null");
    for (const part of rest) value = value?.[part];
    return value;
}

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("local");
});

describe("stack local: images", () => {
    it.each(Object.entries(SETTINGS))("%s is what tools/images/%s builds", (dotted, recipe) => {
        expect(setting(stackConfig("local"), dotted)).toBe(refOf(recipe));
    });

    it("every container of every pod runs an image built here (nothing to pull)", () => {
        const built = new Set(recipes().map(refOf));
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        const missing: string[] = [];
        for (const t of podTemplates(objects)) {
            for (const c of [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])]) {
                if (!built.has(c.image)) missing.push(`${t.owner.kind}/${t.owner.metadata?.name} ${c.name}: ${c.image}`);
            }
        }
        expect(missing).toEqual([]);
    });

    it("leaves Grafana out, the one workload whose image cannot be built here", () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        expect(objects.filter((o) => o.metadata?.labels?.["app.kubernetes.io/name"] === "grafana")).toEqual([]);
        expect(program.exports.endpoints.grafana).toBeUndefined();
    });
});

describe("stack local: fits the real node", () => {
    it("requests no more CPU than the node has beside its add-ons, with every Job running at once", () => {
        const objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
        let cpu = 0;
        for (const t of podTemplates(objects).filter((t) => runsOnItsOwn(t.owner))) {
            cpu += (t.owner.spec?.replicas ?? 1) * podRequest(t.spec, { cpu: parseCpu, memory: parseMemory }).cpu;
        }
        expect(cpu + ADDONS_CPU).toBeLessThanOrEqual(NODE_CPU);
    });
});
