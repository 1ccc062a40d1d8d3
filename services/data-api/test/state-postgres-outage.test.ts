import * as net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../../tests/support/postgres-server.js";
import { postgresControl, startDataApi } from "./helpers.js";

// The Postgres state backend when Postgres goes away: a clear 503 at once, no crash, no hang,
// and the next call after Postgres is back works. Real server, stopped and started in place.
let server: PostgresServer;
let databaseUrl: string;
beforeAll(async () => {
    server = await startPostgres();
    databaseUrl = `postgres://postgres:${encodeURIComponent(server.superuserPassword)}@127.0.0.1:${server.port}/postgres`;
});
afterAll(() => server?.stop());

const env = (url: string) => ({
    DATA_API_STATE_BACKEND: "postgres",
    DATA_API_DATABASE_URL: url,
    DATA_API_BATCH_SIZE: "2",
    DATA_API_BATCHES: "10",
    DATA_API_INTERVAL_SECONDS: "0",
    DATA_API_DB_CONNECT_TIMEOUT_MS: "1000",
    DATA_API_DB_STATEMENT_TIMEOUT_MS: "1000",
});

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const t = Date.now();
    const value = await fn();
    return { value, ms: Date.now() - t };
}

describe("postgres state backend: outages", () => {
    it("Postgres restarted: 503 state_unavailable while it is down, the next call after it is back serves the next batch", async () => {
        const api = await startDataApi(env(databaseUrl));
        const control = postgresControl(server);
        try {
            expect((await api.get("/data?group_number=1&day=Tuesday")).body.batch_number).toBe(1);
            // The pool now holds idle connections; a fast shutdown terminates them under it.
            control.stop();
            for (const route of ["/data?group_number=1&day=Tuesday", "/restart_data_generation?group_number=1&day=Tuesday"]) {
                const { value: r, ms } = await timed(() => api.get(route));
                expect(r.status, route).toBe(503);
                expect(r.body.code).toBe("state_unavailable");
                expect(r.body.detail).toMatch(/Postgres/);
                expect(ms).toBeLessThan(3_000);
            }
            expect((await api.get("/health")).status).toBe(200);
            const metrics = (await api.get("/metrics")).body as string;
            expect(metrics).toMatch(/data_api_requests_total\{route="\/data",status="503"\} 1/);
            control.start();
            const back = await api.get("/data?group_number=1&day=Tuesday");
            expect(back.status, JSON.stringify(back.body)).toBe(200);
            expect(back.body.batch_number).toBe(2);
        } finally {
            await api.close();
        }
    });

    it("a database that accepts the connection and never answers: 503 after the connect timeout, not a hang", async () => {
        const sockets: net.Socket[] = [];
        const silent = net.createServer((s) => sockets.push(s));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const port = (silent.address() as net.AddressInfo).port;
        const api = await startDataApi(env(`postgres://u:p@127.0.0.1:${port}/db`));
        try {
            const { value: r, ms } = await timed(() => api.get("/data?group_number=1&day=Tuesday"));
            expect(r.status).toBe(503);
            expect(r.body.code).toBe("state_unavailable");
            expect(ms).toBeGreaterThanOrEqual(900);
            expect(ms).toBeLessThan(3_000);
        } finally {
            await api.close();
            for (const s of sockets) s.destroy();
            silent.close();
        }
    });

    it("a statement stuck behind a lock: 503 after the statement timeout; the counter is untouched", async () => {
        const api = await startDataApi(env(databaseUrl));
        const holder = new pg.Client({ connectionString: databaseUrl });
        await holder.connect();
        try {
            expect((await api.get("/data?group_number=2&day=Tuesday")).body.batch_number).toBe(1);
            await holder.query("BEGIN");
            await holder.query("SELECT * FROM data_api_batch_state WHERE group_number = 2 AND day = 'Tuesday' FOR UPDATE");
            const { value: r, ms } = await timed(() => api.get("/data?group_number=2&day=Tuesday"));
            expect(r.status).toBe(503);
            expect(r.body.code).toBe("state_unavailable");
            expect(ms).toBeGreaterThanOrEqual(900);
            expect(ms).toBeLessThan(3_000);
            await holder.query("ROLLBACK");
            expect((await api.get("/data?group_number=2&day=Tuesday")).body.batch_number).toBe(2);
        } finally {
            await holder.end();
            await api.close();
        }
    });
});
