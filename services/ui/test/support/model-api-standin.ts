import Fastify, { type FastifyInstance } from "fastify";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A real HTTP server with the model API's contract (design.md: POST /predict, GET /model,
 * /health, /ready; 422 naming each bad field, 503 without a model, 413 for big bodies), for
 * testing the UI before services/model-api lands. Its prices come from a deterministic formula
 * over the listing (per-state level x size x rooms + land), not from constants; its errors have
 * the real model API's shape: {code, message, errors: [{field, message}]}.
 */
const listingDef = JSON.parse(
    fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../config/listing.json"), "utf8"),
) as { fields: Record<string, { type: string; nullable: boolean; min?: number; target?: boolean }>; status: { values: string[] }; prev_sold_date: { min: string } };

export interface FieldError {
    field: string;
    message: string;
}

const normString = (v: string) => v.trim().toLowerCase().replace(/\s+/g, " ");

/** Validates and normalises one listing by config/listing.json's rules; every bad field is reported. */
export function checkListing(input: unknown, prefix: string): { value?: Record<string, unknown>; errors: FieldError[] } {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return { errors: [{ field: prefix, message: "must be an object of listing fields" }] };
    const obj = input as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const errors: FieldError[] = [];
    const today = new Date().toISOString().slice(0, 10);
    for (const [name, f] of Object.entries(listingDef.fields)) {
        if (f.target) continue;
        const where = `${prefix}.${name}`;
        const raw = obj[name];
        if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) {
            if (!f.nullable) errors.push({ field: where, message: "is required" });
            out[name] = null;
            continue;
        }
        if (f.type === "number") {
            const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
            if (!Number.isFinite(n)) errors.push({ field: where, message: `must be a number (got ${JSON.stringify(raw)})` });
            else if (f.min !== undefined && n < f.min) errors.push({ field: where, message: `must be >= ${f.min} (got ${n})` });
            out[name] = n;
        } else if (f.type === "category") {
            const v = typeof raw === "string" ? normString(raw).replace(/[ -]/g, "_") : "";
            if (!listingDef.status.values.includes(v)) errors.push({ field: where, message: `must be one of ${listingDef.status.values.join(", ")} (got ${JSON.stringify(raw)})` });
            out[name] = v;
        } else if (f.type === "zip") {
            const s = typeof raw === "number" && Number.isInteger(raw) && raw >= 0 ? String(raw).padStart(5, "0") : typeof raw === "string" ? raw.trim() : "";
            const m = /^(\d{1,5})(-\d{4})?$/.exec(s);
            if (!m) errors.push({ field: where, message: `must be a 5-digit ZIP code (got ${JSON.stringify(raw)})` });
            out[name] = m ? m[1]!.padStart(5, "0") : null;
        } else if (f.type === "date") {
            const s = typeof raw === "string" ? raw.trim().slice(0, 10) : "";
            const d = new Date(`${s}T00:00:00Z`);
            const ok = /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s && s >= listingDef.prev_sold_date.min && s <= today;
            if (!ok) errors.push({ field: where, message: `must be a real date YYYY-MM-DD between ${listingDef.prev_sold_date.min} and ${today} (got ${JSON.stringify(raw)})` });
            out[name] = s;
        } else {
            if (typeof raw !== "string") errors.push({ field: where, message: `must be a string (got ${JSON.stringify(raw)})` });
            else out[name] = normString(raw);
        }
    }
    return errors.length ? { errors } : { value: out, errors };
}

/** The stand-in's model: per-state level per square foot (from the state's name), rooms, land. */
export function standInPrice(l: Record<string, unknown>): number {
    const state = String(l.state ?? "");
    let h = 0;
    for (const ch of state) h = (h * 31 + ch.charCodeAt(0)) % 1000;
    const perSqft = 120 + (h % 330);
    const size = typeof l.house_size === "number" ? l.house_size : 1500;
    const bed = typeof l.bed === "number" ? l.bed : 3;
    const bath = typeof l.bath === "number" ? l.bath : 2;
    const acres = typeof l.acre_lot === "number" ? l.acre_lot : 0.2;
    return Math.round((perSqft * size * (1 + 0.05 * (bed - 3) + 0.07 * (bath - 2)) + acres * perSqft * 600) / 100) * 100;
}

export interface StandInOptions {
    /** Version served; null = no model yet (503). */
    readonly version: string | null;
    readonly name?: string;
}

export interface ModelApiHandle {
    readonly url: string;
    close(): Promise<void>;
}

export async function startStandInModelApi(opts: StandInOptions): Promise<ModelApiHandle> {
    const name = opts.name ?? "realtor-price";
    const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 256 * 1024 });
    app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
        if (err.statusCode === 413) return reply.code(413).send({ code: "BODY_TOO_LARGE", message: err.message });
        return reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ code: "BAD_REQUEST", message: err.message });
    });
    app.post("/predict", async (req, reply) => {
        if (opts.version === null) return reply.code(503).send({ code: "NO_MODEL", message: "no model is loaded yet; retry later" });
        const body = req.body as { features?: unknown; instances?: unknown[] } | null;
        const model = { name, version: opts.version };
        if (body && Array.isArray(body.instances)) {
            const checked = body.instances.map((x, i) => checkListing(x, `instances[${i}]`));
            const errors = checked.flatMap((c) => c.errors);
            if (errors.length) return reply.code(422).send({ code: "INVALID_INPUT", message: `invalid input: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`, errors });
            return { predictions: checked.map((c) => standInPrice(c.value!)), model };
        }
        const c = checkListing(body?.features, "features");
        if (c.errors.length) return reply.code(422).send({ code: "INVALID_INPUT", message: `invalid input: ${c.errors.map((e) => `${e.field} ${e.message}`).join("; ")}`, errors: c.errors });
        return { price: standInPrice(c.value!), model };
    });
    app.get("/model", async (_req, reply) => (opts.version === null ? reply.code(503).send({ code: "NO_MODEL", message: "no model is loaded yet" }) : { name, version: opts.version }));
    app.get("/health", async () => ({ status: "ok" }));
    app.get("/ready", async (_req, reply) => (opts.version === null ? reply.code(503).send({ status: "not_ready", reason: "no model loaded yet" }) : { status: "ready", model: { name, version: opts.version } }));
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
