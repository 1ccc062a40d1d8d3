/**
 * Inference-log retention: deletes rows of `serving.inference_log` older than
 * INFERENCE_LOG_RETENTION_DAYS days, in batches (short transactions, so the model API's
 * inserts are never held up behind one long delete), printing progress as JSON lines.
 * Run by the platform's `model-api-prune` CronJob with the model API's own image and DSN:
 *
 *   node services/model-api/dist/src/prune.js
 *
 * Exit 0 when done (also when the table does not exist yet: nothing was ever logged), 1 on
 * an error, 2 on bad settings.
 */
import { Client } from "pg";

/** Rows deleted per statement. */
export const PRUNE_BATCH = 5000;

export interface PruneResult {
    readonly deleted: number;
    readonly batches: number;
    readonly cutoff: string;
}

/** Deletes every row older than `days` days, in batches; `progress` is told after each batch. */
export async function pruneInferenceLog(client: Client, days: number, progress: (deleted: number) => void = () => {}, batch = PRUNE_BATCH): Promise<PruneResult> {
    const exists = await client.query<{ t: string | null }>("SELECT to_regclass('serving.inference_log')::text AS t");
    const cutoffRow = await client.query<{ cutoff: Date }>("SELECT now() - make_interval(days => $1::int) AS cutoff", [days]);
    const cutoff = cutoffRow.rows[0]!.cutoff.toISOString();
    if (exists.rows[0]?.t === null) return { deleted: 0, batches: 0, cutoff };
    let deleted = 0;
    let batches = 0;
    for (;;) {
        // ctid-limited: Postgres has no DELETE ... LIMIT. The ts index finds the oldest rows.
        const res = await client.query(
            `DELETE FROM serving.inference_log WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM serving.inference_log WHERE ts < $1::timestamptz ORDER BY ts LIMIT $2))`,
            [cutoff, batch],
        );
        const n = res.rowCount ?? 0;
        if (n === 0) break;
        deleted += n;
        batches += 1;
        progress(deleted);
    }
    return { deleted, batches, cutoff };
}

function parseDays(raw: string | undefined): number {
    const days = Number(raw);
    if (raw === undefined || raw.trim() === "" || !Number.isInteger(days) || days < 1) {
        throw new Error(`INFERENCE_LOG_RETENTION_DAYS must be a whole number of days >= 1 (got '${raw ?? ""}')`);
    }
    return days;
}

async function main(): Promise<number> {
    let days: number;
    try {
        days = parseDays(process.env.INFERENCE_LOG_RETENTION_DAYS);
        if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
    } catch (err) {
        console.error(JSON.stringify({ event: "prune_config_error", error: (err as Error).message }));
        return 2;
    }
    const client = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10_000, statement_timeout: 300_000 });
    try {
        await client.connect();
        const t0 = Date.now();
        const result = await pruneInferenceLog(client, days, (deleted) => console.log(JSON.stringify({ event: "prune_progress", deleted })));
        console.log(JSON.stringify({ event: "prune_done", table: "serving.inference_log", days, ...result, seconds: (Date.now() - t0) / 1000 }));
        return 0;
    } catch (err) {
        console.error(JSON.stringify({ event: "prune_failed", error: (err as Error).message }));
        return 1;
    } finally {
        await client.end().catch(() => {});
    }
}

if (require.main === module) {
    main().then((code) => process.exit(code));
}
