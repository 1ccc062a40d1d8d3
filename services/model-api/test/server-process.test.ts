import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../tests/support/postgres-server";
import { post, provided, SEED_PAYLOADS, waitFor } from "./support/helpers";

const server = path.join(__dirname, "../dist/src/server.js");

/** The built server as a real process (what the image runs): JSON logs, graceful SIGTERM, config errors. */
describe("dist/src/server.js as a process", () => {
    it("exists (npm run build -w services/model-api)", () => {
        expect(fs.existsSync(server), `${server} missing: build first`).toBe(true);
    });

    it("logs JSON, serves, and on SIGTERM finishes in-flight requests and exits 0", async () => {
        const port = await freePort();
        const proc = spawn(process.execPath, [server], {
            env: { PATH: process.env.PATH, MODEL_PATH: provided("fixtures").v1, PORT: String(port), HOST: "127.0.0.1" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        proc.stdout.on("data", (d) => (out += d));
        proc.stderr.on("data", (d) => (out += d));
        const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
        try {
            const url = `http://127.0.0.1:${port}`;
            await waitFor("ready", async () => (await fetch(`${url}/ready`)).status === 200, 20_000);
            expect((await post(`${url}/predict`, SEED_PAYLOADS[0])).status).toBe(200);
            // An in-flight request: headers and half the body sent, then SIGTERM, then the rest.
            const body = Buffer.from(JSON.stringify({ instances: Array(100).fill(SEED_PAYLOADS[1]!.features) }));
            const req = http.request(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json", "content-length": body.length } });
            const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
                req.on("response", (res) => {
                    let text = "";
                    res.on("data", (d) => (text += d));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
                });
                req.on("error", reject);
            });
            req.write(body.subarray(0, 100));
            await new Promise((r) => setTimeout(r, 300));
            proc.kill("SIGTERM");
            await new Promise((r) => setTimeout(r, 300));
            req.end(body.subarray(100));
            const r = await answer;
            expect(r.status).toBe(200);
            expect(JSON.parse(r.text).prices).toHaveLength(100);
            expect(await exited).toBe(0);
            const lines = out.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
            expect(lines.some((l) => l.event === "model_loaded" && l.version === "local")).toBe(true);
            expect(lines.some((l) => l.event === "shutdown" && l.signal === "SIGTERM")).toBe(true);
        } finally {
            if (proc.exitCode === null) proc.kill("SIGKILL");
        }
    });

    it("refuses to start on invalid configuration, naming the variables", () => {
        const r = spawnSync(process.execPath, [server], { env: { PATH: process.env.PATH, PORT: "x" }, encoding: "utf8", timeout: 20_000 });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("'MLFLOW_TRACKING_URI' is required");
        expect(r.stderr).toContain("'PORT' must be an integer >= 0 (got 'x')");
    });
});
