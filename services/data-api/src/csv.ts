import * as fs from "node:fs";
import * as readline from "node:readline";
import { LISTING_FIELDS, NUMERIC_FIELDS, type Listing } from "./listing.js";

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines: the listings file has none). */
export function splitCsvLine(line: string): string[] {
    const out: string[] = [];
    let cur = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
        const ch = line[i]!;
        if (quoted) {
            if (ch === '"' && line[i + 1] === '"') {
                cur += '"';
                i++;
            } else if (ch === '"') quoted = false;
            else cur += ch;
        } else if (ch === '"') quoted = true;
        else if (ch === ",") {
            out.push(cur);
            cur = "";
        } else cur += ch;
    }
    out.push(cur);
    return out;
}

function toListing(header: string[], cells: string[]): Listing {
    const row = {} as Record<keyof Listing, string | number | null>;
    for (const field of LISTING_FIELDS) {
        const idx = header.indexOf(field);
        const raw = idx >= 0 ? (cells[idx] ?? "").trim() : "";
        if (raw === "") row[field] = null;
        else if (field === "zip_code" && /^\d+(\.\d+)?$/.test(raw)) row[field] = Number(raw);
        else if (NUMERIC_FIELDS.has(field)) {
            const n = Number(raw);
            row[field] = Number.isFinite(n) ? n : null;
        } else row[field] = raw;
    }
    return row as unknown as Listing;
}

/**
 * Reads up to `maxRows` listings from the listings CSV (header row with the schema's column
 * names, in any order). Values are passed on as they are in the file (dirty ones included):
 * cleaning is the pipeline's job, not this service's.
 */
export async function loadCsv(path: string, maxRows: number): Promise<Listing[]> {
    if (!fs.existsSync(path)) throw new Error(`DATA_API_CSV_PATH: file not found: ${path}`);
    const rl = readline.createInterface({ input: fs.createReadStream(path, "utf8"), crlfDelay: Infinity });
    let header: string[] | undefined;
    const rows: Listing[] = [];
    for await (const line of rl) {
        if (line.trim() === "") continue;
        if (!header) {
            header = splitCsvLine(line).map((h) => h.trim().replace(/^\uFEFF/, ""));
            const missing = LISTING_FIELDS.filter((f) => !header!.includes(f));
            if (missing.length) throw new Error(`DATA_API_CSV_PATH: ${path} lacks columns: ${missing.join(", ")}`);
            continue;
        }
        rows.push(toListing(header, splitCsvLine(line)));
        if (rows.length >= maxRows) break;
    }
    rl.close();
    if (rows.length === 0) throw new Error(`DATA_API_CSV_PATH: ${path} has no data rows`);
    return rows;
}
