import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { PostgresServer } from "../../../tests/support/postgres-server";
import { startMlopsDatabase, type MlopsDatabase } from "./support/mlops-db";
import { InferenceLog, type InferenceLogRow } from "../src/inference-log";
import { ListingNormaliser, loadListingDefinition } from "../src/listing";
import { createMetrics } from "../src/metrics";
import { provided, SEED_PAYLOADS, startApp, testLogger, waitFor } from "./support/helpers";

/**
 * Properties that go through to a real Postgres, not only to the HTTP answer:
 * - whatever a listing's fields hold, a request answered 200 ends up as rows in
 *   serving.inference_log (exactly what was predicted on), and any other answer is a 422 naming
 *   the fields that were changed;
 * - below the API, a batch mixing good rows with rows Postgres refuses keeps every good row, in
 *   order, and counts each refused row as unstorable.
 * The database is UTF8, as the platform's Postgres image creates it.
 */
const TODAY = "2026-11-27";
const def = loadListingDefinition();
const normaliser = new ListingNormaliser(def);
const MAX = def.strings.maxLength!;
const seed = SEED_PAYLOADS[0]!.features as Record<string, unknown>;
const FIELDS = Object.keys(seed);

/** Strings of every kind: ASCII, any code point, any UTF-16 unit (NUL, lone surrogates), around the length bound. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.string({ unit: anyUnit, maxLength: 30 }),
    fc.string({ unit: "binary", minLength: MAX - 2, maxLength: MAX + 2 }),
    fc.tuple(fc.string({ maxLength: 5 }), fc.constantFrom("\u0000", "\uD800", "\uDBFF", "\uDC00", "\u{1F3E0}", "\u0000\u0000"), fc.string({ maxLength: 5 })).map((p) => p.join("")),
    fc.constantFrom("for sale", "62704", "2022-03-15", " 3 ", `${" ".repeat(MAX)}x`),
);
const value = fc.oneof({ weight: 5, arbitrary: text }, fc.double(), fc.integer(), fc.constant(null), fc.boolean());
/** A listing with 0..3 of its fields replaced; the replaced names come along. */
const listing = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 3 }).map((changes) => ({ row: { ...seed, ...changes }, changed: Object.keys(changes) }));

