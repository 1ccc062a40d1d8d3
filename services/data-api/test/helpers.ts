import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import type { PostgresServer } from "../../../tests/support/postgres-server.js";
import { buildApp } from "../src/app.js";
import { loadConfig, type DataApiConfig } from "../src/config.js";

export interface Running {
    readonly url: string;
    readonly app: FastifyInstance;
    readonly config: DataApiConfig;
    get(pathAndQuery: string): Promise<{ status: number; body: any }>;
    close(): Promise<void>;
}

export function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "data-api-test-"));
}

/** A real data API on a free loopback port, configured through the same env variables as in production. */
export async function startDataApi(env: Record<string, string>): Promise<Running> {
    const config = loadConfig({ DATA_API_STATE_FILE: path.join(tempDir(), "state.json"), DATA_API_LOG_LEVEL: "warn", ...env });
    const app = await buildApp(config, { logger: false });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const addr = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${addr.port}`;
    return {
        url,
        app,
        config,
        async get(p) {
            const res = await fetch(url + p);
            const text = await res.text();
            let body: any = text;
            try {
                body = JSON.parse(text);
            } catch {
                // not JSON (/metrics)
            }
            return { status: res.status, body };
        },
        close: () => app.close(),
    };
}

/**
 * Stops and starts again, in place (same data, port and socket directory), a throw-away server
 * from tests/support/postgres-server.ts, whose own stop() also deletes its data. The start options
 * repeat that harness's; it is the place for this once it grows a restart of its own.
 */
export function postgresControl(pg: PostgresServer): { stop(): void; start(): void } {
    const data = execFileSync(path.join(pg.binDir, "psql"), ["-Atc", "SHOW data_directory"], { env: pg.env(), encoding: "utf8" }).trim();
    const dir = path.dirname(data);
    const pgCtl = (args: string[]) => {
        const cmd = path.join(pg.binDir, "pg_ctl");
        // Postgres refuses to run as root; the harness runs it as the postgres system user then.
        const [c, a] = process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
        execFileSync(c, a, { stdio: ["ignore", "ignore", "pipe"] });
    };
    return {
        stop: () => pgCtl(["-D", data, "-m", "fast", "-w", "stop"]),
        start: () =>
            pgCtl(["-D", data, "-l", path.join(dir, "log"), "-w", "-t", "60", "-o", `-p ${pg.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"]),
    };
}

/** `sql` on a fresh connection to `dsn`; the rows. */
export async function queryOn(dsn: string, sql: string, params: unknown[] = []): Promise<any[]> {
    const c = new pg.Client({ connectionString: dsn });
    await c.connect();
    try {
        return (await c.query(sql, params)).rows;
    } finally {
        await c.end();
    }
}

/**
 * A database `name` owned by a login role of the same name, and that role's URL: the cluster's
 * layout (the setup Job makes role `mlops` own database `mlops`), so migrations run without
 * superuser rights, as they do there.
 */
export function createOwnedDatabase(server: PostgresServer, name: string): string {
    const password = `pw-${name}`;
    const psql = (sql: string) => execFileSync(path.join(server.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", sql], { env: server.env() });
    psql(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
    psql(`CREATE DATABASE ${name} OWNER ${name} ENCODING 'UTF8' TEMPLATE template0`);
    return `postgres://${name}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${name}`;
}

/**
 * A login role `role` that may only CONNECT to database `database`, as the platform's Postgres
 * setup Job creates the services' roles (components/postgres.ts); its URL. Its table grants come
 * from the migrate step (src/migrate.ts grantRuntimeRole).
 */
export function createServiceRole(server: PostgresServer, role: string, database: string): string {
    const password = `pw-${role}`;
    const psql = (sql: string) => execFileSync(path.join(server.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", sql], { env: server.env() });
    psql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    psql(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
    psql(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    return `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${database}`;
}
