import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../../tests/support/postgres-server.js";
import { startDataApi, type Running } from "./helpers.js";

// The Postgres state backend against a real, throw-away PostgreSQL server.
let pg: PostgresServer;
let databaseUrl: string;
beforeAll(async () => {
    pg = await startPostgres();
    databaseUrl = `postgres://postgres:${encodeURIComponent(pg.superuserPassword)}@127.0.0.1:${pg.port}/postgres`;
});
afterAll(() => pg?.stop());

const env = () => ({ DATA_API_STATE_BACKEND: "postgres", DATA_API_DATABASE_URL: databaseUrl, DATA_API_BATCH_SIZE: "2", DATA_API_INTERVAL_SECONDS: "0" });

describe("postgres state backend", () => {
    it("two replicas on one database: 50 parallel calls split across them get 1..50, none skipped or repeated", async () => {
        const a = await startDataApi({ ...env(), DATA_API_BATCHES: "60" });
        const b = await startDataApi({ ...env(), DATA_API_BATCHES: "60" });
        try {
            const calls = Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).get("/data?group_number=7&day=Tuesday"));
            const results = await Promise.all(calls);
            expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
            expect(results.map((r) => r.body.batch_number).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        } finally {
            await a.close();
            await b.close();
        }
    });

    it("the counter survives a restart, /restart_data_generation resets it, and the end is a 400", async () => {
        let api: Running = await startDataApi({ ...env(), DATA_API_BATCHES: "3" });
        expect((await api.get("/data?group_number=8&day=Wednesday")).body.batch_number).toBe(1);
        expect((await api.get("/data?group_number=8&day=Wednesday")).body.batch_number).toBe(2);
        await api.close();
        api = await startDataApi({ ...env(), DATA_API_BATCHES: "3" });
        try {
            expect((await api.get("/data?group_number=8&day=Wednesday")).body.batch_number).toBe(3);
            const end = await api.get("/data?group_number=8&day=Wednesday");
            expect(end.status).toBe(400);
            expect(end.body.code).toBe("no_more_data");
            expect((await api.get("/restart_data_generation?group_number=8&day=Wednesday")).status).toBe(200);
            expect((await api.get("/data?group_number=8&day=Wednesday")).body.batch_number).toBe(1);
        } finally {
            await api.close();
        }
    });

    it("honours the interval with the database clock", async () => {
        const api = await startDataApi({ ...env(), DATA_API_BATCHES: "5", DATA_API_INTERVAL_SECONDS: "1" });
        try {
            expect((await api.get("/data?group_number=9&day=Tuesday")).body.batch_number).toBe(1);
            expect((await api.get("/data?group_number=9&day=Tuesday")).body.batch_number).toBe(1);
            await new Promise((r) => setTimeout(r, 1100));
            expect((await api.get("/data?group_number=9&day=Tuesday")).body.batch_number).toBe(2);
        } finally {
            await api.close();
        }
    });
});
