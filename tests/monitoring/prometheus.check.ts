/**
 * Alert rules and dashboards against a real Prometheus (the Debian binary) that scrapes the
 * real model-api and data-api processes, through the relabel rules the Prometheus component
 * renders. Kubernetes discovery is replaced by static targets carrying the same __meta_*
 * labels a pod would get, so the component's relabel_configs run unchanged.
 *
 * The fake "pods": model-api-0 serves a real ONNX fixture model; model-api-1 has no model
 * (MLflow unreachable); model-api-2 and data-api-1 are dead addresses; data-api-0 is real;
 * two more pods must be dropped by the relabelling (scrape annotation false, finished Job).
 *
 * Needs: MONITORING_MODEL_DIR (model.onnx + feature_spec.json), built dist/ of both services,
 * `prometheus` and `promtool` on PATH. MONITORING_PIDS: file to append child pids to (the
 * shell's trap stops them if this process dies).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { prometheusConfigFile, SCRAPE_JOB } from "../../components/prometheus";
import { ROOT } from "../program";
import { start, Started, waitForHttp } from "../support/processes";

const MONITORING = path.join(ROOT, "config/monitoring");
const modelDir = process.env.MONITORING_MODEL_DIR;

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FakePod {
    readonly pod: string;
    readonly app: string;
    readonly port: number;
    readonly scrape: string;
    readonly phase: string;
    /** Leave the path annotation out (Prometheus's default /metrics applies). */
    readonly noPath?: boolean;
}

/** A static target with the labels kubernetes_sd (role pod) would attach to this pod. */
function staticTarget(p: FakePod) {
    return {
        // Replaced by the relabelling (pod IP + annotated port); a wrong rule leaves this unscrapable address.
        targets: ["placeholder.invalid:1"],
        labels: {
            __meta_kubernetes_namespace: "mlops",
            __meta_kubernetes_pod_name: p.pod,
            __meta_kubernetes_pod_ip: "127.0.0.1",
            __meta_kubernetes_pod_phase: p.phase,
            __meta_kubernetes_pod_label_app_kubernetes_io_name: p.app,
            __meta_kubernetes_pod_label_app_kubernetes_io_component: "server",
            __meta_kubernetes_pod_annotation_prometheus_io_scrape: p.scrape,
            __meta_kubernetes_pod_annotation_prometheus_io_port: String(p.port),
            ...(p.noPath ? {} : { __meta_kubernetes_pod_annotation_prometheus_io_path: "/metrics" }),
        },
    };
}

/** Every `expr` of a dashboard's panels (rows included). */
function dashboardExprs(dashboard: any): { panel: string; expr: string }[] {
    const out: { panel: string; expr: string }[] = [];
    const walk = (panels: any[]) => {
        for (const p of panels ?? []) {
            for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
            walk(p.panels);
        }
    };
    walk(dashboard.panels);
    return out;
}

/** Grafana's built-in interval variables, as Grafana would expand them for a 1 s scrape interval. */
function expandGrafanaVariables(expr: string): string {
    const out = expr.replace(/\$__rate_interval/g, "1m").replace(/\$__interval/g, "15s").replace(/\$__range/g, "1h");
    if (out.includes("$")) throw new Error(`unexpanded variable in '${expr}'`);
    return out;
}

const procs: Started[] = [];
let work: string;
let promUrl: string;
const ports: Record<string, number> = {};

function launch(cmd: string, args: string[], env: NodeJS.ProcessEnv): Started {
    const p = start(cmd, args, env);
    procs.push(p);
    if (process.env.MONITORING_PIDS) fs.appendFileSync(process.env.MONITORING_PIDS, `${p.child.pid}\n`);
    return p;
}

