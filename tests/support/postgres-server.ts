import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
export { freePort } from "./ports";
import { freePort } from "./ports";

/**
 * A real, throw-away PostgreSQL server on loopback for tests: initdb into a temp dir,
 * pg_ctl start on a free port, scram-sha-256 auth, stopped and removed by `stop()`.
 * Needs the server binaries (Debian: postgresql); fails loudly if they are missing.
 */
export interface PostgresServer {
    readonly host: string;
    readonly port: number;
    readonly superuserPassword: string;
    /** Directory holding initdb, pg_ctl, psql, pg_isready. */
    readonly binDir: string;
    /** libpq environment for the superuser. */
    env(extra?: Record<string, string>): NodeJS.ProcessEnv;
    stop(): void;
}

export function postgresBinDir(): string {
    const candidates: string[] = [];
    if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
    try {
        candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim());
    } catch {
        // pg_config missing: fall through to the error below
    }
    const found = candidates.find((dir) => fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl")));
    if (!found) {
        throw new Error(
            "PostgreSQL server binaries not found (looked in $PG_BIN and `pg_config --bindir`): install the postgresql package; .ci/run does",
        );
    }
    return found;
}


/** initdb and postgres refuse to run as root; as root, run them as the `postgres` system user. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
    return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[]): void {
    const [c, a] = asServerUser(cmd, args);
    const r = spawnSync(c, a, { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
    }
}

export async function startPostgres(): Promise<PostgresServer> {
    const binDir = postgresBinDir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-pg-"));
    const superuserPassword = `test-${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(path.join(dir, "pw"), superuserPassword);
    if (process.getuid?.() === 0) {
        execFileSync("chown", ["-R", "postgres:postgres", dir]);
    }
    const data = path.join(dir, "data");
    run(path.join(binDir, "initdb"), ["-D", data, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${path.join(dir, "pw")}`, "--no-sync"]);
    const port = await freePort();
    run(path.join(binDir, "pg_ctl"), [
        "-D", data, "-l", path.join(dir, "log"), "-w", "-t", "60",
        "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        "start",
    ]);
    return {
        host: "127.0.0.1",
        port,
        superuserPassword,
        binDir,
        env(extra = {}) {
            return {
                PATH: `${binDir}:${process.env.PATH}`,
                PGHOST: "127.0.0.1",
                PGPORT: String(port),
                PGUSER: "postgres",
                PGPASSWORD: superuserPassword,
                PGDATABASE: "postgres",
                ...extra,
            };
        },
        stop() {
            try {
                run(path.join(binDir, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}
