import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { json, metricValue, post, provided, readParity, SEED_PAYLOADS, startApp, waitFor } from "./support/helpers";

const TODAY = () => "2026-11-27";

describe("model-api serving a local ONNX model (MODEL_PATH)", () => {
    let app: FastifyInstance;
    let url: string;
    const fixtures = provided("fixtures");

    beforeAll(async () => {
        ({ app, url } = await startApp({ MODEL_PATH: fixtures.v1, MAX_BATCH_SIZE: "250", BODY_LIMIT_BYTES: "200000" }, "app-local", { today: TODAY }));
        await waitFor("model loaded", async () => (await fetch(`${url}/ready`)).status === 200);
    });
    afterAll(async () => app?.close());

    it("answers the old server's two example payloads with a price and the model", async () => {
        for (const payload of SEED_PAYLOADS) {
            const r = await post(`${url}/predict`, payload);
            expect(r.status).toBe(200);
            expect(Object.keys(r.body).sort()).toEqual(["model", "price"]);
            expect(r.body.model).toEqual({ name: "realtor-price", version: "local" });
            expect(r.body.price).toBeGreaterThan(50_000);
            expect(r.body.price).toBeLessThan(5_000_000);
        }
    });

    it("equals scikit-learn's predictions within 1e-4 relative error (batch and single)", async () => {
        const parity = readParity(fixtures.v1);
        expect(parity.rows.length).toBe(200);
        const batch = await post(`${url}/predict`, { instances: parity.rows });
        expect(batch.status).toBe(200);
        expect(batch.body.prices).toHaveLength(200);
        const worst = Math.max(...batch.body.prices.map((p: number, i: number) => Math.abs(p - parity.prices[i]!) / parity.prices[i]!));
        expect(worst).toBeLessThan(1e-4);
        for (let i = 0; i < 20; i++) {
            const single = await post(`${url}/predict`, { features: parity.rows[i] });
            expect(single.status).toBe(200);
            expect(Math.abs(single.body.price - parity.prices[i]!) / parity.prices[i]!).toBeLessThan(1e-4);
        }
    });

    it("normalises strings the way cleaning does: spelling variants give the same price", async () => {
        const base = await post(`${url}/predict`, SEED_PAYLOADS[0]);
        const variant = await post(`${url}/predict`, {
            features: { ...SEED_PAYLOADS[0]!.features, status: "For-Sale", state: "  ILLINOIS ", city: "Springfield", zip_code: 62704 },
        });
        expect(variant.status).toBe(200);
        expect(variant.body.price).toBe(base.body.price);
    });

    it.each([
        ["wrong type", { bed: "three" }, "features.bed", "must be a number (got \"three\")"],
        ["missing required field", { state: undefined }, "features.state", "is required"],
        ["negative size", { house_size: -10 }, "features.house_size", "must be >= 0 (got -10)"],
        ["unknown status value", { status: "pending" }, "features.status", "must be one of for_sale, sold, ready_to_build (got \"pending\")"],
        ["bad date", { prev_sold_date: "2022-02-30" }, "features.prev_sold_date", "must be a real date YYYY-MM-DD between 1900-01-01 and 2026-11-27 (got \"2022-02-30\")"],
        ["future date", { prev_sold_date: "2030-01-01" }, "features.prev_sold_date", "must be a real date YYYY-MM-DD between 1900-01-01 and 2026-11-27 (got \"2030-01-01\")"],
        ["bad zip", { zip_code: "1234567" }, "features.zip_code", "must be a 5-digit ZIP code (got \"1234567\")"],
    ])("422 for %s, naming the field", async (_what, change, field, message) => {
        const r = await post(`${url}/predict`, { features: { ...SEED_PAYLOADS[0]!.features, ...change } });
        expect(r.status).toBe(422);
        expect(r.body.code).toBe("INVALID_INPUT");
        expect(r.body.errors).toEqual([{ field, message }]);
        expect(r.body.message).toContain(field);
    });

    it("422 names every bad field of every bad row in a batch", async () => {
        const good = SEED_PAYLOADS[0]!.features;
        const r = await post(`${url}/predict`, { instances: [good, { ...good, bed: -1 }, { ...good, status: "x", bath: "y" }] });
        expect(r.status).toBe(422);
        expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(["instances[1].bed", "instances[2].status", "instances[2].bath"]);
    });

    it("422 naming the limit for a batch above MAX_BATCH_SIZE", async () => {
        const r = await post(`${url}/predict`, { instances: Array.from({ length: 251 }, () => ({ status: "sold", state: "ohio" })) });
        expect(r.status).toBe(422);
        expect(r.body.code).toBe("BATCH_TOO_LARGE");
        expect(r.body.message).toBe("instances: at most 250 listings per request (got 251)");
    });

    it("413 for a body above BODY_LIMIT_BYTES", async () => {
        const r = await post(`${url}/predict`, { features: { ...SEED_PAYLOADS[0]!.features, street: "x".repeat(250_000) } });
        expect(r.status).toBe(413);
        expect(r.body).toEqual({ code: "BODY_TOO_LARGE", message: "request body is larger than 200000 bytes" });
    });

    it("422 for a body with neither or both of features/instances; 400 for broken JSON; 415 for other media types", async () => {
        expect((await post(`${url}/predict`, {})).body.errors).toEqual([{ field: "features", message: "is required: 'features' (one listing) or 'instances' (a list of listings)" }]);
        expect((await post(`${url}/predict`, { features: {}, instances: [] })).status).toBe(422);
        const broken = await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: "{\"features\": " });
        expect(broken.status).toBe(400);
        expect((await json(broken)).code).toBe("INVALID_JSON");
        const text = await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
        expect(text.status).toBe(415);
        expect((await json(text)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    });

    it("serves /health, /ready, /model, OpenAPI at /openapi.json and docs at /docs", async () => {
        expect(await json(await fetch(`${url}/health`))).toEqual({ status: "ok" });
        expect(await json(await fetch(`${url}/ready`))).toEqual({ status: "ready", model: { name: "realtor-price", version: "local" } });
        const model = await json(await fetch(`${url}/model`));
        expect(model.inputs.map((i: { name: string }) => i.name)).toEqual(["bed", "bath", "acre_lot", "house_size", "prev_sold_year", "status", "state", "city", "zip_code"]);
        expect(model.output).toEqual({ name: "variable", transform: "expm1" });
        const doc = await json(await fetch(`${url}/openapi.json`));
        expect(doc.openapi).toBe("3.0.3");
        expect(Object.keys(doc.paths).sort()).toEqual(["/health", "/hooks/model_update", "/metrics", "/model", "/openapi.json", "/predict", "/ready"]);
        const predict = doc.paths["/predict"].post;
        expect(Object.keys(predict.requestBody.content["application/json"].schema.properties)).toEqual(["features", "instances"]);
        expect(Object.keys(predict.responses).sort()).toEqual(["200", "413", "415", "422", "4XX", "503"]);
        const docs = await fetch(`${url}/docs/`);
        expect(docs.status).toBe(200);
        expect(await docs.text()).toContain("swagger-ui");
    });

    it("404 with a stable code for unknown routes", async () => {
        const r = await fetch(`${url}/nope`);
        expect(r.status).toBe(404);
        expect(await r.json()).toEqual({ code: "NOT_FOUND", message: "no route GET /nope" });
    });

    it("exposes the metrics the issue names", async () => {
        await post(`${url}/predict`, SEED_PAYLOADS[1]);
        expect(await metricValue(url, "model_api_predictions_total", { model_version: "local" })).toBeGreaterThan(200);
        expect(await metricValue(url, "model_api_http_request_duration_seconds_count", { route: "/predict", status_code: "200" })).toBeGreaterThan(20);
        expect(await metricValue(url, "model_api_http_request_duration_seconds_count", { route: "/predict", status_code: "422" })).toBeGreaterThan(5);
        expect(await metricValue(url, "model_api_inference_duration_seconds_count", { kind: "batch" })).toBeGreaterThanOrEqual(1);
        expect(await metricValue(url, "model_api_model_load_failures_total")).toBe(0);
        expect(await metricValue(url, "model_api_model_loads_total", { source: "local" })).toBe(1);
        expect(await metricValue(url, "model_api_inference_log_rows_dropped_total")).toBe(0);
    });
});

