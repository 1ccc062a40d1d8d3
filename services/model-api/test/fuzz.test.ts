import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { SEED_PAYLOADS, startApp, waitFor } from "./support/helpers";

/**
 * Property-based bad input: whatever arrives, the answer is a 4xx with a code and a message
 * (or a 200 for a payload that happens to be valid), never a 5xx, and the server keeps serving.
 * Runs through app.inject (the full Fastify pipeline: parser, validator, handler, serializer).
 */
const FIELDS = Object.keys(SEED_PAYLOADS[0]!.features);
const seedFeatures = SEED_PAYLOADS[0]!.features as Record<string, unknown>;

describe("malformed payloads (fast-check)", () => {
    let app: FastifyInstance;
    let url: string;

    beforeAll(async () => {
        const fixtures = (await import("./support/helpers.js")).provided("fixtures");
        ({ app, url } = await startApp({ MODEL_PATH: fixtures.v1, MAX_BATCH_SIZE: "50", BODY_LIMIT_BYTES: "65536" }, "fuzz"));
        await waitFor("model loaded", async () => (await fetch(`${url}/ready`)).status === 200);
    });
    afterAll(async () => app?.close());

    async function send(payload: string, contentType = "application/json") {
        const r = await app.inject({ method: "POST", url: "/predict", headers: { "content-type": contentType }, payload });
        return { status: r.statusCode, body: r.body };
    }

    /**
     * Fastify refuses a `__proto__` key, or `constructor.prototype`, anywhere in a JSON body
     * (prototype-poisoning protection) with 400 INVALID_JSON before validation: the one 4xx
     * that is not 413 or 422. fast-check's JSON values produce such keys now and then.
     */
    function isPrototypeKeyRefusal(r: { status: number; body: string }, payload: string): boolean {
        return r.status === 400 && JSON.parse(r.body).code === "INVALID_JSON" && /"__proto__"|"constructor":\{[^}]*"prototype"/.test(payload);
    }

    function expectClientError(r: { status: number; body: string }) {
        expect(r.status, r.body).toBeGreaterThanOrEqual(400);
        expect(r.status, r.body).toBeLessThan(500);
        const body = JSON.parse(r.body);
        expect(typeof body.code).toBe("string");
        expect(typeof body.message).toBe("string");
        expect(body.message.length).toBeGreaterThan(0);
    }

    it("any JSON value as the body: 4xx with a message or a valid 200, never 5xx", async () => {
        await fc.assert(
            fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
                const r = await send(JSON.stringify(value));
                if (r.status !== 200) expectClientError(r);
            }),
            { numRuns: 300 },
        );
    });

    it("any string as a JSON body (broken JSON, huge numbers, unicode): 4xx, never 5xx", async () => {
        await fc.assert(
            fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 })), async (raw) => {
                const r = await send(raw);
                if (r.status !== 200) expectClientError(r);
            }),
            { numRuns: 300 },
        );
    });

    it("the seed payload with one field replaced by an arbitrary value: 200, or 422 naming that field", async () => {
        await fc.assert(
            fc.asyncProperty(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 2 }), async (field, value) => {
                const payload = JSON.stringify({ features: { ...seedFeatures, [field]: value } });
                const r = await send(payload);
                if (r.status === 200 || isPrototypeKeyRefusal(r, payload)) return;
                expect(r.status, r.body).toBe(422);
                expectClientError(r);
                expect(JSON.parse(r.body).errors).toEqual([expect.objectContaining({ field: `features.${field}` })]);
            }),
            { numRuns: 400 },
        );
    });

    it("batches of mutated rows (including oversize ones): 200, 413 or 422, never 5xx", async () => {
        const row = fc.dictionary(fc.constantFrom(...FIELDS, "price", "extra"), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom("for sale", "SOLD", "2022-01-01", "62704")));
        await fc.assert(
            fc.asyncProperty(fc.array(fc.oneof(row, fc.constant(seedFeatures)), { maxLength: 80 }), async (rows) => {
                const payload = JSON.stringify({ instances: rows });
                const r = await send(payload);
                if (isPrototypeKeyRefusal(r, payload)) return;
                if (r.status === 200) {
                    expect(JSON.parse(r.body).prices).toHaveLength(rows.length);
                    return;
                }
                expectClientError(r);
                expect([413, 422]).toContain(r.status);
            }),
            { numRuns: 200 },
        );
    });

    it("refuses prototype keys with 400 INVALID_JSON (the case the properties above allow)", async () => {
        for (const payload of ['{"instances":[{"bed":{"__proto__":1}}]}', '{"features":{"bed":{"constructor":{"prototype":1}}}}']) {
            const r = await send(payload);
            expect(r.status, payload).toBe(400);
            expect(isPrototypeKeyRefusal(r, payload)).toBe(true);
        }
        // A plain `constructor` key is data, not poisoning: validated like any other value.
        expect((await send('{"instances":[{"bed":{"constructor":1}}]}')).status).toBe(422);
    });

    it("is still serving the seed payloads afterwards", async () => {
        for (const p of SEED_PAYLOADS) {
            const r = await send(JSON.stringify(p));
            expect(r.status).toBe(200);
            expect(JSON.parse(r.body).price).toBeGreaterThan(0);
        }
        expect((await fetch(`${url}/health`)).status).toBe(200);
    });
});
