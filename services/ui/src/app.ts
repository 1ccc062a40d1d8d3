import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import * as fs from "node:fs";
import * as path from "node:path";
import type { UiConfig } from "./config.js";
import { fetchModels, UpstreamError } from "./mlflow.js";
import { summariseDataApiMetrics } from "./prometheus.js";

/**
 * Error codes the browser app acts on. The model API's own codes (INVALID_INPUT, NO_MODEL, ...)
 * pass through unchanged, so the page reads one vocabulary whichever side failed.
 */
export const ErrorCode = {
    modelApiUnreachable: "MODEL_API_UNREACHABLE",
    noModel: "NO_MODEL",
    mlflowUnreachable: "MLFLOW_UNREACHABLE",
    dataApiUnreachable: "DATA_API_UNREACHABLE",
    upstream: "UPSTREAM_ERROR",
    notFound: "NOT_FOUND",
    badRequest: "BAD_REQUEST",
    internal: "INTERNAL",
} as const;

const errorSchema = {
    type: "object",
    required: ["code", "message"],
    properties: {
        code: { type: "string" },
        message: { type: "string" },
        errors: { type: "array", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } },
    },
} as const;

/** Why fetch failed, in words: "connection refused", "timed out after 5000 ms", ... */
function reason(err: unknown, timeoutMs: number): string {
    const e = err as { name?: string; cause?: { code?: string }; message?: string };
    if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${timeoutMs} ms`;
    const code = e.cause?.code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host name not found";
    return code ?? e.message ?? "unknown error";
}

export async function buildApp(config: UiConfig, opts: { logger?: boolean } = {}): Promise<FastifyInstance> {
    const app = Fastify({ logger: opts.logger === false ? false : { level: config.logLevel }, bodyLimit: 64 * 1024 });

    app.setErrorHandler((err: FastifyError, req, reply) => {
        const status = err.statusCode ?? 500;
        if (status >= 400 && status < 500) return reply.code(status).send({ code: ErrorCode.badRequest, message: err.message });
        req.log.error({ err }, "unhandled error");
        return reply.code(500).send({ code: ErrorCode.internal, message: "internal error in the UI server" });
    });

    app.get("/health", { schema: { response: { 200: { type: "object", properties: { status: { type: "string" } } } } } }, async () => ({ status: "OK" }));

    app.post(
        "/api/predict",
        {
            schema: {
                body: { type: "object" },
                response: {
                    200: {
                        type: "object",
                        required: ["price", "model"],
                        properties: {
                            price: { type: "number" },
                            model: { type: "object", required: ["name", "version"], properties: { name: { type: "string" }, version: { type: "string" } } },
                        },
                    },
                    "4xx": errorSchema,
                    "5xx": errorSchema,
                },
            },
        },
        async (req, reply) => {
            let res: Response;
            try {
                res = await fetch(`${config.modelApiUrl}/predict`, {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: JSON.stringify(req.body),
                    signal: AbortSignal.timeout(config.upstreamTimeoutMs),
                });
            } catch (err) {
                return reply.code(502).send({
                    code: ErrorCode.modelApiUnreachable,
                    message: `The model API is not answering (${reason(err, config.upstreamTimeoutMs)}). Check that the model-api service is running (kubectl -n mlops get pods), then try again.`,
                });
            }
            const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string; detail?: string; errors?: unknown };
            if (res.ok) return body;
            if (res.status === 503) {
                return reply.code(503).send({
                    code: ErrorCode.noModel,
                    message: `No model is in production yet. Run the train DAG in Airflow (or give a version of '${config.modelName}' the alias '${config.productionAlias}' in MLflow), then try again.`,
                });
            }
            const message = body.message ?? body.detail ?? `the model API answered ${res.status}`;
            return reply.code(res.status >= 500 ? 502 : res.status).send({ code: body.code ?? ErrorCode.upstream, message, ...(Array.isArray(body.errors) ? { errors: body.errors } : {}) });
        },
    );

    const modelsVersion = {
        type: "object",
        properties: {
            version: { type: "string" },
            status: { type: "string" },
            created: { type: "number" },
            run_id: { type: ["string", "null"] },
            run_name: { type: ["string", "null"] },
            aliases: { type: "array", items: { type: "string" } },
            metrics: { type: "object", additionalProperties: { type: "number" } },
        },
    } as const;
    app.get(
        "/api/models",
        {
            schema: {
                response: {
                    200: {
                        type: "object",
                        properties: { name: { type: "string" }, alias: { type: "string" }, production: { type: ["string", "null"] }, versions: { type: "array", items: modelsVersion } },
                    },
                    "5xx": errorSchema,
                },
            },
        },
        async (_req, reply: FastifyReply) => {
            try {
                return await fetchModels(config.mlflowUrl, config.modelName, config.productionAlias, config.upstreamTimeoutMs, config.mlflowAuth);
            } catch (err) {
                if (err instanceof UpstreamError) return reply.code(502).send({ code: ErrorCode.upstream, message: err.message });
                return reply.code(502).send({
                    code: ErrorCode.mlflowUnreachable,
                    message: `MLflow is not answering (${reason(err, config.upstreamTimeoutMs)}). Check the mlflow service, then reload.`,
                });
            }
        },
    );

    app.get(
        "/api/data",
        {
            schema: {
                response: {
                    200: {
                        type: "object",
                        properties: {
                            groups: {
                                type: "array",
                                items: {
                                    type: "object",
                                    properties: {
                                        group_number: { type: "integer" },
                                        day: { type: "string" },
                                        current_batch: { type: "number" },
                                        batches_served: { type: "number" },
                                        batches: { type: "array", items: { type: "object", properties: { batch_number: { type: "integer" }, rows: { type: "number" } } } },
                                    },
                                },
                            },
                            price: {
                                type: "object",
                                properties: {
                                    buckets: { type: "array", items: { type: "object", properties: { le: { type: ["number", "null"] }, count: { type: "number" } } } },
                                    count: { type: "number" },
                                    sum: { type: "number" },
                                },
                            },
                        },
                    },
                    "5xx": errorSchema,
                },
            },
        },
        async (_req, reply) => {
            let res: Response;
            try {
                res = await fetch(`${config.dataApiUrl}/metrics`, { signal: AbortSignal.timeout(config.upstreamTimeoutMs) });
            } catch (err) {
                return reply.code(502).send({
                    code: ErrorCode.dataApiUnreachable,
                    message: `The data API is not answering (${reason(err, config.upstreamTimeoutMs)}). Check the data-api service, then reload.`,
                });
            }
            if (!res.ok) return reply.code(502).send({ code: ErrorCode.upstream, message: `the data API answered ${res.status} on /metrics` });
            return summariseDataApiMetrics(await res.text());
        },
    );

    app.setNotFoundHandler((req, reply) => {
        if (req.url.startsWith("/api/")) return reply.code(404).send({ code: ErrorCode.notFound, message: `no route ${req.method} ${req.url.split("?")[0]}` });
        return reply.code(404).type("text/plain").send("not found");
    });

    if (!fs.existsSync(path.join(config.staticDir, "index.html"))) {
        throw new Error(`UI_STATIC_DIR: ${config.staticDir} has no index.html; build the browser app first (npm run build -w services/ui)`);
    }
    await app.register(fastifyStatic, {
        root: config.staticDir,
        // Hashed file names under /assets never change; index.html must always be revalidated.
        setHeaders(res, file) {
            res.setHeader("cache-control", file.includes(`${path.sep}assets${path.sep}`) ? "public, max-age=31536000, immutable" : "no-cache");
        },
    });
    return app;
}
