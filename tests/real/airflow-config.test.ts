import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSetupScript } from "../../components/postgres";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";
import { freePort, PostgresServer, startPostgres } from "../support/postgres-server";
import { resolveEnv, start, Started, venv, waitForHttp } from "../support/processes";

/**
 * The Airflow objects the program renders, fed to the pinned Airflow (the image's pins,
 * tools/python/airflow.txt): every AIRFLOW__* variable must be an option this
 * Airflow knows (not a deprecated name), the CLI must accept the rendered commands and
 * probes, `airflow db migrate` must succeed with the rendered connection string, and the
 * api-server must log the admin in with the password file from the rendered Secret.
 */
let program: LoadedProgram;
let pg: PostgresServer;
let airflowVenv: string;
let api: Started | undefined;
const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-airflow-"));
const secrets: Record<string, string> = {
    "postgres-roles/airflow": randomBytes(16).toString("hex"),
    "postgres-roles/mlops": randomBytes(16).toString("hex"),
    "redis-credentials/password": randomBytes(16).toString("hex"),
    "minio-credentials/root-user": `mlops${randomBytes(6).toString("hex")}`,
    "minio-credentials/root-password": randomBytes(16).toString("hex"),
    "minio-airflow-logs/access-key": `mlops${randomBytes(6).toString("hex")}`,
    "minio-airflow-logs/secret-key": randomBytes(16).toString("hex"),
    "airflow-credentials/fernet-key": randomBytes(32).toString("base64").replace(/\+/g, "-").replace(/\//g, "_"),
    "airflow-credentials/jwt-secret": randomBytes(32).toString("hex"),
    "airflow-credentials/api-secret-key": randomBytes(32).toString("hex"),
    "model-api-hook/token": randomBytes(32).toString("hex"),
    "mlflow-user-airflow/password": randomBytes(16).toString("hex"),
};
let env: Record<string, string>;

const container = (name: string) => k8sObject(program.recorder, "Deployment", name).spec.template.spec.containers[0];

beforeAll(async () => {
    program = await runProgram("dev");
    airflowVenv = venv("airflow");
    pg = await startPostgres();
    const setup = spawnSync("bash", ["-c", renderSetupScript(["airflow", "mlops"])], {
        encoding: "utf8",
        env: pg.env({ AIRFLOW_PASSWORD: secrets["postgres-roles/airflow"]!, MLOPS_PASSWORD: secrets["postgres-roles/mlops"]! }),
    });
    expect(setup.status, setup.stderr).toBe(0);

    // The rendered Secret's password file, where the rendered env says it is (moved under the temp home).
    const passwords = k8sObject(program.recorder, "Secret", "airflow-auth").stringData["passwords.json"];
    fs.mkdirSync(path.join(home, "auth"));
    fs.writeFileSync(path.join(home, "auth/passwords.json"), passwords);
    fs.mkdirSync(path.join(home, "dags"));
    env = resolveEnv(container("airflow-api-server").env, secrets, localize);
}, 900_000);

/** In-cluster names and paths of the rendered env, as they are on this machine. */
function localize(v: string): string {
    return (
        v
            .replace("postgres.mlops.svc.cluster.local:5432", `127.0.0.1:${pg.port}`)
            .replace("/opt/airflow/auth/", `${home}/auth/`)
            .replace(/^\/opt\/airflow\/dags$/, `${home}/dags`)
            // The exporter's Service name resolves only in the cluster; unresolvable, Airflow logs
            // an error to stdout and falls back to no metrics. Nothing listens here: UDP is fire-and-forget.
            .replace(/^statsd-exporter\.mlops\.svc\.cluster\.local$/, "127.0.0.1")
    );
}

afterAll(async () => {
    await api?.stop();
    pg?.stop();
    fs.rmSync(home, { recursive: true, force: true });
});

function airflow(args: string[], extra: Record<string, string> = {}) {
    return spawnSync(path.join(airflowVenv, "bin/airflow"), args, {
        encoding: "utf8",
        env: { PATH: `${path.join(airflowVenv, "bin")}:${process.env.PATH}`, HOME: home, AIRFLOW_HOME: home, ...env, ...extra },
        timeout: 300_000,
    });
}

describe("Airflow as rendered, against the pinned Airflow", () => {
    it("knows every AIRFLOW__* option we set, under its current (non-deprecated) name, and reads back our values", () => {
        const script = [
            "import json, os",
            "from airflow.configuration import conf",
            "conf.load_providers_configuration()",
            "deprecated = {(s, k) for (s, k, _v) in conf.deprecated_options.values()}",
            "out = {}",
            "for name in sorted(n for n in os.environ if n.startswith('AIRFLOW__')):",
            "    section, key = (p.lower() for p in name.split('__')[1:3])",
            "    known = key in conf.configuration_description.get(section, {}).get('options', {})",
            "    out[name] = {'known': known, 'deprecated': (section, key) in deprecated, 'value': conf.get(section, key)}",
            "print(json.dumps(out))",
        ].join("\n");
        const r = spawnSync(path.join(airflowVenv, "bin/python"), ["-c", script], {
            encoding: "utf8",
            env: { PATH: process.env.PATH, HOME: home, AIRFLOW_HOME: home, ...env },
        });
        expect(r.status, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, { known: boolean; deprecated: boolean; value: string }>;
        const names = Object.keys(report);
        expect(names.length).toBeGreaterThan(15);
        for (const name of names) {
            expect(report[name]!.known, `${name} is not an option of this Airflow`).toBe(true);
            expect(report[name]!.deprecated, `${name} is a deprecated name`).toBe(false);
            expect(report[name]!.value, name).toBe(env[name]);
        }
    });

    it("answers `airflow config get-value` with the rendered executor, auth manager and secrets", () => {
        const get = (section: string, key: string) => {
            const r = airflow(["config", "get-value", section, key]);
            expect(r.status, r.stderr).toBe(0);
            return r.stdout.trim();
        };
        expect(get("core", "executor")).toBe("CeleryExecutor");
        expect(get("core", "auth_manager")).toBe("airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager");
        expect(get("core", "fernet_key")).toBe(secrets["airflow-credentials/fernet-key"]);
        expect(get("api_auth", "jwt_secret")).toBe(secrets["airflow-credentials/jwt-secret"]);
        expect(get("celery", "broker_url")).toBe(`redis://:${secrets["redis-credentials/password"]}@redis.mlops.svc.cluster.local:6379/0`);
    });

    it("accepts every rendered process command and its flags", () => {
        for (const p of ["api-server", "scheduler", "dag-processor", "triggerer", "worker"]) {
            const c = container(`airflow-${p}`);
            const r = airflow([...c.command.slice(1), "--help"]);
            expect(r.status, `${c.command.join(" ")}: ${r.stderr}`).toBe(0);
            for (const flag of c.command.filter((a: string) => a.startsWith("--"))) expect(r.stdout, `${p} ${flag}`).toContain(flag);
        }
    });

    it("migrates the metadata database with the rendered connection string (the migrate Job's command), twice", () => {
        const job = k8sObject(program.recorder, "Job", "airflow-migrate").spec.template.spec.containers[0];
        expect(job.command).toEqual(["airflow", "db", "migrate"]);
        for (const round of [1, 2]) {
            const r = airflow(job.command.slice(1));
            expect(r.status, `round ${round}: ${r.stderr.slice(-3000)}`).toBe(0);
        }
        const check = airflow(["db", "check-migrations", "--migration-wait-timeout", "5"]);
        expect(check.status, check.stderr.slice(-2000)).toBe(0);
    }, 600_000);

    it("prunes metadata older than the retention with the rendered db-clean CronJob (bash, GNU date, airflow db clean) and keeps the rest", () => {
        const cronJob = k8sObject(program.recorder, "CronJob", "airflow-db-clean");
        expect(cronJob.spec.schedule).toBe("30 3 * * *");
        const c = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
        const jobEnv = resolveEnv(c.env, secrets, localize);
        expect(jobEnv.AIRFLOW_RETENTION_DAYS).toBe("90");
        const psql = (sql: string) => {
            const r = spawnSync(path.join(pg.binDir, "psql"), ["-v", "ON_ERROR_STOP=1", "-d", "airflow", "-tAc", sql], { encoding: "utf8", env: pg.env() });
            expect(r.status, r.stderr).toBe(0);
            return r.stdout.trim();
        };
        // Airflow's own audit log table, one of those `db clean` prunes: a row on each side of 90 days.
        psql("INSERT INTO log (dttm, event) VALUES (now() - interval '200 days', 'retention-old'), (now() - interval '91 days', 'retention-just-old'), (now() - interval '89 days', 'retention-recent')");
        const r = spawnSync(c.command[0], c.command.slice(1), {
            encoding: "utf8",
            env: { PATH: `${path.join(airflowVenv, "bin")}:${process.env.PATH}`, HOME: home, AIRFLOW_HOME: home, ...jobEnv },
            timeout: 300_000,
        });
        expect(r.status, r.stderr.slice(-3000)).toBe(0);
        expect(r.stdout).toMatch(/airflow db clean: deleting metadata older than \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \(90 days\)/);
        expect(psql("SELECT string_agg(event, ',' ORDER BY event) FROM log WHERE event LIKE 'retention-%'")).toBe("retention-recent");
        // --skip-archive: no _airflow_deleted__* copies left to fill the volume.
        expect(psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE '_airflow_deleted__%'")).toBe("0");
    }, 300_000);

    it("runs the dag-processor and triggerer probes as rendered: they parse and report that no such job is alive yet", () => {
        for (const p of ["dag-processor", "triggerer"]) {
            const probe: string[] = container(`airflow-${p}`).livenessProbe.exec.command;
            expect(probe[0]).toBe("airflow");
            const r = airflow(probe.slice(1));
            // Exit 1 with this message is the probe working on a cluster where the process is not up;
            // an argument error would be exit 2.
            expect(r.status, `${probe.join(" ")}: ${r.stderr.slice(-2000)}`).toBe(1);
            expect(r.stdout + r.stderr).toContain("No alive jobs found.");
        }
    }, 120_000);

    it("logs the admin in with the generated password from the rendered Secret (SimpleAuthManager)", async () => {
        const c = container("airflow-api-server");
        const port = await freePort();
        const args = [...c.command.slice(1)];
        args[args.indexOf("--port") + 1] = String(port);
        api = start(path.join(airflowVenv, "bin/airflow"), [...args, "--host", "127.0.0.1"], {
            PATH: `${path.join(airflowVenv, "bin")}:${process.env.PATH}`,
            HOME: home,
            AIRFLOW_HOME: home,
            ...env,
        });
        const base = `http://127.0.0.1:${port}`;
        await waitForHttp(`${base}${c.readinessProbe.httpGet.path}`, api, 240_000);
        const password = JSON.parse(fs.readFileSync(path.join(home, "auth/passwords.json"), "utf8")).admin;
        const good = await fetch(`${base}/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password }) });
        expect(good.status).toBeLessThan(300);
        const token = ((await good.json()) as { access_token: string }).access_token;
        expect(token).toBeTruthy();
        const me = await fetch(`${base}/api/v2/dags?limit=1`, { headers: { authorization: `Bearer ${token}` } });
        expect(me.status).toBe(200);
        const bad = await fetch(`${base}/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "not-the-password" }) });
        expect(bad.status).toBeGreaterThanOrEqual(400);
    }, 300_000);
});
