import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateListings } from "../src/generator.js";
import { LISTING_FIELDS } from "../src/listing.js";
import { startDataApi, tempDir, type Running } from "./helpers.js";

const running: Running[] = [];
async function start(env: Record<string, string>): Promise<Running> {
    const r = await startDataApi(env);
    running.push(r);
    return r;
}
afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("GET /data: the course service's contract", () => {
    it("returns group_number, day, batch_number and a batch of listings with exactly the schema's fields", async () => {
        const api = await start({ DATA_API_BATCHES: "4", DATA_API_BATCH_SIZE: "25", DATA_API_INTERVAL_SECONDS: "300" });
        const { status, body } = await api.get("/data?group_number=3&day=Tuesday");
        expect(status).toBe(200);
        expect(Object.keys(body).sort()).toEqual(["batch_number", "data", "day", "group_number"]);
        expect(body).toMatchObject({ group_number: 3, day: "Tuesday", batch_number: 1 });
        expect(body.data).toHaveLength(25);
        for (const row of body.data) expect(Object.keys(row).sort()).toEqual([...LISTING_FIELDS].sort());
    });

    it("serves the same batch again within the interval and the next one once it has passed", async () => {
        const api = await start({ DATA_API_BATCHES: "5", DATA_API_BATCH_SIZE: "10", DATA_API_INTERVAL_SECONDS: "1" });
        const first = await api.get("/data?group_number=1&day=Tuesday");
        const again = await api.get("/data?group_number=1&day=Tuesday");
        expect(again.body.batch_number).toBe(1);
        expect(again.body.data).toEqual(first.body.data);
        await sleep(1100);
        const next = await api.get("/data?group_number=1&day=Tuesday");
        expect(next.body.batch_number).toBe(2);
        expect(next.body.data).not.toEqual(first.body.data);
        const sameAgain = await api.get("/data?group_number=1&day=Tuesday");
        expect(sameAgain.body.batch_number).toBe(2);
    });

    it("answers 400 with a detail once every batch has been served, and keeps answering 400", async () => {
        const api = await start({ DATA_API_BATCHES: "3", DATA_API_BATCH_SIZE: "5", DATA_API_INTERVAL_SECONDS: "0" });
        const numbers = [];
        for (let i = 0; i < 3; i++) numbers.push((await api.get("/data?group_number=2&day=Wednesday")).body.batch_number);
        expect(numbers).toEqual([1, 2, 3]);
        for (let i = 0; i < 2; i++) {
            const end = await api.get("/data?group_number=2&day=Wednesday");
            expect(end.status).toBe(400);
            expect(end.body.code).toBe("no_more_data");
            expect(end.body.detail).toMatch(/all 3 batches of group 2, day Wednesday have been served/);
        }
    });

    it("/restart_data_generation resets one group's counter to batch 1 with the same rows, and leaves other groups alone", async () => {
        const api = await start({ DATA_API_BATCHES: "3", DATA_API_BATCH_SIZE: "5", DATA_API_INTERVAL_SECONDS: "0" });
        const b1 = await api.get("/data?group_number=1&day=Tuesday");
        await api.get("/data?group_number=1&day=Tuesday");
        await api.get("/data?group_number=2&day=Tuesday");
        const reset = await api.get("/restart_data_generation?group_number=1&day=Tuesday");
        expect(reset.status).toBe(200);
        expect(reset.body).toMatchObject({ ok: true, group_number: 1, day: "Tuesday" });
        const after = await api.get("/data?group_number=1&day=Tuesday");
        expect(after.body.batch_number).toBe(1);
        expect(after.body.data).toEqual(b1.body.data);
        expect((await api.get("/data?group_number=2&day=Tuesday")).body.batch_number).toBe(2);
    });

    it("with DATA_API_RESTART_TOKEN, /restart_data_generation answers 401 unless the bearer token matches, and resets nothing", async () => {
        const token = "5ec2e7".repeat(8);
        const api = await start({ DATA_API_BATCHES: "3", DATA_API_BATCH_SIZE: "5", DATA_API_INTERVAL_SECONDS: "0", DATA_API_RESTART_TOKEN: token });
        await api.get("/data?group_number=1&day=Tuesday");
        const restart = (authorization?: string) =>
            fetch(`${api.url}/restart_data_generation?group_number=1&day=Tuesday`, { headers: authorization ? { authorization } : {} });
        for (const bad of [undefined, `Bearer ${token.slice(1)}`, `Bearer ${token}0`, `Basic ${token}`, token]) {
            const r = await restart(bad);
            expect(r.status, String(bad)).toBe(401);
            expect(await r.json()).toEqual({ code: "unauthorized", detail: "restarting data generation needs 'Authorization: Bearer <DATA_API_RESTART_TOKEN>'" });
        }
        // Still at batch 1: nothing was reset by the refused calls.
        expect((await api.get("/data?group_number=1&day=Tuesday")).body.batch_number).toBe(2);
        expect((await restart(`Bearer ${token}`)).status).toBe(200);
        expect((await api.get("/data?group_number=1&day=Tuesday")).body.batch_number).toBe(1);
    });

    it("gives each group and each day its own rows", async () => {
        const api = await start({ DATA_API_BATCHES: "2", DATA_API_BATCH_SIZE: "20", DATA_API_INTERVAL_SECONDS: "300" });
        const g1 = (await api.get("/data?group_number=1&day=Tuesday")).body.data;
        const g2 = (await api.get("/data?group_number=2&day=Tuesday")).body.data;
        const g1w = (await api.get("/data?group_number=1&day=Wednesday")).body.data;
        expect(g1).not.toEqual(g2);
        expect(g1).not.toEqual(g1w);
    });

    it.each([
        ["/data?group_number=0&day=Tuesday", 400, "unknown_group", /group_number must be between 1 and 10 \(got 0\)/],
        ["/data?group_number=11&day=Tuesday", 400, "unknown_group", /group_number must be between 1 and 10/],
        ["/data?group_number=1&day=Funday", 400, "unknown_day", /day must be one of Tuesday, Wednesday \(got 'Funday'\)/],
        ["/data?group_number=abc&day=Tuesday", 422, "invalid_query", /group_number: must be integer/],
        ["/data?group_number=1.5&day=Tuesday", 422, "invalid_query", /group_number/],
        ["/data?day=Tuesday", 422, "invalid_query", /group_number/],
        ["/data?group_number=1", 422, "invalid_query", /day/],
        ["/restart_data_generation?group_number=99&day=Tuesday", 400, "unknown_group", /group_number/],
        ["/restart_data_generation?group_number=x&day=Tuesday", 422, "invalid_query", /group_number/],
    ])("bad input %s -> %i %s, never 500", async (url, status, code, detail) => {
        const api = await start({});
        const res = await api.get(url);
        expect(res.status).toBe(status);
        expect(res.body.code).toBe(code);
        expect(res.body.detail).toMatch(detail);
    });

    it("accepts the day in any case and answers with the configured spelling", async () => {
        const api = await start({ DATA_API_BATCH_SIZE: "3" });
        const res = await api.get("/data?group_number=1&day=tuesday");
        expect(res.status).toBe(200);
        expect(res.body.day).toBe("Tuesday");
    });

    it("GET /health -> {status: OK}; unknown routes -> 404 with a code", async () => {
        const api = await start({});
        expect(await api.get("/health")).toEqual({ status: 200, body: { status: "OK" } });
        const missing = await api.get("/nope");
        expect(missing.status).toBe(404);
        expect(missing.body.code).toBe("not_found");
    });
});

