import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The listing schema and its normalisation, implemented from config/listing.json (the one
 * definition shared with the Python cleaning step) and checked against
 * config/listing-vectors.json by test/listing.test.ts.
 */
export interface ListingDefinition {
    fields: Record<string, { type: "number" | "category" | "string" | "zip" | "date"; nullable: boolean; min?: number; target?: boolean }>;
    strings: { lowercase: boolean; trim: boolean; collapseWhitespace: boolean; maxLength?: number };
    status: { values: string[]; separatorsToUnderscore: string[] };
    zip_code: { length: number };
    prev_sold_date: { format: string; min: string };
}

/** A field value after normalisation: number, string, or null when missing. */
export type NormalisedValue = number | string | null;
export type NormalisedListing = Record<string, NormalisedValue>;

export interface FieldError {
    field: string;
    message: string;
}

/** Finds config/listing.json: $LISTING_SPEC_PATH, else the nearest config/ walking up (repo or image layout). */
export function findConfigFile(name: string, envVar?: string): string {
    const fromEnv = envVar ? process.env[envVar] : undefined;
    if (fromEnv) return fromEnv;
    let dir = __dirname;
    for (;;) {
        const candidate = path.join(dir, "config", name);
        if (fs.existsSync(candidate)) return candidate;
        const parent = path.dirname(dir);
        if (parent === dir) throw new Error(`config/${name} not found above ${__dirname} (set ${envVar ?? "its path"})`);
        dir = parent;
    }
}

export function loadListingDefinition(file = findConfigFile("listing.json", "LISTING_SPEC_PATH")): ListingDefinition {
    return JSON.parse(fs.readFileSync(file, "utf8")) as ListingDefinition;
}

/** U+0000, or a surrogate not part of a pair: Postgres stores neither, in text or in jsonb. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Length in Unicode code points (as Python's len counts), not UTF-16 units. */
function codePoints(s: string): number {
    let n = 0;
    for (const _ of s) n++;
    return n;
}

export function isoDate(d: Date): string {
    return d.toISOString().slice(0, 10);
}

/** Normalisation rules of one listing definition; each function returns null for missing or invalid. */
export class ListingNormaliser {
    private readonly statusValues: Set<string>;
    private readonly separators: RegExp;
    /** The request's fields (the target excluded), computed once: this runs for every row. */
    private readonly fields: [string, ListingDefinition["fields"][string]][];

