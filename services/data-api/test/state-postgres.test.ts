import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../../tests/support/postgres-server.js";
import { grantRuntimeRole, migrate } from "../src/migrate.js";
import { createOwnedDatabase, createServiceRole, startDataApi, type Running } from "./helpers.js";

// The Postgres state backend against a real, throw-away PostgreSQL server, laid out as the
// platform lays it out: database `mlops` owned by role `mlops`, which migrates and grants (the
// migrate init container), and the API logged in as `data_api`, which only uses the counters.
let server: PostgresServer;
let databaseUrl: string;
beforeAll(async () => {
    server = await startPostgres();
    const owner = createOwnedDatabase(server, "mlops");
    databaseUrl = createServiceRole(server, "data_api", "mlops");
    const c = new pg.Client({ connectionString: owner });
    await c.connect();
    try {
        await migrate(c);
        await grantRuntimeRole(c, "data_api");
    } finally {
        await c.end();
    }
});
afterAll(() => server?.stop());

const env = () => ({ DATA_API_STATE_BACKEND: "postgres", DATA_API_DATABASE_URL: databaseUrl, DATA_API_DB_MIGRATE: "false", DATA_API_BATCH_SIZE: "2", DATA_API_INTERVAL_SECONDS: "0" });

describe("postgres state backend, as the data_api role", () => {
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

describe("postgres state backend, as the data_api role, with migrations left on", () => {
    // Why the platform sets DATA_API_DB_MIGRATE=false for this role: it may not even look for the version table.
    it("answers every call 503 (nothing served): the role may not migrate", async () => {
        const api = await startDataApi({ ...env(), DATA_API_DB_MIGRATE: "true", DATA_API_BATCHES: "3" });
        try {
            const r = await api.get("/data?group_number=2&day=Tuesday");
            expect([r.status, r.body.code]).toEqual([503, "state_unavailable"]);
            expect(r.body.detail).toContain("permission denied for schema public");
        } finally {
            await api.close();
        }
    });
});