describe("GET /openapi.json", () => {
    it("is generated from the route schemas: /data with its two required query parameters and its 200/400/422 answers, and 503 (state store unavailable)", async () => {
        const api = await start({});
        const { status, body } = await api.get("/openapi.json");
        expect(status).toBe(200);
        expect(Object.keys(body.paths).sort()).toEqual(["/data", "/health", "/metrics", "/restart_data_generation"]);
        const get = body.paths["/data"].get;
        expect(get.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, p.in, p.required])).toEqual([
            ["group_number", "query", true],
            ["day", "query", true],
        ]);
        expect(Object.keys(get.responses).sort()).toEqual(["200", "400", "422", "503"]);
        expect(Object.keys(get.responses["200"].content["application/json"].schema.properties.data.items.properties)).toHaveLength(12);
    });
});

describe("concurrency", () => {
    it("50 parallel calls with no interval get batch numbers 1..50, none skipped or repeated", async () => {
        const api = await start({ DATA_API_BATCHES: "60", DATA_API_BATCH_SIZE: "2", DATA_API_INTERVAL_SECONDS: "0" });
        const results = await Promise.all(Array.from({ length: 50 }, () => api.get("/data?group_number=5&day=Tuesday")));
        expect(results.every((r) => r.status === 200)).toBe(true);
        const numbers = results.map((r) => r.body.batch_number).sort((a, b) => a - b);
        expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it("50 parallel first calls within the interval all get batch 1", async () => {
        const api = await start({ DATA_API_BATCHES: "10", DATA_API_BATCH_SIZE: "2", DATA_API_INTERVAL_SECONDS: "60" });
        const results = await Promise.all(Array.from({ length: 50 }, () => api.get("/data?group_number=6&day=Tuesday")));
        expect(new Set(results.map((r) => r.body.batch_number))).toEqual(new Set([1]));
    });
});

describe("state", () => {
    it("survives rebuilding the app on the same state file", async () => {
        const dir = tempDir();
        const env = { DATA_API_STATE_FILE: path.join(dir, "state.json"), DATA_API_BATCHES: "5", DATA_API_BATCH_SIZE: "4", DATA_API_INTERVAL_SECONDS: "0" };
        const a = await startDataApi(env);
        await a.get("/data?group_number=1&day=Tuesday");
        await a.get("/data?group_number=1&day=Tuesday");
        await a.close();
        const b = await start(env);
        expect((await b.get("/data?group_number=1&day=Tuesday")).body.batch_number).toBe(3);
        expect(JSON.parse(fs.readFileSync(env.DATA_API_STATE_FILE, "utf8"))["1|Tuesday"].batch_number).toBe(3);
    });
});

describe("CSV source", () => {
    it("serves the file's rows, split into batches, values as in the file", async () => {
        const dir = tempDir();
        const rows = generateListings(30, { seed: 7, dirtyShare: 0 });
        const header = "brokered_by,status,price,bed,bath,acre_lot,street,city,state,zip_code,house_size,prev_sold_date";
        const lines = rows.map((r, i) =>
            [r.brokered_by ?? "", r.status, r.price, r.bed, r.bath, r.acre_lot, `"${r.street}, Unit ${i}"`, r.city, r.state, r.zip_code, r.house_size, r.prev_sold_date ?? ""].join(","),
        );
        const csv = path.join(dir, "realtor-data.csv");
        fs.writeFileSync(csv, [header, ...lines].join("\n") + "\n");
        const api = await start({ DATA_API_CSV_PATH: csv, DATA_API_BATCHES: "3", DATA_API_BATCH_SIZE: "10", DATA_API_INTERVAL_SECONDS: "0" });
        const served = [];
        for (let b = 1; b <= 3; b++) {
            const res = await api.get("/data?group_number=1&day=Tuesday");
            expect(res.body.batch_number).toBe(b);
            expect(res.body.data).toHaveLength(10);
            served.push(...res.body.data);
        }
        const streets = served.map((r) => r.street).sort();
        expect(streets).toEqual(rows.map((r, i) => `${r.street}, Unit ${i}`).sort());
        const byStreet = new Map(served.map((r) => [r.street, r]));
        const r0 = byStreet.get(`${rows[0]!.street}, Unit 0`);
        expect(r0).toMatchObject({ price: rows[0]!.price, state: rows[0]!.state, zip_code: Number(rows[0]!.zip_code), house_size: rows[0]!.house_size });
    });

    it("passes the real file's oddities on as pandas would: float ZIP codes as numbers, empty cells as null, other columns ignored", async () => {
        const dir = tempDir();
        const csv = path.join(dir, "realtor-data.csv");
        fs.writeFileSync(
            csv,
            "brokered_by,status,price,bed,bath,acre_lot,street,city,state,zip_code,house_size,prev_sold_date,extra\n" +
                "103378.0,for_sale,105000.0,3.0,2.0,0.12,1962661.0,Adjuntas,Puerto Rico,601.0,920.0,,x\n",
        );
        const api = await start({ DATA_API_CSV_PATH: csv, DATA_API_BATCHES: "1", DATA_API_BATCH_SIZE: "10" });
        const res = await api.get("/data?group_number=1&day=Tuesday");
        expect(res.body.data).toEqual([
            { brokered_by: 103378, status: "for_sale", price: 105000, bed: 3, bath: 2, acre_lot: 0.12, street: "1962661.0", city: "Adjuntas", state: "Puerto Rico", zip_code: 601, house_size: 920, prev_sold_date: null },
        ]);
    });

    it("refuses to start when the file lacks a column, naming it", async () => {
        const dir = tempDir();
        const csv = path.join(dir, "bad.csv");
        fs.writeFileSync(csv, "price,bed\n1,2\n");
        await expect(startDataApi({ DATA_API_CSV_PATH: csv })).rejects.toThrow(/lacks columns: brokered_by, status, bath/);
    });
});

describe("GET /metrics", () => {
    it("counts requests by route and status, batches served per group, rows per batch and the price distribution", async () => {
        const api = await start({ DATA_API_BATCHES: "2", DATA_API_BATCH_SIZE: "50", DATA_API_INTERVAL_SECONDS: "0", DATA_API_DIRTY_SHARE: "0" });
        await api.get("/data?group_number=1&day=Tuesday");
        await api.get("/data?group_number=1&day=Tuesday");
        await api.get("/data?group_number=1&day=Tuesday"); // 400: exhausted
        await api.get("/data?group_number=4&day=Wednesday");
        const { status, body } = await api.get("/metrics");
        expect(status).toBe(200);
        expect(body).toContain('data_api_requests_total{route="/data",status="200"} 3');
        expect(body).toContain('data_api_requests_total{route="/data",status="400"} 1');
        expect(body).toContain('data_api_batches_served_total{group_number="1",day="Tuesday"} 2');
        expect(body).toContain('data_api_batches_served_total{group_number="4",day="Wednesday"} 1');
        expect(body).toContain('data_api_batch_rows{group_number="1",day="Tuesday",batch_number="2"} 50');
        expect(body).toContain('data_api_current_batch{group_number="1",day="Tuesday"} 2');
        expect(body).toContain("data_api_listing_price_dollars_count 150");
    });
});