describe.sequential("inference log: every 200 is stored, every refused row costs only itself (real Postgres)", () => {
    let pg: PostgresServer;
    let dsn: string;
    let app: FastifyInstance;
    let url: string;

    let query: MlopsDatabase["query"];

    beforeAll(async () => {
        ({ pg, dsn, query } = await startMlopsDatabase());
        // Small batches, so one property run spans several of them.
        ({ app, url } = await startApp(
            { MODEL_PATH: provided("fixtures").v1, DATABASE_URL: dsn, INFERENCE_LOG_FLUSH_MS: "50", INFERENCE_LOG_BATCH_SIZE: "7", MAX_BATCH_SIZE: "10" },
            "inference-log-properties",
            { today: () => TODAY },
        ));
        await waitFor("model loaded", async () => (await fetch(`${url}/ready`)).status === 200);
    });
    afterAll(async () => {
        await app?.close();
        pg?.stop();
    });

    it("arbitrary values in the listing's fields: each 200 lands in serving.inference_log as predicted; anything else is a 422 naming a changed field", async () => {
        const answered = new Map<string, { inputs: unknown[]; prices: number[] }>();
        const refusedFor = { storage: 0, other: 0 };
        let n = 0;
        await fc.assert(
            fc.asyncProperty(fc.oneof(listing.map((l) => [l]), fc.array(listing, { minLength: 1, maxLength: 10 })), fc.boolean(), async (rows, single) => {
                const requestId = `prop-${n++}`;
                const isSingle = single && rows.length === 1;
                const body = isSingle ? { features: rows[0]!.row } : { instances: rows.map((r) => r.row) };
                const res = await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": requestId }, body: JSON.stringify(body) });
                const answer = (await res.json()) as { price: number; prices: number[]; code: string; errors: { field: string; message: string }[] };
                const expected = rows.map((r) => normaliser.listing(r.row, "x", TODAY));
                if (res.status === 200) {
                    // The same rules, run here, accept every row: the stored input is theirs.
                    expect(expected.every((e) => e.value)).toBe(true);
                    answered.set(requestId, { inputs: expected.map((e) => e.value), prices: isSingle ? [answer.price] : answer.prices });
                    return;
                }
                expect(res.status, JSON.stringify(answer)).toBe(422);
                expect(answer.code).toBe("INVALID_INPUT");
                expect(answer.errors.length).toBeGreaterThan(0);
                const allowed = new Set(rows.flatMap((r, i) => r.changed.map((f) => (isSingle ? `features.${f}` : `instances[${i}].${f}`))));
                for (const e of answer.errors) expect(allowed, `${e.field}: ${e.message}`).toContain(e.field);
                if (answer.errors.some((e) => /U\+0000|surrogate|at most \d+ characters/.test(e.message))) refusedFor.storage++;
                else refusedFor.other++;
            }),
            { numRuns: 300 },
        );
        await app.inferenceLog!.flush();
        await app.inferenceLog!.flush();

        const stored = await query("SELECT request_id, input, price FROM serving.inference_log WHERE request_id LIKE 'prop-%' ORDER BY id");
        const byRequest = new Map<string, { inputs: unknown[]; prices: number[] }>();
        for (const r of stored) {
            const e = byRequest.get(r.request_id) ?? { inputs: [], prices: [] };
            e.inputs.push(r.input);
            e.prices.push(r.price);
            byRequest.set(r.request_id, e);
        }
        expect([...byRequest.keys()].sort()).toEqual([...answered.keys()].sort());
        for (const [id, want] of answered) {
            const got = byRequest.get(id)!;
            // JSON round trip on the expectation: -0 is stored as 0, as JSON has it.
            expect(got.inputs, id).toEqual(JSON.parse(JSON.stringify(want.inputs)));
            expect(got.prices, id).toEqual(want.prices);
        }
        const metrics = app.metrics;
        expect((await metrics.logDropped.get()).values.map((v) => [v.labels.reason, v.value]).sort()).toEqual([["queue_full", 0], ["unstorable", 0], ["write_failed", 0]]);
        expect((await metrics.logWritten.get()).values[0]!.value).toBe(stored.length);
        // The generators reach both sides, and the refusals this issue is about.
        expect(answered.size).toBeGreaterThan(30);
        expect(refusedFor.storage).toBeGreaterThan(10);
        expect(refusedFor.other).toBeGreaterThan(10);
    });

    it("a batch mixing good rows with rows Postgres refuses (injected into InferenceLog.add): every good row is written, in order; each refused row is counted unstorable", async () => {
        const good = (id: string): InferenceLogRow => ({
            ts: new Date().toISOString(), request_id: id, model_name: "realtor-price", model_version: "7", model_sha256: "0123456789abcdef".repeat(4),
            input: { ...normaliser.listing(seed, "features", TODAY).value }, price: 250_000, latency_ms: 1.5,
        });
        // What validation now refuses at the door, and what a model could still produce (a NaN price).
        const spoil: Record<string, (r: InferenceLogRow) => InferenceLogRow> = {
            nul: (r) => ({ ...r, input: { ...(r.input as object), street: "elm\u0000st" } }),
            surrogate: (r) => ({ ...r, input: { ...(r.input as object), city: "spring\uD800field" } }),
            nanPrice: (r) => ({ ...r, price: Number.NaN }),
            noInput: (r) => ({ ...r, input: undefined }),
            // The CHECK of migration 0002: only a hex sha256 is stored.
            badSha256: (r) => ({ ...r, model_sha256: "not-a-sha256" }),
        };
        let run = 0;
        await fc.assert(
            fc.asyncProperty(
                fc.array(fc.oneof({ weight: 6, arbitrary: fc.constant("good") }, fc.constantFrom(...Object.keys(spoil))), { minLength: 1, maxLength: 80 }),
                fc.integer({ min: 1, max: 64 }),
                fc.integer({ min: 1, max: 30 }),
                async (kinds, batchSize, chunk) => {
                    const metrics = createMetrics();
                    const log = new InferenceLog({ connectionString: dsn, flushIntervalMs: 3_600_000, batchSize, maxQueue: 100_000, metrics, log: testLogger("inference-log-mix") });
                    const prefix = `mix-${run++}-`;
                    const rows = kinds.map((k, i) => (k === "good" ? good(`${prefix}${i}`) : spoil[k]!(good(`${prefix}${i}`))));
                    try {
                        for (let i = 0; i < rows.length; i += chunk) log.add(rows.slice(i, i + chunk));
                        await log.flush();
                    } finally {
                        await log.close();
                    }
                    const ids = (await query("SELECT request_id FROM serving.inference_log WHERE request_id LIKE $1 ORDER BY id", [`${prefix}%`])).map((r) => r.request_id);
                    const goodIds = rows.filter((_, i) => kinds[i] === "good").map((r) => r.request_id);
                    expect(ids).toEqual(goodIds);
                    const dropped = Object.fromEntries((await metrics.logDropped.get()).values.map((v) => [v.labels.reason, v.value]));
                    expect(dropped).toEqual({ write_failed: 0, unstorable: rows.length - goodIds.length, queue_full: 0 });
                    expect((await metrics.logWritten.get()).values[0]?.value ?? 0).toBe(goodIds.length);
                },
            ),
            { numRuns: 40 },
        );
    });
});