describe("model-api without a model", () => {
    it("is alive but not ready, answers 503 NO_MODEL, and counts the failed load", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mapi-broken-"));
        fs.writeFileSync(path.join(dir, "model.onnx"), "not an onnx model");
        fs.copyFileSync(path.join(provided("fixtures").v1, "feature_spec.json"), path.join(dir, "feature_spec.json"));
        const { app, url } = await startApp({ MODEL_PATH: dir }, "app-broken");
        try {
            await waitFor("load failure", async () => (await metricValue(url, "model_api_model_load_failures_total", { source: "local" })) === 1);
            expect((await fetch(`${url}/health`)).status).toBe(200);
            const ready = await fetch(`${url}/ready`);
            expect(ready.status).toBe(503);
            expect((await json(ready)).status).toBe("not_ready");
            const r = await post(`${url}/predict`, SEED_PAYLOADS[0]);
            expect(r.status).toBe(503);
            expect(r.body.code).toBe("NO_MODEL");
            expect((await fetch(`${url}/model`)).status).toBe(503);
        } finally {
            await app.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the model update hook with HOOK_TOKEN", () => {
    it("answers 401 UNAUTHORIZED without the token or with a wrong one, and acts with the right one", async () => {
        const token = "0123456789abcdef0123456789abcdef";
        const { app, url } = await startApp({ MODEL_PATH: provided("fixtures").v1, HOOK_TOKEN: token }, "app-hook-token");
        try {
            await waitFor("ready", async () => (await fetch(`${url}/ready`)).status === 200);
            const hook = (authorization?: string) =>
                fetch(`${url}/hooks/model_update`, { method: "POST", headers: authorization ? { authorization } : {} });
            for (const bad of [undefined, "Bearer", `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Basic ${token}`, token]) {
                const r = await hook(bad);
                expect(r.status, String(bad)).toBe(401);
                expect((await json(r)).code).toBe("UNAUTHORIZED");
            }
            const ok = await hook(`Bearer ${token}`);
            expect(ok.status).toBe(200);
            expect((await json(ok)).version).toBe("local");
        } finally {
            await app.close();
        }
    });

    it("compares in constant time over hashes, so any length is handled", async () => {
        const { bearerMatches } = await import("../src/app.js");
        expect(bearerMatches("Bearer s3cret", "s3cret")).toBe(true);
        expect(bearerMatches("Bearer s3cre", "s3cret")).toBe(false);
        expect(bearerMatches("Bearer s3cret" + "x".repeat(10_000), "s3cret")).toBe(false);
        expect(bearerMatches(undefined, "s3cret")).toBe(false);
    });
});
