import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
export { freePort } from "../../../../tests/support/ports.js";
import { freePort } from "../../../../tests/support/ports.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");


export interface Proc {
    readonly url: string;
    readonly child: ChildProcess;
    log(): string;
    stop(): Promise<void>;
}

/** Starts a server process and waits until `healthPath` answers 200; its output is kept for failure messages. */
export async function startProcess(name: string, cmd: string, args: string[], env: Record<string, string>, port: number, healthPath: string, timeoutMs = 60_000): Promise<Proc> {
    // Own process group, so stop() also reaches what the server forks (mlflow runs uvicorn as a child).
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.tmpdir(), ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    // The test script's exit trap stops whatever is listed here, should this process die first.
    if (process.env.UI_TEST_PIDFILE) fs.appendFileSync(process.env.UI_TEST_PIDFILE, `${child.pid}\n`);
    const signalGroup = (sig: NodeJS.Signals) => {
        try {
            process.kill(-child.pid!, sig);
        } catch {
            // group already gone
        }
    };
    let out = "";
    child.stdout!.on("data", (d) => (out = (out + d).slice(-20_000)));
    child.stderr!.on("data", (d) => (out = (out + d).slice(-20_000)));
    const url = `http://127.0.0.1:${port}`;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const proc: Proc = {
        url,
        child,
        log: () => out,
        async stop() {
            if (child.exitCode === null && child.signalCode === null) {
                signalGroup("SIGTERM");
                const timer = setTimeout(() => signalGroup("SIGKILL"), 10_000);
                await exited;
                clearTimeout(timer);
            }
            signalGroup("SIGKILL"); // children that outlived their parent
        },
    };
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before answering:\n${out}`);
        try {
            if ((await fetch(url + healthPath)).ok) return proc;
        } catch {
            // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    await proc.stop();
    throw new Error(`${name} did not answer ${healthPath} within ${timeoutMs} ms:\n${out}`);
}

function built(rel: string): string {
    const file = path.join(repoRoot, rel);
    if (!fs.existsSync(file)) throw new Error(`${rel} not found: build it first (scripts/test.d/30-ui.sh does)`);
    return file;
}

/** The real data API, built (services/data-api/dist), as a process. */
export async function startDataApi(env: Record<string, string>): Promise<Proc> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ui-data-api-"));
    return startProcess("data-api", process.execPath, [built("services/data-api/dist/server.js")], {
        DATA_API_HOST: "127.0.0.1", DATA_API_PORT: String(port), DATA_API_STATE_FILE: path.join(dir, "state.json"), DATA_API_LOG_LEVEL: "warn", ...env,
    }, port, "/health");
}

/** The UI server, built (services/ui/dist), as a process. */
export async function startUi(env: { MODEL_API_URL: string; MLFLOW_URL: string; DATA_API_URL: string; MODEL_NAME?: string }): Promise<Proc> {
    const port = await freePort();
    return startProcess("ui", process.execPath, [built("services/ui/dist/server.js")], { UI_HOST: "127.0.0.1", UI_PORT: String(port), UI_LOG_LEVEL: "warn", UI_UPSTREAM_TIMEOUT_MS: "3000", ...env }, port, "/health");
}

/** The MLflow venv (tools/python/venv.sh mlflow); $MLFLOW_VENV when the caller built it already. */
export function mlflowVenv(): string {
    if (process.env.MLFLOW_VENV) return process.env.MLFLOW_VENV;
    return execFileSync("bash", [path.join(repoRoot, "tools/python/venv.sh"), "mlflow"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

/** A real MLflow tracking server + registry (SQLite backend, artifacts served from a temp dir). */
export async function startMlflow(): Promise<Proc & { venv: string; dir: string }> {
    const venv = mlflowVenv();
    const mlflow = path.join(venv, "bin", "mlflow");
    if (!fs.existsSync(mlflow)) throw new Error(`${mlflow} missing: the mlflow venv is broken`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ui-mlflow-"));
    const port = await freePort();
    const proc = await startProcess(
        "mlflow",
        mlflow,
        ["server", "--host", "127.0.0.1", "--port", String(port), "--workers", "1",
         "--backend-store-uri", `sqlite:///${path.join(dir, "mlflow.db")}`, "--serve-artifacts", "--artifacts-destination", path.join(dir, "artifacts")],
        { MLFLOW_HOME: dir },
        port,
        "/health",
        150_000,
    );
    const stopServer = proc.stop;
    return Object.assign(proc, {
        venv,
        dir,
        async stop() {
            await stopServer();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    });
}

/**
 * Registers versions of `name` with metrics via the mlflow Python client (test/support/seed_mlflow.py);
 * with `modelDir`, each version holds that model.onnx + feature_spec.json, so a real model API can serve it.
 */
export function seedMlflow(venv: string, trackingUri: string, name: string, modelDir?: string): { version: string; run_name: string; metrics: Record<string, number> }[] {
    const args = [path.join(repoRoot, "services/ui/test/support/seed_mlflow.py"), name, ...(modelDir ? ["--model-dir", modelDir] : [])];
    const out = execFileSync(path.join(venv, "bin", "python"), args, {
        encoding: "utf8",
        env: { ...process.env, MLFLOW_TRACKING_URI: trackingUri, GIT_PYTHON_REFRESH: "quiet" },
        stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out.trim().split("\n").pop()!);
}

/**
 * A real ONNX model of the training pipeline's shape, made by the model API's own fixture
 * generator (services/model-api/test/fixtures/make_model.py, venv `pipeline`), cached by its hash.
 */
export function fixtureModel(): string {
    const script = path.join(repoRoot, "services/model-api/test/fixtures/make_model.py");
    if (!fs.existsSync(script)) throw new Error(`${script} not found: the real model API's fixture generator is needed`);
    const key = createHash("sha256").update(fs.readFileSync(script)).update(fs.readFileSync(path.join(repoRoot, "config/feature-spec.example.json"))).digest("hex").slice(0, 12);
    const dir = path.join(process.env.MLOPS_CACHE_DIR ?? path.join(os.homedir(), ".cache/mlops-platform"), "ui-fixture-model", key);
    if (!fs.existsSync(path.join(dir, ".complete"))) {
        const venv = execFileSync("bash", [path.join(repoRoot, "tools/python/venv.sh"), "pipeline"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
        execFileSync(path.join(venv, "bin/python"), [script, "--out", dir, "--seed", "1", "--trees", "30"], { stdio: ["ignore", "inherit", "inherit"] });
        fs.writeFileSync(path.join(dir, ".complete"), "");
    }
    return dir;
}

/** The real model API (services/model-api, built), resolving the alias `production` in `mlflowUrl`. */
export async function startRealModelApi(mlflowUrl: string): Promise<Proc> {
    const port = await freePort();
    return startProcess("model-api", process.execPath, [built("services/model-api/dist/src/server.js")], {
        HOST: "127.0.0.1", PORT: String(port), MLFLOW_TRACKING_URI: mlflowUrl, LOG_LEVEL: "warn", MODEL_POLL_INTERVAL_SECONDS: "2",
    }, port, "/ready", 60_000);
}
