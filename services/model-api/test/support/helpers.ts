import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { inject } from "vitest";
import type { Provided } from "../global-setup";
import { buildApp } from "../../src/app";
import { loadConfig, type ModelApiConfig } from "../../src/config";

export const SEED_PAYLOADS = [
    {
        features: {
            brokered_by: 101, status: "for sale", bed: 3, bath: 2, acre_lot: 0.25, street: "123 elm st", city: "springfield",
            state: "illinois", zip_code: "62704", house_size: 1500, prev_sold_date: "2022-03-15",
        },
    },
    {
        features: {
            brokered_by: 55, status: "for sale", bed: 4, bath: 3, acre_lot: 0.4, street: "456 oak ave", city: "shelbyville",
            state: "illinois", zip_code: "62565", house_size: 1800, prev_sold_date: "2023-01-22",
        },
    },
];

export interface Parity {
    rows: Record<string, unknown>[];
    prices: number[];
}

export function readParity(dir: string): Parity {
    return JSON.parse(fs.readFileSync(path.join(dir, "parity.json"), "utf8")) as Parity;
}

/** Config from env-style values, as the server would read it. */
export function testConfig(env: Record<string, string>): ModelApiConfig {
    return loadConfig({ HOST: "127.0.0.1", PORT: "0", ...env });
}

/** Logs go to a file per test run (readable on failure), not to the test output. */
export function testLogger(name: string) {
    const dir = process.env.MODEL_API_TEST_LOGS ?? path.join(require("node:os").tmpdir(), "model-api-test-logs");
    fs.mkdirSync(dir, { recursive: true });
    return pino({ level: "debug" }, pino.destination({ dest: path.join(dir, `${name}.log`), sync: true }));
}

export async function startApp(env: Record<string, string>, name: string, opts: { today?: () => string } = {}) {
    const app = await buildApp(testConfig(env), { loggerInstance: testLogger(name), today: opts.today });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const addr = app.server.address();
    const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    return { app, url };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (err) {
            last = err;
        }
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json(res: Response): Promise<any> {
    return res.json();
}

export async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
}

/** Value of one Prometheus series from the /metrics text. */
export async function metricValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    let total = 0;
    let found = false;
    for (const line of text.split("\n")) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? ([-+\deE.na]+|NaN)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const ls = m[2] ?? "";
        if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) {
            total += Number(m[3]);
            found = true;
        }
    }
    if (!found) throw new Error(`metric ${name}${JSON.stringify(labels)} not found`);
    return total;
}

/** Values from test/global-setup.ts (fixture model directories, venv paths). */
export function provided<K extends keyof Provided>(key: K): Provided[K] {
    const v = (inject as unknown as (k: string) => unknown)(key);
    if (!v) throw new Error(`global setup did not provide '${key}' (run the tests through vitest.config.mts)`);
    return v as Provided[K];
}
