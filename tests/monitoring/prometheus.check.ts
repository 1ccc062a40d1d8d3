/**
 * Alert rules and dashboards against a real Prometheus (the Debian binary) that scrapes the
 * real model-api and data-api processes, through the relabel rules the Prometheus component
 * renders. Kubernetes discovery is replaced by static targets carrying the same __meta_*
 * labels a pod would get, so the component's relabel_configs run unchanged.
 *
 * The fake "pods": model-api-0 serves a real ONNX fixture model; model-api-1 has no model
 * (MLflow unreachable); model-api-2 and data-api-1 are dead addresses; data-api-0 is real;
 * two more pods must be dropped by the relabelling (scrape annotation false, finished Job).
 * mlflow-0 stands in for MLflow behind its auth app: its /metrics answers only the basic-auth
 * login of the component's per-key job (401 to anything else, as MLflow does), which Prometheus
 * reads from a password file.
 *
 * Airflow's side: the built statsd exporter runs with the component's flags and the mapping
 * of config/monitoring/statsd; tests/monitoring/emit_airflow_metrics.py, in the Airflow venv
 * with the env the Airflow component renders (statsdEnv), sends what a deployed scheduler and
 * the train DAG's promote task send, through Airflow's own StatsD client. statsd-exporter-1 is
 * a dead address.
 *
 * Needs: MONITORING_MODEL_DIR (model.onnx + feature_spec.json), built dist/ of both services,
 * `prometheus` and `promtool` on PATH, MONITORING_STATSD_EXPORTER (directory of the built
 * statsd_exporter) and MONITORING_AIRFLOW_VENV. MONITORING_PIDS: file to append child pids to (the
 * shell's trap stops them if this process dies).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { statsdEnv } from "../../components/airflow";
import { prometheusConfigFile, SCRAPE_AUTH_DIR, SCRAPE_JOB } from "../../components/prometheus";
import { statsdExporterArgs } from "../../components/statsd-exporter";
import { ROOT } from "../program";
import { start, Started, waitForHttp } from "../support/processes";
import { freePort } from "../support/ports";

const MONITORING = path.join(ROOT, "config/monitoring");
const modelDir = process.env.MONITORING_MODEL_DIR;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FakePod {
    readonly pod: string;
    readonly app: string;
    readonly port: number;
    readonly scrape: string;
    readonly phase: string;
    /** Leave the path annotation out (Prometheus's default /metrics applies). */
    readonly noPath?: boolean;
    /** The mlops.dev/scrape-auth annotation: its metrics want that key's login. */
    readonly scrapeAuth?: string;
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
            ...(p.scrapeAuth ? { __meta_kubernetes_pod_annotation_mlops_dev_scrape_auth: p.scrapeAuth } : {}),
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
/** Client-side durations of the measured /predict requests to model-api-0 (for the p99 alert's failure message). */
const predictMs: number[] = [];
let emitted: { dag_runs: [string, string, number][]; backends: Record<string, string> };
/** How a result series is named in EXPECTED: its pod, else its app, else its namespace (per-namespace alerts). */
const seriesKey = (labels: Record<string, string>) => labels.pod ?? labels.app ?? labels.namespace;
const ports: Record<string, number> = {};
/** The stand-in MLflow's /metrics: Authorization headers it was scraped with. */
const mlflowScrapes: (string | undefined)[] = [];
const MLFLOW_SCRAPE_PASSWORD = `scrape-${Math.random().toString(36).slice(2)}`;
let mlflowStandIn: http.Server | undefined;

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
    StatsdExporterDown: ["statsd-exporter-1"],
    TrainingDagFailed: ["mlops"],
    ModelApiHighErrorRate: ["model-api-1"],
    ModelApiHighLatencyP99: [],
    ModelApiNoModelLoaded: ["model-api-1"],
    DataApiUnreachable: ["data-api-1"],
    IngestStale: [],
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
    for (const k of ["prometheus", "model0", "model1", "model2", "data0", "data1", "dropped", "mlflowDead", "statsdWeb", "statsdUdp", "statsdDead", "mlflow"]) ports[k] = await freePort();
    const login = `Basic ${Buffer.from(`prometheus:${MLFLOW_SCRAPE_PASSWORD}`).toString("base64")}`;
    mlflowStandIn = http.createServer((req, res) => {
        mlflowScrapes.push(req.headers.authorization);
        if (req.headers.authorization !== login) return res.writeHead(401, { "www-authenticate": 'Basic realm="mlflow"' }).end("You are not authenticated.");
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end("# TYPE mlflow_http_request_total counter\nmlflow_http_request_total 1\n");
    });
    await new Promise<void>((r) => mlflowStandIn!.listen(ports.mlflow, "127.0.0.1", r));
    const statsdDir = process.env.MONITORING_STATSD_EXPORTER;
    const airflowVenv = process.env.MONITORING_AIRFLOW_VENV;
    if (!statsdDir || !fs.existsSync(path.join(statsdDir, "statsd_exporter")) || !airflowVenv || !fs.existsSync(path.join(airflowVenv, "bin/python"))) {
        throw new Error("MONITORING_STATSD_EXPORTER and MONITORING_AIRFLOW_VENV must name the built statsd_exporter's directory and the Airflow venv (run scripts/test.d/60-monitoring.sh)");
    }

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

    // The exporter with the component's own flags; only paths and listen addresses are local.
    const local = (arg: string) =>
        arg.startsWith("--statsd.mapping-config=") ? `--statsd.mapping-config=${path.join(MONITORING, "statsd/mapping.yml")}`
        : arg.startsWith("--statsd.listen-udp=") ? `--statsd.listen-udp=127.0.0.1:${ports.statsdUdp}`
        : arg.startsWith("--web.listen-address=") ? `--web.listen-address=127.0.0.1:${ports.statsdWeb}`
        : arg;
    const exporter = launch(path.join(statsdDir, "statsd_exporter"), statsdExporterArgs().map(local), { PATH: process.env.PATH, HOME: process.env.HOME });
    await waitForHttp(`http://127.0.0.1:${ports.statsdWeb}/-/ready`, exporter);
    // What a deployed Airflow sends, with the env the Airflow component renders.
    const airflowHome = path.join(work, "airflow-home");
    fs.mkdirSync(airflowHome);
    const sent = spawnSync(path.join(airflowVenv, "bin/python"), [path.join(ROOT, "tests/monitoring/emit_airflow_metrics.py")], {
        encoding: "utf8",
        timeout: 120_000,
        env: {
            PATH: process.env.PATH, HOME: airflowHome, AIRFLOW_HOME: airflowHome, PYTHONPATH: path.join(ROOT, "dags"),
            ...Object.fromEntries(statsdEnv({ host: "127.0.0.1", port: ports.statsdUdp! }).map((e) => [e.name, e.value as string])),
        },
    });
    expect(sent.status, `emit_airflow_metrics.py: ${sent.stderr}`).toBe(0);
    emitted = JSON.parse(sent.stdout.trim().split("\n").pop()!);

    // The component's own prometheus.yml with only the discovery block swapped for static
    // targets: Debian builds Prometheus without Kubernetes discovery, so promtool there cannot
    // parse kubernetes_sd_configs (the unit test asserts that block exactly).
    const rulesDir = path.join(work, "rules");
    fs.mkdirSync(rulesDir);
    fs.copyFileSync(path.join(MONITORING, "alerts.yml"), path.join(rulesDir, "alerts.yml"));
    const rendered = prometheusConfigFile({ namespace: "mlops", scrapeInterval: "1s", evaluationInterval: "1s", rulesDir, basicAuthScrapes: { mlflow: "prometheus" } });
    // The password file as the Secret volume lays it out, under a local directory.
    const authDir = path.join(work, "scrape-auth");
    fs.mkdirSync(path.join(authDir, "mlflow"), { recursive: true });
    fs.writeFileSync(path.join(authDir, "mlflow", "password"), MLFLOW_SCRAPE_PASSWORD);

    const pods: FakePod[] = [
        { pod: "model-api-0", app: "model-api", port: ports.model0!, scrape: "true", phase: "Running" },
        { pod: "model-api-1", app: "model-api", port: ports.model1!, scrape: "true", phase: "Running", noPath: true },
        { pod: "model-api-2", app: "model-api", port: ports.model2!, scrape: "true", phase: "Running" },
        { pod: "data-api-0", app: "data-api", port: ports.data0!, scrape: "true", phase: "Running" },
        { pod: "data-api-1", app: "data-api", port: ports.data1!, scrape: "true", phase: "Running" },
        { pod: "statsd-exporter-0", app: "statsd-exporter", port: ports.statsdWeb!, scrape: "true", phase: "Running" },
        { pod: "statsd-exporter-1", app: "statsd-exporter", port: ports.statsdDead!, scrape: "true", phase: "Running" },
        { pod: "model-api-unannotated", app: "model-api", port: ports.dropped!, scrape: "false", phase: "Running" },
        { pod: "ingest-job", app: "model-api", port: ports.dropped!, scrape: "true", phase: "Succeeded" },
        { pod: "mlflow-0", app: "mlflow", port: ports.mlflow!, scrape: "true", phase: "Running", scrapeAuth: "mlflow" },
    ];
    // Every job sees every pod, as kubernetes_sd gives each job the namespace's pods.
    const jobs = rendered.scrape_configs as any[];
    const localConfig = {
        ...rendered,
        scrape_configs: jobs.map((job) => ({
            job_name: job.job_name,
            static_configs: pods.map(staticTarget),
            relabel_configs: job.relabel_configs,
            ...(job.basic_auth ? { basic_auth: { ...job.basic_auth, password_file: job.basic_auth.password_file.replace(SCRAPE_AUTH_DIR, authDir) } } : {}),
        })),
    };
    expect(jobs.map((j) => j.job_name)).toEqual([SCRAPE_JOB, `${SCRAPE_JOB}-mlflow`]);
    for (const job of jobs) expect(job.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { names: ["mlops"] } }]);
    fs.writeFileSync(path.join(work, "prometheus.yml"), JSON.stringify(localConfig, null, 2));
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
    // Warm-up before Prometheus's first scrape, so it lands in the baseline sample that rate()
    // starts from: the first inferences of a fresh ONNX session are the slow ones, and one of
    // them over 0.5 s would make the p99 alert's expression return model-api-0.
    const post = (port: number, body: unknown) =>
        fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    for (let i = 0; i < 5; i++) expect((await post(ports.model0!, { instances: [LISTING, LISTING, LISTING] })).status).toBe(200);
    // Prometheus applies discovered targets in batches (every 5 s), so its first scrapes come a
    // few seconds after /-/ready. Traffic before them would be invisible to rate() and increase().
    const deadline = Date.now() + 60_000;
    for (;;) {
        const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as any;
        const active = body.data.activeTargets as { health: string }[];
        if (active.length === 8 && active.every((t) => t.health !== "unknown")) break;
        if (Date.now() > deadline) throw new Error(`Prometheus has not scraped every target within 60 s: ${JSON.stringify(active)}`);
        await sleep(250);
    }

    // Real traffic, so the series exist: predictions (single, batch, invalid), 503s without a model, data batches.
    const timed = async (port: number, body: unknown) => {
        const t = performance.now();
        const res = await post(port, body);
        predictMs.push(performance.now() - t);
        return res;
    };
    for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) expect((await timed(ports.model0!, { features: { ...LISTING, house_size: 1000 + 100 * i } })).status).toBe(200);
        expect((await timed(ports.model0!, { instances: [LISTING, LISTING, LISTING] })).status).toBe(200);
        expect((await timed(ports.model0!, { features: { ...LISTING, bed: -1 } })).status).toBe(422);
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
    await new Promise<void>((r) => (mlflowStandIn ? mlflowStandIn.close(() => r()) : r()));
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("GIVEN a real Prometheus scraping the real services through the component's relabel rules", () => {
    it("scrapes exactly the annotated running pods, on their annotated port, with namespace/pod/app labels", async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as any;
        const active = body.data.activeTargets.map((t: any) => ({ ...t.labels, health: t.health, url: t.scrapeUrl }));
        const byPod = Object.fromEntries(active.map((t: any) => [t.pod, t]));
        expect(Object.keys(byPod).sort()).toEqual(["data-api-0", "data-api-1", "mlflow-0", "model-api-0", "model-api-1", "model-api-2", "statsd-exporter-0", "statsd-exporter-1"]);
        expect(byPod["model-api-0"]).toEqual({
            app: "model-api", component: "server", namespace: "mlops", pod: "model-api-0", job: SCRAPE_JOB,
            instance: `127.0.0.1:${ports.model0}`, health: "up", url: `http://127.0.0.1:${ports.model0}/metrics`,
        });
        expect(byPod["model-api-1"].url).toBe(`http://127.0.0.1:${ports.model1}/metrics`); // no path annotation: default
        expect(byPod["data-api-0"].health).toBe("up");
        expect(byPod["model-api-2"].health).toBe("down");
        // The anonymous job drops the two above and the pod that wants a login; the login's job
        // drops every pod but that one.
        expect(body.data.droppedTargets.length).toBe(3 + 9);
    });

    it("scrapes the pod whose metrics want a login in a job of its own, with the login from the password file", async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as any;
        const mlflow = body.data.activeTargets.filter((t: any) => t.labels.pod === "mlflow-0");
        expect(mlflow.map((t: any) => ({ ...t.labels, health: t.health }))).toEqual([
            { app: "mlflow", component: "server", namespace: "mlops", pod: "mlflow-0", job: `${SCRAPE_JOB}-mlflow`, instance: `127.0.0.1:${ports.mlflow}`, health: "up" },
        ]);
        expect(mlflowScrapes.length).toBeGreaterThan(0);
        expect(mlflowScrapes.every((a) => a === `Basic ${Buffer.from(`prometheus:${MLFLOW_SCRAPE_PASSWORD}`).toString("base64")}`)).toBe(true);
        const up = await query('up{app="mlflow"}');
        expect(up.data!.result.map((s) => [s.metric.job, s.value[1]])).toEqual([[`${SCRAPE_JOB}-mlflow`, "1"]]);
    });

    it("receives Airflow's own DAG run metrics and the train DAG's gauge through the statsd exporter, mapped to labelled series in seconds", async () => {
        expect(emitted.backends).toEqual({ scheduler: "SafeStatsdLogger", task: "SafeStatsdLogger" });
        const runs = await query("airflow_dagrun_duration_seconds_sum");
        const got = runs.data!.result.map((s) => [s.metric.dag_id, s.metric.state, s.metric.run_type, s.metric.pod, Number(s.value[1])]).sort();
        expect(got).toEqual([
            ["ingest", "success", "scheduled", "statsd-exporter-0", 4],
            ["train", "failed", "asset_triggered", "statsd-exporter-0", 12],
            ["train", "success", "asset_triggered", "statsd-exporter-0", 95],
        ]);
        expect(emitted.dag_runs.map(([dag, state, seconds]) => [dag, state, seconds]).sort()).toEqual(got.map((g) => [g[0], g[1], g[4]]));
        const gauge = await query("mlops_training_last_success_timestamp_seconds");
        expect(gauge.data!.result.map((s) => s.metric.dag_id)).toEqual(["train"]);
        expect(Math.abs(Date.now() / 1000 - Number(gauge.data!.result[0]!.value[1]))).toBeLessThan(300);
        // run_id and job_id stay out of the labels, or every run would be a new series.
        const labels = new Set((await query("{__name__=~\"airflow_.+\"}")).data!.result.flatMap((s) => Object.keys(s.metric)));
        expect([...labels].filter((l) => l === "run_id" || l === "job_id")).toEqual([]);
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
            const got = res.data!.result.map((s) => seriesKey(s.metric)).sort();
            const slowest = Math.max(...predictMs).toFixed(0);
            expect(got, `${rule.alert}: slowest measured /predict to model-api-0 took ${slowest} ms`).toEqual(EXPECTED[rule.alert]);
        });
    }

    it("has every alert that should be pending or firing (and no other) in Prometheus's own alert list", async () => {
        const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as any;
        const got = body.data.alerts.map((a: any) => `${a.labels.alertname}/${seriesKey(a.labels)}`).sort();
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
