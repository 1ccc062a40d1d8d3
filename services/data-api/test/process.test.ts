import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./helpers.js";
import { freePort } from "../../../tests/support/ports.js";

// The built server (`npm run build`), as the container runs it: a real process, real signals.
const server = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/server.js");


const children: ChildProcess[] = [];
afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

async function startProcess(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; exited: Promise<number | null> }> {
    if (!fs.existsSync(server)) throw new Error(`${server} not found: run \`npm run build -w services/data-api\` first`);
    const port = await freePort();
    const child = spawn(process.execPath, [server], {
        env: { PATH: process.env.PATH, DATA_API_HOST: "127.0.0.1", DATA_API_PORT: String(port), DATA_API_LOG_LEVEL: "warn", ...env },
        stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
        if (child.exitCode !== null) throw new Error(`data-api exited with ${child.exitCode}`);
        try {
            if ((await fetch(`${url}/health`)).ok) return { url, child, exited };
        } catch {
            // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("data-api did not answer /health within 10 s");
}

describe("the data-api process", () => {
    it("keeps its batch counters across a restart (file state) and exits 0 on SIGTERM", async () => {
        const env = { DATA_API_STATE_FILE: path.join(tempDir(), "state.json"), DATA_API_BATCHES: "4", DATA_API_BATCH_SIZE: "3", DATA_API_INTERVAL_SECONDS: "0" };
        const first = await startProcess(env);
        const b1 = await (await fetch(`${first.url}/data?group_number=1&day=Tuesday`)).json() as any;
        const b2 = await (await fetch(`${first.url}/data?group_number=1&day=Tuesday`)).json() as any;
        expect([b1.batch_number, b2.batch_number]).toEqual([1, 2]);
        first.child.kill("SIGTERM");
        expect(await first.exited).toBe(0);

        const second = await startProcess(env);
        const b3 = await (await fetch(`${second.url}/data?group_number=1&day=Tuesday`)).json() as any;
        expect(b3.batch_number).toBe(3);
        second.child.kill("SIGTERM");
        expect(await second.exited).toBe(0);
    });

    it("refuses to start on bad configuration, naming every bad variable", async () => {
        const child = spawn(process.execPath, [server], {
            env: { PATH: process.env.PATH, DATA_API_BATCHES: "0", DATA_API_STATE_BACKEND: "postgres", DATA_API_DB_STATEMENT_TIMEOUT_MS: "0", DATA_API_DB_MIGRATE: "no" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        children.push(child);
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
        expect(code).not.toBe(0);
        expect(stderr).toContain("'DATA_API_BATCHES' must be an integer >= 1 (got '0')");
        expect(stderr).toContain("'DATA_API_DATABASE_URL' is required when DATA_API_STATE_BACKEND=postgres");
        expect(stderr).toContain("'DATA_API_DB_STATEMENT_TIMEOUT_MS' must be an integer >= 1 (got '0')");
        expect(stderr).toContain("'DATA_API_DB_MIGRATE' must be 'true' or 'false'");
    });
});
