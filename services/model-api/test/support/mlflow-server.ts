import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A real MLflow tracking server on loopback: SQLite backend store, artifacts proxied
 * (`--serve-artifacts`) to a local directory. stop() and start() again keep the data, so a
 * test can take MLflow away and bring it back on the same port.
 */
export class MlflowServer {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "mapi-mlflow-"));
    private proc?: ChildProcess;

    constructor(readonly venv: string, readonly port: number) {}

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    async start(timeoutMs = 120_000): Promise<void> {
        const log = fs.openSync(path.join(this.dir, "server.log"), "a");
        this.proc = spawn(
            path.join(this.venv, "bin/mlflow"),
            [
                "server", "--host", "127.0.0.1", "--port", String(this.port), "--workers", "1",
                "--backend-store-uri", `sqlite:///${path.join(this.dir, "mlflow.db")}`,
                "--artifacts-destination", path.join(this.dir, "artifacts"), "--serve-artifacts",
            ],
            { cwd: this.dir, detached: true, stdio: ["ignore", log, log] },
        );
        fs.closeSync(log);
        const end = Date.now() + timeoutMs;
        while (Date.now() < end) {
            if (this.proc.exitCode !== null) break;
            try {
                if ((await fetch(`${this.url}/health`)).ok) return;
            } catch {
                // not listening yet
            }
            await new Promise((r) => setTimeout(r, 250));
        }
        const tail = fs.readFileSync(path.join(this.dir, "server.log"), "utf8").slice(-3000);
        await this.stop();
        throw new Error(`MLflow server did not become healthy on ${this.url}:\n${tail}`);
    }

    /** SIGTERM to the server's process group (gunicorn/uvicorn workers included), SIGKILL after 10 s. */
    async stop(): Promise<void> {
        const p = this.proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise<void>((r) => p.once("exit", () => r()));
        try {
            process.kill(-p.pid!, "SIGTERM");
        } catch {
            return;
        }
        const t = setTimeout(() => {
            try {
                process.kill(-p.pid!, "SIGKILL");
            } catch {
                // already gone
            }
        }, 10_000);
        await exited;
        clearTimeout(t);
        this.proc = undefined;
    }

    async setAlias(name: string, alias: string, version: string): Promise<void> {
        const res = await fetch(`${this.url}/api/2.0/mlflow/registered-models/alias`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ name, alias, version }),
        });
        if (!res.ok) throw new Error(`set alias ${alias} -> ${version}: ${res.status} ${await res.text()}`);
    }

    async cleanup(): Promise<void> {
        await this.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
