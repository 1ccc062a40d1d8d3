import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { Client } from "pg";
import { startPostgres, type PostgresServer } from "../../../../tests/support/postgres-server";

/** A real Postgres with the platform's `mlops` database (UTF8, as the cluster's), for the inference log tests. */
export interface MlopsDatabase {
    readonly pg: PostgresServer;
    readonly dsn: string;
    /** One statement on a fresh connection; the rows. */
    query(sql: string, params?: unknown[]): Promise<any[]>;
}

export async function startMlopsDatabase(): Promise<MlopsDatabase> {
    const pg = await startPostgres();
    execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE mlops ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"], { env: pg.env() });
    const dsn = `postgresql://postgres:${encodeURIComponent(pg.superuserPassword)}@127.0.0.1:${pg.port}/mlops`;
    const query = async (sql: string, params: unknown[] = []) => {
        const c = new Client({ connectionString: dsn });
        await c.connect();
        try {
            return (await c.query(sql, params)).rows;
        } finally {
            await c.end();
        }
    };
    return { pg, dsn, query };
}
