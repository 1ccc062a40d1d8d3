import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { Client } from "pg";
import { startPostgres, type PostgresServer } from "../../../tests/support/postgres-server";
import { grantRuntimeRole } from "../src/migrate";
import { sha256 } from "../src/model-cache";
import { createOwnedDatabase, createServiceRole, migrateOn, queryOn, startMlopsDatabase, type MlopsDatabase } from "./support/mlops-db";
import { metricValue, post, provided, SEED_PAYLOADS, startApp, waitFor } from "./support/helpers";

/** The inference log against a real Postgres: rows land in mlops.serving.inference_log; with the database gone, serving goes on and drops are counted. */
describe.sequential("inference log in Postgres", () => {
    let pg: PostgresServer;
    let app: FastifyInstance;
    let url: string;
    let dsn: string;

    let query: MlopsDatabase["query"];
    let migrate: MlopsDatabase["migrate"];

    beforeAll(async () => {
        ({ pg, dsn, query, migrate } = await startMlopsDatabase());
        ({ app, url } = await startApp({ MODEL_PATH: provided("fixtures").v1, DATABASE_URL: dsn, INFERENCE_LOG_FLUSH_MS: "100" }, "inference-log"));
        await waitFor("model loaded", async () => (await fetch(`${url}/ready`)).status === 200);
    });
    afterAll(async () => {
        await app?.close();
        try {
            pg?.stop();
        } catch {
            // already stopped by the last test
        }
    });

    it("writes every prediction (input, output, model version, latency), creating the table", async () => {
        const prices: number[] = [];
        for (const p of SEED_PAYLOADS) prices.push((await post(`${url}/predict`, p)).body.price);
        const batch = await post(`${url}/predict`, { instances: Array.from({ length: 10 }, (_, i) => ({ ...SEED_PAYLOADS[0]!.features, bed: i })) });
        expect(batch.status).toBe(200);
        const rows = await waitFor("12 rows", async () => {
            const r = await query("SELECT * FROM serving.inference_log ORDER BY id");
            return r.length >= 12 ? r : undefined;
        }, 15_000);
        expect(rows).toHaveLength(12);
        expect(rows[0].model_name).toBe("realtor-price");
        expect(rows[0].model_version).toBe("local");
        // The bytes that answered: the fixture file MODEL_PATH names, hashed.
        expect(new Set(rows.map((r: { model_sha256: string }) => r.model_sha256))).toEqual(new Set([sha256(fs.readFileSync(path.join(provided("fixtures").v1, "model.onnx")))]));
        expect(rows[0].input).toMatchObject({ status: "for_sale", state: "illinois", zip_code: "62704", bed: 3, prev_sold_date: "2022-03-15" });
        expect(rows[0].price).toBeCloseTo(prices[0]!, 6);
        expect(rows[1].price).toBeCloseTo(prices[1]!, 6);
        expect(rows[0].latency_ms).toBeGreaterThan(0);
        expect(rows.slice(2).map((r: { input: { bed: number } }) => r.input.bed)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(new Set(rows.slice(2).map((r: { request_id: string }) => r.request_id)).size).toBe(1);
        expect(await metricValue(url, "model_api_inference_log_rows_written_total")).toBe(12);
    });

    it("the first write migrated the table to the latest version; migrating again applies nothing and keeps the rows", async () => {
        expect((await query("SELECT name FROM serving.model_api_migrations ORDER BY id")).map((r) => r.name)).toEqual(["0001_inference-log", "0002_model-sha256"]);
        expect(await migrate()).toEqual([]);
        expect((await query("SELECT count(*)::int AS n FROM serving.inference_log"))[0].n).toBe(12);
    });

    it("with Postgres stopped, predictions continue and the drop metric rises", async () => {
        pg.stop();
        const t = Date.now();
        for (let i = 0; i < 40; i++) {
            const r = await post(`${url}/predict`, SEED_PAYLOADS[i % 2]);
            expect(r.status).toBe(200);
        }
        // Serving did not wait for the database (its connect timeout is 2 s per attempt).
        expect(Date.now() - t).toBeLessThan(2_000);
        await waitFor("dropped rows counted", async () => (await metricValue(url, "model_api_inference_log_rows_dropped_total", { reason: "write_failed" })) >= 40, 15_000);
        expect(await metricValue(url, "model_api_inference_log_rows_written_total")).toBe(12);
        expect((await fetch(`${url}/ready`)).status).toBe(200);
    });
});

/**
 * As the platform runs it: database `mlops` owned by `mlops`, which migrated and granted before
 * the server started (the migrate init container), and the server logged in as `model_api`,
 * which may only INSERT, with INFERENCE_LOG_MIGRATE=false.
 */
describe.sequential("inference log as the model_api role, migrated by the owner beforehand", () => {
    let pg: PostgresServer;
    let app: FastifyInstance;
    let url: string;
    let owner: string;
    let runtime: string;
    const asOwner = async (fn: (c: Client) => Promise<unknown>) => {
        const c = new Client({ connectionString: owner });
        await c.connect();
        try {
            await fn(c);
        } finally {
            await c.end();
        }
    };
    const count = async () => (await queryOn(owner, "SELECT count(*)::int AS n FROM serving.inference_log"))[0].n as number;

    beforeAll(async () => {
        pg = await startPostgres();
        owner = createOwnedDatabase(pg, "mlops");
        runtime = createServiceRole(pg, "model_api", "mlops");
        await migrateOn(owner);
        await asOwner((c) => grantRuntimeRole(c, "model_api"));
        ({ app, url } = await startApp({ MODEL_PATH: provided("fixtures").v1, DATABASE_URL: runtime, INFERENCE_LOG_MIGRATE: "false", INFERENCE_LOG_FLUSH_MS: "100" }, "inference-log-role"));
        await waitFor("model loaded", async () => (await fetch(`${url}/ready`)).status === 200);
    });
    afterAll(async () => {
        await app?.close();
        pg?.stop();
    });

    it("writes every prediction, which the role cannot read back", async () => {
        for (const p of SEED_PAYLOADS) expect((await post(`${url}/predict`, p)).status).toBe(200);
        await waitFor("2 rows", async () => (await count()) === 2, 15_000);
        expect(await metricValue(url, "model_api_inference_log_rows_written_total")).toBe(2);
        await expect(queryOn(runtime, "SELECT * FROM serving.inference_log")).rejects.toThrow("permission denied for table inference_log");
    });

    it("after failed writes it writes again as soon as it may, never trying to migrate (which this role could not)", async () => {
        await asOwner((c) => c.query("REVOKE INSERT ON serving.inference_log FROM model_api"));
        for (const p of SEED_PAYLOADS) expect((await post(`${url}/predict`, p)).status).toBe(200);
        await waitFor("the write refused", async () => (await metricValue(url, "model_api_inference_log_rows_dropped_total", { reason: "write_failed" })) >= 2, 15_000);
        // What the next start's migrate step does: the exact grants again.
        await asOwner((c) => grantRuntimeRole(c, "model_api"));
        for (const p of SEED_PAYLOADS) expect((await post(`${url}/predict`, p)).status).toBe(200);
        await waitFor("4 rows", async () => (await count()) === 4, 15_000);
        expect(await metricValue(url, "model_api_inference_log_rows_written_total")).toBe(4);
        // Nothing was migrated by the server: the owner's two migrations are all there is.
        expect((await queryOn(owner, "SELECT name FROM serving.model_api_migrations ORDER BY id")).map((r) => r.name)).toEqual(["0001_inference-log", "0002_model-sha256"]);
    });
});