    constructor(readonly def: ListingDefinition) {
        this.statusValues = new Set(def.status.values);
        const escaped = def.status.separatorsToUnderscore.map((s) => s.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&"));
        this.separators = new RegExp(`[${escaped.join("")}]`, "g");
        this.fields = Object.entries(def.fields).filter(([, f]) => !f.target);
    }

    string(value: unknown): string | null {
        if (typeof value !== "string") return null;
        const s = this.normaliseText(value);
        return s === "" || this.textProblem(s) ? null : s;
    }

    private normaliseText(value: string): string {
        let s = value;
        if (this.def.strings.trim) s = s.trim();
        if (this.def.strings.collapseWhitespace) s = s.replace(/\s+/g, " ");
        if (this.def.strings.lowercase) s = s.toLowerCase();
        return s;
    }

    /** Why a normalised string is invalid (what Postgres cannot store, or longer than the bound), or undefined. */
    private textProblem(s: string): string | undefined {
        const m = UNSTORABLE.exec(s);
        if (m) return m[0] === "\u0000" ? "must not contain the NUL character (U+0000)" : `must be valid Unicode text (unpaired surrogate U+${m[0].charCodeAt(0).toString(16).toUpperCase()})`;
        const max = this.def.strings.maxLength;
        // UTF-16 length >= code points: count only when it could be over.
        if (max !== undefined && s.length > max) {
            const n = codePoints(s);
            if (n > max) return `must be at most ${max} characters (got ${n})`;
        }
        return undefined;
    }

    status(value: unknown): string | null {
        const s = this.string(value);
        if (s === null) return null;
        const v = s.replace(this.separators, "_");
        return this.statusValues.has(v) ? v : null;
    }

    zip(value: unknown): string | null {
        const len = this.def.zip_code.length;
        let digits: string;
        if (typeof value === "number") {
            if (!Number.isInteger(value) || value < 0) return null;
            digits = String(value);
        } else if (typeof value === "string") {
            const s = value.trim();
            const plus4 = new RegExp(`^(\\d{${len}})-\\d{4}$`).exec(s);
            if (plus4) return plus4[1]!;
            if (!/^\d+$/.test(s)) return null;
            digits = s;
        } else {
            return null;
        }
        if (digits.length > len) return null;
        return digits.padStart(len, "0");
    }

    /** ISO date (a time part is dropped) between the definition's minimum and `today`. */
    date(value: unknown, today: string): string | null {
        if (typeof value !== "string") return null;
        const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(value.trim());
        if (!m) return null;
        const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
        const dt = new Date(Date.UTC(y, mo - 1, d));
        if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
        const iso = `${m[1]}-${m[2]}-${m[3]}`;
        if (iso < this.def.prev_sold_date.min || iso > today) return null;
        return iso;
    }

    /**
     * Validates and normalises one listing (the request's `features`). Every problem is
     * reported, each naming its field under `prefix`. Missing nullable fields become null;
     * the target (price) and unknown extra fields are ignored, as the old server ignored them.
     */
    listing(input: unknown, prefix: string, today: string): { value?: NormalisedListing; errors: FieldError[] } {
        const errors: FieldError[] = [];
        if (typeof input !== "object" || input === null || Array.isArray(input)) {
            return { errors: [{ field: prefix, message: "must be an object of listing fields" }] };
        }
        const obj = input as Record<string, unknown>;
        const out: NormalisedListing = {};
        for (const [name, field] of this.fields) {
            const raw = obj[name];
            const missing = raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
            if (missing) {
                if (!field.nullable) errors.push({ field: `${prefix}.${name}`, message: "is required" });
                out[name] = null;
                continue;
            }
            const where = () => `${prefix}.${name}`;
            switch (field.type) {
                case "number": {
                    const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
                    if (!Number.isFinite(n)) {
                        errors.push({ field: where(), message: `must be a number (got ${describe(raw)})` });
                    } else if (field.min !== undefined && n < field.min) {
                        errors.push({ field: where(), message: `must be >= ${field.min} (got ${n})` });
                    } else {
                        out[name] = n;
                    }
                    break;
                }
                case "string": {
                    if (typeof raw !== "string") {
                        errors.push({ field: where(), message: `must be a string (got ${describe(raw)})` });
                        break;
                    }
                    const s = this.normaliseText(raw);
                    const problem = this.textProblem(s);
                    if (problem) errors.push({ field: where(), message: problem });
                    else out[name] = s === "" ? null : s;
                    break;
                }
                case "category": {
                    const v = typeof raw === "string" ? this.status(raw) : null;
                    if (v === null) errors.push({ field: where(), message: `must be one of ${this.def.status.values.join(", ")} (got ${describe(raw)})` });
                    else out[name] = v;
                    break;
                }
                case "zip": {
                    const v = this.zip(raw);
                    if (v === null) errors.push({ field: where(), message: `must be a ${this.def.zip_code.length}-digit ZIP code (got ${describe(raw)})` });
                    else out[name] = v;
                    break;
                }
                case "date": {
                    const v = this.date(raw, today);
                    if (v === null) {
                        errors.push({ field: where(), message: `must be a real date YYYY-MM-DD between ${this.def.prev_sold_date.min} and ${today} (got ${describe(raw)})` });
                    } else out[name] = v;
                    break;
                }
            }
        }
        return errors.length ? { errors } : { value: out, errors };
    }
}

function describe(v: unknown): string {
    if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    if (Array.isArray(v)) return "an array";
    if (v === null) return "null";
    if (typeof v === "object") return "an object";
    return `${typeof v} ${String(v)}`;
}