async function query(expr: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }> {
    const res = await fetch(`${promUrl}/api/v1/query`, { method: "POST", body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as any;
}

const alertsFile = parse(fs.readFileSync(path.join(MONITORING, "alerts.yml"), "utf8")) as { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
const rules = alertsFile.groups.flatMap((g) => g.rules);

/** What each alert's expression must return against the processes above: the `pod` (or `app`) of each series. */
const EXPECTED: Record<string, string[]> = {
    ModelApiDown: ["model-api-2"],
    ModelApiHighErrorRate: ["model-api-1"],
    ModelApiHighLatencyP99: [],
    ModelApiNoModelLoaded: ["model-api-1"],
    DataApiUnreachable: ["data-api-1"],
    TrainingPipelineStale: [],
    PromotedModelNotServed: ["model-api-1"],
};

const LISTING = {
    brokered_by: 101, status: "for sale", bed: 3, bath: 2, acre_lot: 0.25, street: "123 elm st",
    city: "springfield", state: "illinois", zip_code: "62704", house_size: 1500, prev_sold_date: "2022-03-15",
};

beforeAll(async () => {
    if (!modelDir || !fs.existsSync(path.join(modelDir, "model.onnx"))) {
        throw new Error("MONITORING_MODEL_DIR must name a directory with model.onnx and feature_spec.json (run scripts/test.d/60-monitoring.sh)");
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-monitoring-"));
    for (const k of ["prometheus", "model0", "model1", "model2", "data0", "data1", "dropped", "mlflowDead"]) ports[k] = await freePort();

    const node = process.execPath;
    const modelApi = path.join(ROOT, "services/model-api/dist/src/server.js");
    const dataApi = path.join(ROOT, "services/data-api/dist/server.js");
    const base = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn", HOST: "127.0.0.1" };
    const model0 = launch(node, [modelApi], { ...base, PORT: String(ports.model0), MODEL_PATH: modelDir });
    // No model: MLflow is a closed port, so every load attempt fails and is retried quickly.
    const model1 = launch(node, [modelApi], {
        ...base, PORT: String(ports.model1), MLFLOW_TRACKING_URI: `http://127.0.0.1:${ports.mlflowDead}`,
        MODEL_RETRY_INITIAL_MS: "200", MODEL_RETRY_MAX_MS: "1000", MLFLOW_TIMEOUT_MS: "1000",
    });
    const dropped = launch(node, [modelApi], { ...base, PORT: String(ports.dropped), MODEL_PATH: modelDir });
    const data0 = launch(node, [dataApi], {
        PATH: process.env.PATH, HOME: process.env.HOME, DATA_API_HOST: "127.0.0.1", DATA_API_PORT: String(ports.data0),
        DATA_API_BATCH_SIZE: "200", DATA_API_INTERVAL_SECONDS: "0", DATA_API_STATE_FILE: path.join(work, "data-api-state.json"), DATA_API_LOG_LEVEL: "warn",
    });

    // The component's own prometheus.yml with only the discovery block swapped for static
    // targets: Debian builds Prometheus without Kubernetes discovery, so promtool there cannot
    // parse kubernetes_sd_configs (the unit test asserts that block exactly).
    const rulesDir = path.join(work, "rules");
    fs.mkdirSync(rulesDir);
    fs.copyFileSync(path.join(MONITORING, "alerts.yml"), path.join(rulesDir, "alerts.yml"));
    const rendered = prometheusConfigFile({ namespace: "mlops", scrapeInterval: "1s", evaluationInterval: "1s", rulesDir });

    const pods: FakePod[] = [
        { pod: "model-api-0", app: "model-api", port: ports.model0!, scrape: "true", phase: "Running" },
        { pod: "model-api-1", app: "model-api", port: ports.model1!, scrape: "true", phase: "Running", noPath: true },
        { pod: "model-api-2", app: "model-api", port: ports.model2!, scrape: "true", phase: "Running" },
        { pod: "data-api-0", app: "data-api", port: ports.data0!, scrape: "true", phase: "Running" },
        { pod: "data-api-1", app: "data-api", port: ports.data1!, scrape: "true", phase: "Running" },
        { pod: "model-api-unannotated", app: "model-api", port: ports.dropped!, scrape: "false", phase: "Running" },
        { pod: "ingest-job", app: "model-api", port: ports.dropped!, scrape: "true", phase: "Succeeded" },
    ];
    const job = (rendered.scrape_configs as any[])[0];
    const local = {
        ...rendered,
        scrape_configs: [{ job_name: job.job_name, static_configs: pods.map(staticTarget), relabel_configs: job.relabel_configs }],
    };
    expect(job.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { names: ["mlops"] } }]);
    fs.writeFileSync(path.join(work, "prometheus.yml"), JSON.stringify(local, null, 2));
    execFileSync("promtool", ["check", "config", path.join(work, "prometheus.yml")], { stdio: "pipe" });

    promUrl = `http://127.0.0.1:${ports.prometheus}`;
    const prom = launch("prometheus", [
        `--config.file=${path.join(work, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(work, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    ], { PATH: process.env.PATH, HOME: process.env.HOME });

    await waitForHttp(`http://127.0.0.1:${ports.model0}/ready`, model0);
    await waitForHttp(`http://127.0.0.1:${ports.model1}/health`, model1);
    await waitForHttp(`http://127.0.0.1:${ports.dropped}/ready`, dropped);
    await waitForHttp(`http://127.0.0.1:${ports.data0}/health`, data0);
    await waitForHttp(`${promUrl}/-/ready`, prom);

    // Real traffic, so the series exist: predictions (single, batch, invalid), 503s without a model, data batches.
    const post = (port: number, body: unknown) =>
        fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) expect((await post(ports.model0!, { features: { ...LISTING, house_size: 1000 + 100 * i } })).status).toBe(200);
        expect((await post(ports.model0!, { instances: [LISTING, LISTING, LISTING] })).status).toBe(200);
        expect((await post(ports.model0!, { features: { ...LISTING, bed: -1 } })).status).toBe(422);
        for (let i = 0; i < 5; i++) expect((await post(ports.model1!, { features: LISTING })).status).toBe(503);
        for (const group of [1, 2]) {
            expect((await fetch(`http://127.0.0.1:${ports.data0}/data?group_number=${group}&day=Tuesday`)).status).toBe(200);
        }
        expect((await fetch(`http://127.0.0.1:${ports.data0}/data?group_number=99&day=Tuesday`)).status).toBe(400);
        await sleep(2500); // spread over several scrapes, so rates see increases
    }
    await sleep(4000);
}, 180_000);

afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("GIVEN a real Prometheus scraping the real services through the component's relabel rules", () => {
    it("scrapes exactly the annotated running pods, on their annotated port, with namespace/pod/app labels", async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as any;
        const active = body.data.activeTargets.map((t: any) => ({ ...t.labels, health: t.health, url: t.scrapeUrl }));
        const byPod = Object.fromEntries(active.map((t: any) => [t.pod, t]));
        expect(Object.keys(byPod).sort()).toEqual(["data-api-0", "data-api-1", "model-api-0", "model-api-1", "model-api-2"]);
        expect(byPod["model-api-0"]).toEqual({
            app: "model-api", component: "server", namespace: "mlops", pod: "model-api-0", job: SCRAPE_JOB,
            instance: `127.0.0.1:${ports.model0}`, health: "up", url: `http://127.0.0.1:${ports.model0}/metrics`,
        });
        expect(byPod["model-api-1"].url).toBe(`http://127.0.0.1:${ports.model1}/metrics`); // no path annotation: default
        expect(byPod["data-api-0"].health).toBe("up");
        expect(byPod["model-api-2"].health).toBe("down");
        expect(body.data.droppedTargets.length).toBe(2);
    });

    it("loads every alert rule and evaluates each without error", async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as any;
        const loaded = body.data.groups.flatMap((g: any) => g.rules);
        expect(loaded.map((r: any) => r.name).sort()).toEqual(rules.map((r) => r.alert).sort());
        for (const r of loaded) {
            expect(r.health, `${r.name}: ${r.lastError}`).toBe("ok");
        }
        expect(Object.keys(EXPECTED).sort()).toEqual(rules.map((r) => r.alert).sort());
    });

    for (const rule of rules) {
        it(`${rule.alert}: the expression returns exactly the series it should (${(EXPECTED[rule.alert] ?? []).join(", ") || "none"})`, async () => {
            const res = await query(rule.expr);
            expect(res.status, res.error).toBe("success");
            const got = res.data!.result.map((s) => s.metric.pod ?? s.metric.app).sort();
            expect(got).toEqual(EXPECTED[rule.alert]);
        });
    }

    it("has every alert that should be pending or firing (and no other) in Prometheus's own alert list", async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as any;
        const got = body.data.alerts.map((a: any) => `${a.labels.alertname}/${a.labels.pod}`).sort();
        const want = Object.entries(EXPECTED).flatMap(([alert, pods]) => pods.map((p) => `${alert}/${p}`)).sort();
        expect(got).toEqual(want);
    });

    for (const file of fs.readdirSync(path.join(MONITORING, "dashboards")).filter((f) => f.endsWith(".json"))) {
        const dashboard = JSON.parse(fs.readFileSync(path.join(MONITORING, "dashboards", file), "utf8"));
        for (const { panel, expr } of dashboardExprs(dashboard)) {
            it(`dashboard ${file}, panel '${panel}': ${expr} parses and returns data`, async () => {
                const res = await query(expandGrafanaVariables(expr));
                expect(res.status, res.error).toBe("success");
                expect(res.data!.result.length, `no series for ${expr}`).toBeGreaterThan(0);
            });
        }
    }
});
