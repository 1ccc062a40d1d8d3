import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { freePort } from "../../../tests/support/postgres-server";
import { json, metricValue, post, provided, readParity, SEED_PAYLOADS, startApp, waitFor } from "./support/helpers";
import { MlflowServer } from "./support/mlflow-server";

/**
 * The registry path against a real MLflow server: the API starts while MLflow is down, loads
 * the alias's version once MLflow is up, swaps versions under concurrent load without a failed
 * request, keeps the old model when a new one fails to load, and keeps serving with MLflow gone.
 * The steps run in order and build on each other.
 */
describe.sequential("model-api with a real MLflow registry", () => {
    const fixtures = provided("fixtures");
    const venvs = provided("venvs");
    const parityV1 = readParity(fixtures.v1);
    const parityV2 = readParity(fixtures.v2);
    let mlflow: MlflowServer;
    let app: FastifyInstance;
    let url: string;
    let brokenDir: string;
    let cacheDir: string;

    beforeAll(async () => {
        mlflow = new MlflowServer(venvs.mlflow, await freePort());
        brokenDir = fs.mkdtempSync(path.join(os.tmpdir(), "mapi-broken-"));
        cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "mapi-cache-"));
        fs.writeFileSync(path.join(brokenDir, "model.onnx"), "this is not an ONNX model");
        fs.copyFileSync(path.join(fixtures.v1, "feature_spec.json"), path.join(brokenDir, "feature_spec.json"));
        ({ app, url } = await startApp({
            MLFLOW_TRACKING_URI: mlflow.url,
            MODEL_POLL_INTERVAL_SECONDS: "0.3",
            MODEL_RETRY_INITIAL_MS: "200",
            MODEL_RETRY_MAX_MS: "1000",
            MLFLOW_TIMEOUT_MS: "3000",
            MODEL_CACHE_DIR: cacheDir,
        }, "mlflow"));
    });
    afterAll(async () => {
        await app?.close();
        await mlflow?.cleanup();
        fs.rmSync(brokenDir, { recursive: true, force: true });
        fs.rmSync(cacheDir, { recursive: true, force: true });
    });

    it("with MLflow unreachable at start: /health 200, /ready 503, retries counted as load failures", async () => {
        await waitFor("two failed attempts", async () => (await metricValue(url, "model_api_model_load_failures_total", { source: "mlflow" })) >= 2, 10_000);
        expect((await fetch(`${url}/health`)).status).toBe(200);
        const ready = await fetch(`${url}/ready`);
        expect(ready.status).toBe(503);
        expect((await json(ready)).reason).toMatch(/MLflow unreachable/);
        expect((await post(`${url}/predict`, SEED_PAYLOADS[0])).status).toBe(503);
    });

    it("once MLflow is up with alias production -> v1, serves v1 (sklearn parity)", async () => {
        const t = Date.now();
        await mlflow.start();
        const out = execFileSync(path.join(venvs.mlflow, "bin/python"), [
            path.join(__dirname, "fixtures/register_version.py"), "--tracking-uri", mlflow.url,
            // v1 as run artifacts, v2 as an MLflow 3 LoggedModel (the training DAG's way), v3 broken,
            // v4 a model whose tensors point outside the file (one at /etc/hostname); v5 and v6 are
            // v1's files registered without a checksum tag, and with another file's.
            "--model-dir", fixtures.v1, "--logged-model", fixtures.v2, "--model-dir", brokenDir,
            "--model-dir", path.join(provided("untrusted"), "external"),
            "--untagged-model", fixtures.v1, "--mistagged-model", fixtures.v1,
        ], { encoding: "utf8", cwd: mlflow.dir });
        const versions = out.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { version: string; source: string });
        expect(versions.map((v) => v.version)).toEqual(["1", "2", "3", "4", "5", "6"]);
        expect(versions[0]!.source).toMatch(/^mlflow-artifacts:\//);
        expect(versions[1]!.source).toMatch(/^models:\/m-/);
        await mlflow.setAlias("realtor-price", "production", "1");
        console.log(`MLflow started and 6 versions registered in ${Date.now() - t} ms`);

        const ready = await waitFor("ready on v1", async () => {
            const r = await fetch(`${url}/ready`);
            return r.status === 200 ? json(r) : undefined;
        }, 30_000);
        expect(ready.model).toEqual({ name: "realtor-price", version: "1" });
        const r = await post(`${url}/predict`, { instances: parityV1.rows.slice(0, 50) });
        expect(r.status).toBe(200);
        expect(r.body.model).toEqual({ name: "realtor-price", version: "1" });
        r.body.prices.forEach((p: number, i: number) => expect(Math.abs(p - parityV1.prices[i]!) / parityV1.prices[i]!).toBeLessThan(1e-4));
        const model = await json(await fetch(`${url}/model`));
        expect(model.source).toMatch(/^mlflow-artifacts:\/.*\/artifacts\/model$/);
        expect(await metricValue(url, "model_api_model_version", { model_name: "realtor-price" })).toBe(1);
    });

    it("moving the alias to v2 swaps under concurrent load without a failed request", async () => {
        const statuses = new Map<number, number>();
        const seen: string[][] = [];
        let stop = false;
        let swappedAt = 0;
        const worker = async (k: number) => {
            const versions: string[] = [];
            seen.push(versions);
            let i = 0;
            while (!stop) {
                const batch = (i++ + k) % 3 === 0;
                const row = parityV1.rows[(i * 7 + k) % 200]!;
                const r = await post(`${url}/predict`, batch ? { instances: parityV1.rows.slice(0, 100) } : { features: row }).catch(() => ({ status: 0, body: null }));
                statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
                if (r.status === 200) versions.push(r.body.model.version);
            }
        };
        const workers = Array.from({ length: 8 }, (_, k) => worker(k));
        await new Promise((r) => setTimeout(r, 700));
        await mlflow.setAlias("realtor-price", "production", "2");
        await waitFor("v2 served", async () => seen.some((v) => v[v.length - 1] === "2"), 20_000, 20);
        swappedAt = seen.reduce((n, v) => n + v.length, 0);
        await new Promise((r) => setTimeout(r, 700));
        stop = true;
        await Promise.all(workers);

        const total = [...statuses.values()].reduce((a, b) => a + b, 0);
        console.log(`swap under load: ${total} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, swapped after ${swappedAt}`);
        expect(Object.fromEntries(statuses)).toEqual({ 200: total });
        expect(total).toBeGreaterThan(50);
        for (const versions of seen) {
            // Each client sees v1 then v2, never back: the swap is atomic.
            const firstV2 = versions.indexOf("2");
            expect(firstV2).toBeGreaterThanOrEqual(0);
            expect(versions.slice(firstV2).every((v) => v === "2")).toBe(true);
            expect(versions.slice(0, firstV2).every((v) => v === "1")).toBe(true);
        }
        const r = await post(`${url}/predict`, { instances: parityV2.rows });
        expect(r.body.model.version).toBe("2");
        r.body.prices.forEach((p: number, i: number) => expect(Math.abs(p - parityV2.prices[i]!) / parityV2.prices[i]!).toBeLessThan(1e-4));
    });

    it("a version that fails to load keeps the old model; the hook reports it (502) and the metric counts it", async () => {
        const failuresBefore = await metricValue(url, "model_api_model_load_failures_total", { source: "mlflow" });
        await mlflow.setAlias("realtor-price", "production", "3");
        const hook = await fetch(`${url}/hooks/model_update`, { method: "POST" });
        expect(hook.status).toBe(502);
        const body = await json(hook);
        expect(body.code).toBe("MODEL_UPDATE_FAILED");
        expect(body.version).toBe("3");
        expect(body.serving).toBe("2");
        expect(await metricValue(url, "model_api_model_load_failures_total", { source: "mlflow" })).toBeGreaterThan(failuresBefore);
        const r = await post(`${url}/predict`, SEED_PAYLOADS[0]);
        expect(r.status).toBe(200);
        expect(r.body.model.version).toBe("2");
        expect((await json(await fetch(`${url}/ready`))).model.version).toBe("2");
    });

    it("a version whose model references external data is refused before ONNX Runtime sees it; v2 keeps serving", async () => {
        await mlflow.setAlias("realtor-price", "production", "4");
        const hook = await fetch(`${url}/hooks/model_update`, { method: "POST" });
        expect(hook.status).toBe(502);
        const body = await json(hook);
        expect(body).toMatchObject({ code: "MODEL_UPDATE_FAILED", version: "4", serving: "2" });
        expect(body.message).toContain("reference data outside the model file");
        expect(body.message).toContain("tensor 'leak' -> '/etc/hostname'");
        const r = await post(`${url}/predict`, SEED_PAYLOADS[0]);
        expect(r.status).toBe(200);
        expect(r.body.model.version).toBe("2");
    });

    it("a version without its registered sha256, or whose bytes do not match it, is refused before a session; v2 keeps serving", async () => {
        for (const [version, message] of [
            ["5", "version 5 has no 'model_sha256' tag (registered without a checksum); refused"],
            ["6", "version 6: model.onnx does not match its 'model_sha256' tag"],
        ] as const) {
            await mlflow.setAlias("realtor-price", "production", version);
            const hook = await fetch(`${url}/hooks/model_update`, { method: "POST" });
            expect(hook.status).toBe(502);
            const body = await json(hook);
            expect(body).toMatchObject({ code: "MODEL_UPDATE_FAILED", version, serving: "2" });
            expect(body.message).toContain(message);
            expect((await post(`${url}/predict`, SEED_PAYLOADS[0])).body.model.version).toBe("2");
        }
    });

    it("a download above MODEL_MAX_BYTES is refused (a second API with a 4 KiB limit never loads v1)", async () => {
        await mlflow.setAlias("realtor-price", "production", "1");
        const small = await startApp({ MLFLOW_TRACKING_URI: mlflow.url, MODEL_MAX_BYTES: "4096", MODEL_POLL_INTERVAL_SECONDS: "0.3", MODEL_RETRY_INITIAL_MS: "200" }, "mlflow-size");
        try {
            await waitFor("refused download", async () => (await metricValue(small.url, "model_api_model_load_failures_total", { source: "mlflow" })) >= 1, 20_000);
            const ready = await fetch(`${small.url}/ready`);
            expect(ready.status).toBe(503);
            expect((await json(ready)).reason).toMatch(/MLflow: model\.onnx is larger than the 4096-byte limit \(MODEL_MAX_BYTES\): (Content-Length \d+|more than 4096 bytes streamed); refused/);
        } finally {
            await small.app.close();
        }
    });

    it("the hook answers after a load that outlasts REQUEST_TIMEOUT_MS (the socket's idle limit does not cut a download short)", async () => {
        await mlflow.setAlias("realtor-price", "production", "1");
        // 50 ms of idle socket: resolving the alias and downloading v1 from MLflow takes longer.
        const slow = await startApp({ MLFLOW_TRACKING_URI: mlflow.url, REQUEST_TIMEOUT_MS: "50", MODEL_POLL_INTERVAL_SECONDS: "3600" }, "mlflow-slow-hook");
        try {
            await mlflow.setAlias("realtor-price", "production", "2");
            const hook = await fetch(`${slow.url}/hooks/model_update`, { method: "POST" });
            expect(hook.status).toBe(200);
            expect(await json(hook)).toMatchObject({ version: "2" });
        } finally {
            await slow.app.close();
        }
    });

    it("POST /hooks/model_update swaps at once when the alias moves", async () => {
        await mlflow.setAlias("realtor-price", "production", "1");
        const toV1 = await fetch(`${url}/hooks/model_update`, { method: "POST" });
        expect(toV1.status).toBe(200);
        const b1 = await json(toV1);
        // The poller may have got there first; either way v1 is served when the hook answers.
        expect(b1.version).toBe("1");
        expect(["loaded", "unchanged"]).toContain(b1.status);
        expect((await post(`${url}/predict`, SEED_PAYLOADS[0])).body.model.version).toBe("1");
        await mlflow.setAlias("realtor-price", "production", "2");
        const toV2 = await json(await fetch(`${url}/hooks/model_update`, { method: "POST" }));
        expect(toV2.version).toBe("2");
        expect((await post(`${url}/predict`, SEED_PAYLOADS[1])).body.model.version).toBe("2");
        // The training DAG posts what it promoted as JSON; the body is informational.
        const again = await json(await fetch(`${url}/hooks/model_update`, {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model_name: "realtor-price", version: "2" }),
        }));
        expect(again).toEqual({ status: "unchanged", version: "2" });
    });

    it("with MLflow stopped, keeps serving v2 and stays ready", async () => {
        await mlflow.stop();
        const failuresBefore = await metricValue(url, "model_api_model_load_failures_total", { source: "mlflow" });
        const end = Date.now() + 2_000;
        let n = 0;
        while (Date.now() < end) {
            const r = await post(`${url}/predict`, SEED_PAYLOADS[n++ % 2]);
            expect(r.status).toBe(200);
            expect(r.body.model.version).toBe("2");
        }
        expect(n).toBeGreaterThan(20);
        expect((await fetch(`${url}/ready`)).status).toBe(200);
        // The poller noticed MLflow is gone (and said so in the metric) without dropping the model.
        expect(await metricValue(url, "model_api_model_load_failures_total", { source: "mlflow" })).toBeGreaterThan(failuresBefore);
        const hook = await fetch(`${url}/hooks/model_update`, { method: "POST" });
        expect(hook.status).toBe(502);
        expect((await json(hook)).serving).toBe("2");
    });

    it("kept the last good model (v2) in MODEL_CACHE_DIR; a restarted API serves it while MLflow is still down", async () => {
        expect(JSON.parse(fs.readFileSync(path.join(cacheDir, "meta.json"), "utf8"))).toMatchObject({ name: "realtor-price", version: "2" });
        const restarted = await startApp({ MLFLOW_TRACKING_URI: mlflow.url, MODEL_CACHE_DIR: cacheDir, MODEL_RETRY_INITIAL_MS: "200", MLFLOW_TIMEOUT_MS: "1000" }, "mlflow-restarted");
        try {
            const ready = await waitFor("ready from the cache", async () => {
                const r = await fetch(`${restarted.url}/ready`);
                return r.status === 200 ? json(r) : undefined;
            }, 20_000);
            expect(ready.model).toEqual({ name: "realtor-price", version: "2" });
            expect((await json(await fetch(`${restarted.url}/model`))).source).toBe(`cache:${cacheDir}`);
            const r = await post(`${restarted.url}/predict`, { instances: parityV2.rows });
            expect(r.status).toBe(200);
            r.body.prices.forEach((p: number, i: number) => expect(Math.abs(p - parityV2.prices[i]!) / parityV2.prices[i]!).toBeLessThan(1e-4));
            expect(await metricValue(restarted.url, "model_api_model_loads_total", { source: "cache" })).toBe(1);
        } finally {
            await restarted.app.close();
        }
    });

    it("does not serve a cached model whose bytes no longer match their recorded sha256", async () => {
        const tampered = fs.mkdtempSync(path.join(os.tmpdir(), "mapi-cache-tampered-"));
        try {
            for (const f of ["model.onnx", "feature_spec.json", "meta.json"]) fs.copyFileSync(path.join(cacheDir, f), path.join(tampered, f));
            const onnx = fs.readFileSync(path.join(tampered, "model.onnx"));
            onnx.writeUInt8(onnx.readUInt8(onnx.length - 1) ^ 0xff, onnx.length - 1);
            fs.writeFileSync(path.join(tampered, "model.onnx"), onnx);
            const other = await startApp({ MLFLOW_TRACKING_URI: mlflow.url, MODEL_CACHE_DIR: tampered, MODEL_RETRY_INITIAL_MS: "200", MLFLOW_TIMEOUT_MS: "1000" }, "mlflow-tampered");
            try {
                await waitFor("two failed attempts", async () => (await metricValue(other.url, "model_api_model_load_failures_total", { source: "mlflow" })) >= 2, 20_000);
                expect((await fetch(`${other.url}/ready`)).status).toBe(503);
                await expect(metricValue(other.url, "model_api_model_loads_total", { source: "cache" })).rejects.toThrow("not found");
            } finally {
                await other.app.close();
            }
        } finally {
            fs.rmSync(tampered, { recursive: true, force: true });
        }
    });
});
