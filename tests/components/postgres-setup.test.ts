import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSetupScript } from "../../components/postgres";
import { PostgresServer, startPostgres } from "../support/postgres-server";

/**
 * The setup Job's script, run for real against a PostgreSQL server: exactly what the Job
 * executes in the cluster, with the same environment variable names.
 */
let pg: PostgresServer;
beforeAll(async () => {
    pg = await startPostgres();
});
afterAll(() => pg?.stop());

const DATABASES = ["airflow", "mlflow", "mlops"];
const script = renderSetupScript(DATABASES);

function setup(passwords: Record<string, string>) {
    return spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        env: pg.env(Object.fromEntries(DATABASES.map((db) => [`${db.toUpperCase()}_PASSWORD`, passwords[db]!]))),
    });
}

function psql(sql: string, user = "postgres", password = pg.superuserPassword, database = "postgres") {
    return spawnSync("psql", ["-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], {
        encoding: "utf8",
        env: pg.env({ PGUSER: user, PGPASSWORD: password, PGDATABASE: database }),
    });
}

const first = { airflow: "a1aaaaaaaaaaaaaa", mlflow: "m1mmmmmmmmmmmmmm", mlops: "o1oooooooooooooo" };

describe("the Postgres setup script against a real server", () => {
    it("creates each database owned by its own role", () => {
        const r = setup(first);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain("databases ready: airflow, mlflow, mlops");
        const owners = psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('airflow','mlflow','mlops') ORDER BY 1");
        expect(owners.stdout.trim().split("\n")).toEqual(["airflow:airflow", "mlflow:mlflow", "mlops:mlops"]);
    });

    it("lets each role log in and create tables in its own database only", () => {
        expect(psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1);", "mlflow", first.mlflow, "mlflow").status).toBe(0);
        const foreign = psql("SELECT 1", "mlflow", first.mlflow, "airflow");
        expect(foreign.status).not.toBe(0);
        expect(foreign.stderr).toContain('permission denied for database "airflow"');
    });

    it("is a no-op when re-run: no error, no duplicates, data kept", () => {
        const r = setup(first);
        expect(r.status, r.stderr).toBe(0);
        expect(psql("SELECT count(*) FROM pg_database WHERE datname IN ('airflow','mlflow','mlops')").stdout.trim()).toBe("3");
        expect(psql("SELECT count(*) FROM pg_roles WHERE rolname IN ('airflow','mlflow','mlops')").stdout.trim()).toBe("3");
        expect(psql("SELECT count(*) FROM t", "mlflow", first.mlflow, "mlflow").stdout.trim()).toBe("1");
    });

    it("rotates a password: the new one works, the old one is refused", () => {
        const rotated = { ...first, mlflow: "m2mmmmmmmmmmmmmm" };
        const r = setup(rotated);
        expect(r.status, r.stderr).toBe(0);
        expect(psql("SELECT count(*) FROM t", "mlflow", rotated.mlflow, "mlflow").stdout.trim()).toBe("1");
        const old = psql("SELECT 1", "mlflow", first.mlflow, "mlflow");
        expect(old.status).not.toBe(0);
        expect(old.stderr).toContain('password authentication failed for user "mlflow"');
    });

    it("keeps passwords off every command line: psql reads them from its environment", async () => {
        const { renderSetupScript } = await import("../../components/postgres");
        const script = renderSetupScript([...DATABASES]);
        const psqlLine = script.split("\n").find((l) => l.startsWith("psql "))!;
        expect(psqlLine).toBe("psql -v ON_ERROR_STOP=1 --no-psqlrc <<'SQL'");
        expect(script).not.toMatch(/\$\{?[A-Z_]*PASSWORD/);
        for (const db of DATABASES) {
            expect(script).toContain(`\\getenv ${db}_password ${db.toUpperCase()}_PASSWORD`);
        }
    });

    it("passes passwords as data, never as SQL", () => {
        const hostile = { ...first, mlops: "x'; DROP DATABASE airflow; --" };
        const r = setup(hostile);
        expect(r.status, r.stderr).toBe(0);
        expect(psql("SELECT count(*) FROM pg_database WHERE datname = 'airflow'").stdout.trim()).toBe("1");
        expect(psql("SELECT 1", "mlops", hostile.mlops, "mlops").stdout.trim()).toBe("1");
    });
});
