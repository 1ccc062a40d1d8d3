import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresServer } from "../../../tests/support/postgres-server";
import { pruneInferenceLog } from "../src/prune";
import { startMlopsDatabase, type MlopsDatabase } from "./support/mlops-db";

const cli = path.join(__dirname, "../dist/src/prune.js");

/** Inference-log retention against a real Postgres: old rows go in batches, recent ones stay. */
describe.sequential("pruning serving.inference_log", () => {
    let pg: PostgresServer;
    let dsn: string;
    let query: MlopsDatabase["query"];
    let migrate: MlopsDatabase["migrate"];

    /** `n` rows logged `ageDays` days ago (a second apart), with `tag` as their model version. */
    const insert = (n: number, ageDays: number, tag: string) =>
        query(
            `INSERT INTO serving.inference_log (ts, request_id, model_name, model_version, input, price, latency_ms)
             SELECT now() - make_interval(days => $1::int) - make_interval(secs => g), 'r' || g, 'realtor-price', $2, '{}'::jsonb, 1, 1
             FROM generate_series(1, $3::int) AS g`,
            [ageDays, tag, n],
        );
    const versions = async () =>
        Object.fromEntries((await query("SELECT model_version AS v, count(*)::int AS n FROM serving.inference_log GROUP BY 1 ORDER BY 1")).map((r) => [r.v, r.n]));
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [cli], { encoding: "utf8", env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });

    beforeAll(async () => {
        ({ pg, dsn, query, migrate } = await startMlopsDatabase());
    });
    afterAll(() => pg?.stop());

    it("the built CLI exists (npm run build -w services/model-api)", () => {
        expect(fs.existsSync(cli), `${cli} missing: build first`).toBe(true);
    });

    it("exits 0 and deletes nothing when nothing was ever logged (no table yet)", () => {
        const r = run({ DATABASE_URL: dsn, INFERENCE_LOG_RETENTION_DAYS: "90" });
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toMatchObject({ event: "prune_done", deleted: 0, batches: 0, days: 90 });
    });

    it("deletes exactly the rows older than the retention, in batches, and keeps the rest", async () => {
        await migrate();
        await insert(1200, 200, "old");
        await insert(30, 91, "just-old");
        await insert(25, 89, "recent");
        await insert(10, 0, "today");
        const client = new Client({ connectionString: dsn });
        await client.connect();
        const progress: number[] = [];
        try {
            const result = await pruneInferenceLog(client, 90, (n) => progress.push(n), 500);
            expect(result).toMatchObject({ deleted: 1230, batches: 3 });
        } finally {
            await client.end();
        }
        expect(progress).toEqual([500, 1000, 1230]);
        expect(await versions()).toEqual({ recent: 25, today: 10 });
    });

    it("as the CronJob runs it: the built CLI with the env the component renders, progress as JSON lines", async () => {
        await insert(7, 40, "month-old");
        const r = run({ DATABASE_URL: dsn, INFERENCE_LOG_RETENTION_DAYS: "30" });
        expect(r.status, r.stderr).toBe(0);
        const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
        expect(lines.at(-1)).toMatchObject({ event: "prune_done", table: "serving.inference_log", days: 30, deleted: 32, batches: 1 });
        expect(lines.filter((l) => l.event === "prune_progress").map((l) => l.deleted)).toEqual([32]);
        expect(await versions()).toEqual({ today: 10 });
    });

    it("refuses bad settings with a message that names them, touching nothing", async () => {
        await insert(3, 400, "ancient");
        for (const [days, shown] of [["0", "'0'"], ["1.5", "'1.5'"], ["", "''"], ["ninety", "'ninety'"]] as const) {
            const r = run({ DATABASE_URL: dsn, INFERENCE_LOG_RETENTION_DAYS: days });
            expect(r.status).toBe(2);
            expect(r.stderr).toContain(`INFERENCE_LOG_RETENTION_DAYS must be a whole number of days >= 1 (got ${shown})`);
        }
        const noDb = run({ INFERENCE_LOG_RETENTION_DAYS: "30" });
        expect(noDb.status).toBe(2);
        expect(noDb.stderr).toContain("DATABASE_URL is not set");
        expect((await versions()).ancient).toBe(3);
    });

    it("exits 1, naming the error, when the database cannot be reached", () => {
        const r = run({ DATABASE_URL: "postgresql://nobody:x@127.0.0.1:1/mlops", INFERENCE_LOG_RETENTION_DAYS: "30" });
        expect(r.status).toBe(1);
        expect(JSON.parse(r.stderr.trim())).toMatchObject({ event: "prune_failed" });
    });
});
