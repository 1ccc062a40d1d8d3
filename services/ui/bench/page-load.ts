/**
 * Benchmark: time from navigation (fresh browser context, so nothing cached) until the Predict
 * form's submit button is visible, for this UI and for the baseline, the same form as a
 * Streamlit app (the old stack's UI), in one run, same Chromium, same model API stand-in.
 * Prints per-page percentiles side by side. Run: bash services/ui/bench/run.sh (vitest is only
 * the TypeScript runner here; the benchmark asserts nothing about speed).
 */
import * as path from "node:path";
import { chromium } from "playwright-core";
import { expect, it } from "vitest";
import { startStandInModelApi } from "../test/support/model-api-standin.js";
import { freePort, repoRoot, startProcess, startUi } from "../test/support/processes.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

it("page load: ui vs Streamlit baseline", async () => {
const streamlitVenv = process.env.STREAMLIT_VENV;
if (!streamlitVenv) throw new Error("STREAMLIT_VENV is not set: run bench/run.sh");
const modelApi = await startStandInModelApi({ version: "1" });
const ui = await startUi({ MODEL_API_URL: modelApi.url, MLFLOW_URL: "http://127.0.0.1:9", DATA_API_URL: "http://127.0.0.1:9" });
const port = await freePort();
const streamlit = await startProcess(
    "streamlit",
    path.join(streamlitVenv, "bin", "streamlit"),
    ["run", path.join(repoRoot, "services/ui/bench/streamlit_app.py"), "--server.headless", "true", "--server.address", "127.0.0.1",
     "--server.port", String(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
    { MODEL_API_URL: modelApi.url },
    port,
    "/_stcore/health",
    120_000,
);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });

async function measure(url: string, ready: (page: import("playwright-core").Page) => Promise<unknown>): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
        const context = await browser.newContext();
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(url);
        await ready(page);
        const ms = performance.now() - t0;
        if (i > 0) times.push(ms); // the first run warms the servers (Streamlit compiles the script)
        await context.close();
    }
    return times;
}

try {
    const results = {
        "ui (Preact + Fastify)": await measure(`${ui.url}/#/predict`, (p) => p.getByRole("button", { name: "Predict price" }).waitFor()),
        "baseline (Streamlit 1.67)": await measure(`${streamlit.url}/`, (p) => p.getByRole("button", { name: "Predict price" }).waitFor({ timeout: 30_000 })),
    };
    console.log(`\nPredict page: navigation -> form ready, fresh browser context, ${RUNS} runs each (ms)`);
    console.log(`${"".padEnd(28)}${"p50".padStart(8)}${"p95".padStart(8)}${"max".padStart(8)}`);
    for (const [name, xs] of Object.entries(results)) {
        console.log(`${name.padEnd(28)}${pct(xs, 50).toFixed(0).padStart(8)}${pct(xs, 95).toFixed(0).padStart(8)}${Math.max(...xs).toFixed(0).padStart(8)}`);
    }
    const [ours, base] = Object.values(results);
    console.log(`speed-up at p50: ${(pct(base!, 50) / pct(ours!, 50)).toFixed(1)}x`);
    expect(ours!.length).toBe(RUNS);
} finally {
    await browser.close();
    await Promise.allSettled([ui.stop(), streamlit.stop(), modelApi.close()]);
}
}, 600_000);
