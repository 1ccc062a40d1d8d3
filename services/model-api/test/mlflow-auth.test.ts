import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { MlflowClient, MlflowError } from "../src/mlflow";
import { json, startApp, waitFor } from "./support/helpers";

/**
 * The model API's side of MLflow's auth app: every request it sends MLflow (the alias, the
 * download URI, the artifact through the proxy) carries HTTP basic auth from
 * MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD. Against a stand-in that answers like
 * MLflow's basic-auth app (401 with `WWW-Authenticate: Basic` and a text body without the right
 * login); tests/real/mlflow-server.test.ts runs this client against the real app.
 */
const USER = "model-api";
const PASSWORD = "the-model-apis-password-0123";
const MODEL = Buffer.from("not really ONNX, only bytes to download");
let server: http.Server;
let url: string;
const seen: { path: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
    const good = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    server = http.createServer((req, res) => {
        const path = (req.url ?? "").split("?")[0]!;
        seen.push({ path, authorization: req.headers.authorization });
        if (req.headers.authorization !== good) {
            res.writeHead(401, { "www-authenticate": 'Basic realm="mlflow"', "content-type": "text/html" });
            return res.end("You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.");
        }
        const send = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
        if (path === "/api/2.0/mlflow/registered-models/alias") return send({ model_version: { name: "realtor-price", version: "3", tags: [{ key: "model_sha256", value: "x" }] } });
        if (path === "/api/2.0/mlflow/model-versions/get-download-uri") return send({ artifact_uri: "mlflow-artifacts:/1/models/m-abc/artifacts" });
        if (path === "/api/2.0/mlflow-artifacts/artifacts/1/models/m-abc/artifacts/model.onnx") return res.writeHead(200, { "content-length": MODEL.length }).end(MODEL);
        res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const client = (password: string | undefined) =>
    new MlflowClient({ trackingUri: url, timeoutMs: 2000, downloadTimeoutMs: 2000, maxDownloadBytes: 1024, username: password === undefined ? undefined : USER, password });

describe("GIVEN MLflow behind its auth app", () => {
    it("WHEN the model API resolves, locates and downloads a model THEN each request logs in as its user", async () => {
        seen.length = 0;
        const c = client(PASSWORD);
        const ref = await c.resolveAlias("realtor-price", "production");
        expect(ref).toMatchObject({ name: "realtor-price", version: "3", tags: { model_sha256: "x" } });
        const uri = await c.downloadUri("realtor-price", "3");
        expect(await c.downloadArtifact(uri, "model.onnx")).toEqual(MODEL);
        const header = `Basic ${Buffer.from("model-api:the-model-apis-password-0123").toString("base64")}`;
        expect(seen).toEqual([
            { path: "/api/2.0/mlflow/registered-models/alias", authorization: header },
            { path: "/api/2.0/mlflow/model-versions/get-download-uri", authorization: header },
            { path: "/api/2.0/mlflow-artifacts/artifacts/1/models/m-abc/artifacts/model.onnx", authorization: header },
        ]);
    });

    it.each([
        ["without a login", undefined],
        ["with an old password", "a-rotated-away-password-0123"],
    ])("WHEN it asks %s THEN the error says MLflow refused the login and where to look", async (_what, password) => {
        const err = await client(password).resolveAlias("realtor-price", "production").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MlflowError);
        expect((err as MlflowError).status).toBe(401);
        expect((err as MlflowError).message).toMatch(
            /^MLflow GET \/api\/2\.0\/mlflow\/registered-models\/alias -> 401: You are not authenticated\. .* \(MLflow refused the login: check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD\)$/,
        );
    });

    it("WHEN the server runs with MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD THEN its polls send them", async () => {
        seen.length = 0;
        const { app, url: api } = await startApp(
            { MLFLOW_TRACKING_URI: url, MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: "a-rotated-away-password-0123", MODEL_RETRY_INITIAL_MS: "50", MODEL_RETRY_MAX_MS: "100" },
            "mlflow-auth",
        );
        try {
            // A wrong password: not ready, and /ready names the refused login.
            const reason = await waitFor("a refused poll", async () => {
                const r = await fetch(`${api}/ready`);
                const body = await json(r);
                return r.status === 503 && /refused the login/.test(body.reason ?? "") ? (body.reason as string) : undefined;
            }, 10_000);
            expect(reason).toContain("-> 401");
            const wrong = `Basic ${Buffer.from("model-api:a-rotated-away-password-0123").toString("base64")}`;
            expect(seen.length).toBeGreaterThan(0);
            expect(seen.every((s) => s.authorization === wrong)).toBe(true);
        } finally {
            await app.close();
        }
    });
});

describe("the model API's MLflow login in its configuration", () => {
    it("refuses half a login, and a user name basic auth cannot carry, naming the variables", () => {
        const base = { MLFLOW_TRACKING_URI: "http://mlflow:5000" };
        expect(loadConfig({ ...base, MLFLOW_TRACKING_USERNAME: "model-api", MLFLOW_TRACKING_PASSWORD: "pw" })).toMatchObject({ mlflowUsername: "model-api", mlflowPassword: "pw" });
        expect(() => loadConfig({ ...base, MLFLOW_TRACKING_USERNAME: "model-api" })).toThrow("'MLFLOW_TRACKING_PASSWORD' must be set when 'MLFLOW_TRACKING_USERNAME' is");
        expect(() => loadConfig({ ...base, MLFLOW_TRACKING_PASSWORD: "pw" })).toThrow("'MLFLOW_TRACKING_USERNAME' must be set when 'MLFLOW_TRACKING_PASSWORD' is");
        expect(() => loadConfig({ ...base, MLFLOW_TRACKING_USERNAME: "a:b", MLFLOW_TRACKING_PASSWORD: "pw" })).toThrow("'MLFLOW_TRACKING_USERNAME' must not contain ':' (HTTP basic auth)");
    });
});
