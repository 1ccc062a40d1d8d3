import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { standInPrice, startStandInModelApi, type ModelApiHandle } from "./support/model-api-standin.js";
import { repoRoot } from "./support/processes.js";

// The stand-in must hold the model API's contract (design.md) or the end-to-end test proves nothing.
const vectors = JSON.parse(fs.readFileSync(path.join(repoRoot, "config/listing-vectors.json"), "utf8")) as Record<string, [unknown, unknown][]>;
const legacy = [
    { brokered_by: 101, status: "for sale", bed: 3, bath: 2, acre_lot: 0.25, street: "123 elm st", city: "springfield", state: "illinois", zip_code: "62704", house_size: 1500, prev_sold_date: "2022-03-15" },
    { brokered_by: 55, status: "for sale", bed: 4, bath: 3, acre_lot: 0.4, street: "456 oak ave", city: "shelbyville", state: "illinois", zip_code: "62565", house_size: 1800, prev_sold_date: "2023-01-22" },
];

let api: ModelApiHandle;
beforeAll(async () => {
    api = await startStandInModelApi({ version: "7" });
});
afterAll(() => api?.close());

const post = async (body: unknown) => {
    const res = await fetch(`${api.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
};

describe("model API stand-in", () => {
    it("accepts the old FastAPI server's payloads as-is and prices them by its formula", async () => {
        for (const features of legacy) {
            const r = await post({ features });
            expect(r.status).toBe(200);
            expect(r.body).toEqual({ price: standInPrice({ ...features, status: "for_sale" }), model: { name: "realtor-price", version: "7" } });
        }
        const batch = await post({ instances: legacy });
        expect(batch.body.predictions).toHaveLength(2);
    });

    it("prices rise with size, rooms and land, and differ by state", () => {
        const base = { ...legacy[0]! };
        expect(standInPrice({ ...base, house_size: 3000 })).toBeGreaterThan(standInPrice(base));
        expect(standInPrice({ ...base, bed: 5 })).toBeGreaterThan(standInPrice(base));
        expect(standInPrice({ ...base, acre_lot: 2 })).toBeGreaterThan(standInPrice(base));
        expect(standInPrice({ ...base, state: "california" })).not.toBe(standInPrice(base));
    });

    it.each(["status", "zip_code", "prev_sold_date"])("follows the shared listing vectors for %s: invalid values -> 422 naming features.%s", async (field) => {
        for (const [input, expected] of vectors[field]!) {
            if (input === "") continue; // empty = missing: allowed for nullable fields, required for status
            const r = await post({ features: { ...legacy[0], [field]: input } });
            if (expected === null) {
                expect(r.status, `${field}=${JSON.stringify(input)}`).toBe(422);
                expect(r.body.code).toBe("INVALID_INPUT");
                expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual([`features.${field}`]);
            } else {
                expect(r.status, `${field}=${JSON.stringify(input)}`).toBe(200);
            }
        }
    });

    it("names every bad field at once; 413 for an oversized body; 503 without a model", async () => {
        const r = await post({ features: { ...legacy[0], bed: -1, house_size: "big", state: null } });
        expect(r.status).toBe(422);
        expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["features.bed", "features.house_size", "features.state"]);
        expect((await post({ features: { ...legacy[0], street: "x".repeat(300_000) } })).status).toBe(413);
        const none = await startStandInModelApi({ version: null });
        try {
            const res = await fetch(`${none.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ features: legacy[0] }) });
            expect(res.status).toBe(503);
            expect(((await res.json()) as { code: string }).code).toBe("NO_MODEL");
        } finally {
            await none.close();
        }
    });
});
