import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp, ErrorCode } from "../src/app.js";
import { loadConfig } from "../src/config.js";

/**
 * The UI's side of MLflow's auth app: /api/models asks MLflow with HTTP basic auth from
 * MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD. Against a stand-in that answers like
 * MLflow's basic-auth app: 401 with `WWW-Authenticate: Basic` (a text body) to anything without
 * the right login; the real app is exercised with the real client in tests/real/mlflow-server.test.ts.
 */
const LOGIN = { username: "ui", password: "s3cret-of-the-ui-0123456789" };
let mlflow: http.Server;
let mlflowUrl: string;
const seen: { path: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
    const good = `Basic ${Buffer.from(`${LOGIN.username}:${LOGIN.password}`).toString("base64")}`;
    mlflow = http.createServer((req, res) => {
        seen.push({ path: (req.url ?? "").split("?")[0]!, authorization: req.headers.authorization });
        if (req.headers.authorization !== good) {
            res.writeHead(401, { "www-authenticate": 'Basic realm="mlflow"', "content-type": "text/html" });
            return res.end("You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.");
        }
        const json = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
        const url = new URL(req.url ?? "/", "http://x");
        if (url.pathname === "/api/2.0/mlflow/registered-models/get") return json({ registered_model: { name: "realtor-price", aliases: [{ alias: "production", version: "1" }] } });
        if (url.pathname === "/api/2.0/mlflow/model-versions/search") return json({ model_versions: [{ version: "1", status: "READY", creation_timestamp: 1, run_id: "r1", aliases: ["production"] }] });
        if (url.pathname === "/api/2.0/mlflow/runs/get") return json({ run: { info: { run_name: "train-1" }, data: { metrics: [{ key: "mae", value: 12.5 }] } } });
        res.writeHead(404).end();
    });
    await new Promise<void>((r) => mlflow.listen(0, "127.0.0.1", r));
    mlflowUrl = `http://127.0.0.1:${(mlflow.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => mlflow.close(() => r())));

async function ui(env: Record<string, string>): Promise<FastifyInstance> {
    const staticDir = fs.mkdtempSync(path.join(os.tmpdir(), "ui-static-"));
    fs.writeFileSync(path.join(staticDir, "index.html"), "<html></html>");
    return buildApp(loadConfig({ MLFLOW_URL: mlflowUrl, UI_STATIC_DIR: staticDir, ...env }), { logger: false });
}

describe("GIVEN MLflow behind its auth app, WHEN the Models page asks /api/models", () => {
    it("THEN the UI logs in with its MLflow user on every MLflow request and shows the versions", async () => {
        const app = await ui({ MLFLOW_TRACKING_USERNAME: LOGIN.username, MLFLOW_TRACKING_PASSWORD: LOGIN.password });
        seen.length = 0;
        const res = await app.inject({ method: "GET", url: "/api/models" });
        await app.close();
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({
            name: "realtor-price",
            alias: "production",
            production: "1",
            versions: [{ version: "1", status: "READY", created: 1, run_id: "r1", run_name: "train-1", aliases: ["production"], metrics: { mae: 12.5 } }],
        });
        const expected = `Basic ${Buffer.from("ui:s3cret-of-the-ui-0123456789").toString("base64")}`;
        expect(seen.map((s) => s.path).sort()).toEqual(["/api/2.0/mlflow/model-versions/search", "/api/2.0/mlflow/registered-models/get", "/api/2.0/mlflow/runs/get"]);
        expect(seen.every((s) => s.authorization === expected)).toBe(true);
    });

    it.each([
        ["without a login", {}],
        ["with a wrong password", { MLFLOW_TRACKING_USERNAME: LOGIN.username, MLFLOW_TRACKING_PASSWORD: "an-old-password-0123456789" }],
    ])("THEN %s it answers 502 saying MLflow refused the UI's login, and where to look", async (_what, env) => {
        const app = await ui(env);
        const res = await app.inject({ method: "GET", url: "/api/models" });
        await app.close();
        expect(res.statusCode).toBe(502);
        expect(res.json().code).toBe(ErrorCode.upstream);
        expect(res.json().message).toMatch(/^MLflow answered 401: You are not authenticated\. .* \(MLflow refused the UI's login: check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD\)$/);
    });
});

describe("the UI's configuration", () => {
    it("takes the MLflow login from MLflow's own variable names, and none when both are unset", () => {
        expect(loadConfig({ MLFLOW_TRACKING_USERNAME: "ui", MLFLOW_TRACKING_PASSWORD: "pw" }).mlflowAuth).toEqual({ username: "ui", password: "pw" });
        expect(loadConfig({}).mlflowAuth).toBeUndefined();
    });

    it("refuses half a login, and a user name basic auth cannot carry, naming the variables", () => {
        expect(() => loadConfig({ MLFLOW_TRACKING_USERNAME: "ui" })).toThrow("'MLFLOW_TRACKING_PASSWORD' must be set when 'MLFLOW_TRACKING_USERNAME' is");
        expect(() => loadConfig({ MLFLOW_TRACKING_PASSWORD: "pw" })).toThrow("'MLFLOW_TRACKING_USERNAME' must be set when 'MLFLOW_TRACKING_PASSWORD' is");
        expect(() => loadConfig({ MLFLOW_TRACKING_USERNAME: "u:i", MLFLOW_TRACKING_PASSWORD: "pw" })).toThrow("'MLFLOW_TRACKING_USERNAME' must not contain ':' (HTTP basic auth)");
    });
});
