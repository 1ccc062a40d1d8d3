import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { Client } from "pg";
import { startPostgres, type PostgresServer } from "../../../../tests/support/postgres-server";
import { migrate } from "../../src/migrate";

/** A real Postgres with the platform's `mlops` database (UTF8, as the cluster's), for the inference log tests. */
export interface MlopsDatabase {
    readonly pg: PostgresServer;
    readonly dsn: string;
    /** One statement on a fresh connection; the rows. */
    query(sql: string, params?: unknown[]): Promise<any[]>;
    /** Brings the database to the latest migration, as the model API does before its first write; the names applied. */
    migrate(): Promise<string[]>;
}

/** `sql` on a fresh connection to `dsn`; the rows. */
export async function queryOn(dsn: string, sql: string, params: unknown[] = []): Promise<any[]> {
    const c = new Client({ connectionString: dsn });
    await c.connect();
    try {
        return (await c.query(sql, params)).rows;
    } finally {
        await c.end();
    }
}

/** Runs the model API's migrations on a connection of their own to `dsn`. */
export async function migrateOn(dsn: string, opts: Parameters<typeof migrate>[1] = {}): Promise<string[]> {
    const c = new Client({ connectionString: dsn });
    await c.connect();
    try {
        return await migrate(c, opts);
    } finally {
        await c.end();
    }
}

/**
 * A database `name` owned by a login role of the same name, and that role's DSN: the cluster's
 * layout (the setup Job makes role `mlops` own database `mlops`), so migrations run without
 * superuser rights, as they do there.
 */
export function createOwnedDatabase(pg: PostgresServer, name: string): string {
    const password = `pw-${name}`;
    execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", `CREATE ROLE ${name} LOGIN PASSWORD '${password}'`], { env: pg.env() });
    execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", `CREATE DATABASE ${name} OWNER ${name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`], { env: pg.env() });
    return `postgresql://${name}:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/${name}`;
}

export async function startMlopsDatabase(): Promise<MlopsDatabase> {
    const pg = await startPostgres();
    execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE mlops ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"], { env: pg.env() });
    const dsn = `postgresql://postgres:${encodeURIComponent(pg.superuserPassword)}@127.0.0.1:${pg.port}/mlops`;
    return { pg, dsn, query: (sql, params) => queryOn(dsn, sql, params), migrate: () => migrateOn(dsn) };
}

/**
 * A login role `role` that may only CONNECT to database `database`, as the platform's Postgres
 * setup Job creates the services' roles (components/postgres.ts); its DSN. Its table grants come
 * from the migrate step (src/migrate.ts grantRuntimeRole).
 */
export function createServiceRole(pg: PostgresServer, role: string, database: string): string {
    const password = `pw-${role}`;
    const psql = (sql: string) => execFileSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-qc", sql], { env: pg.env() });
    psql(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    psql(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);
    psql(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    return `postgresql://${role}:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/${database}`;
}
