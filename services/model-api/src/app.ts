import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import Fastify, { LogController, type FastifyError, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { ModelApiConfig } from "./config";
import { InferenceLog } from "./inference-log";
import { isoDate, ListingNormaliser, loadListingDefinition, type FieldError, type ListingDefinition, type NormalisedListing } from "./listing";
import { createMetrics, type Metrics } from "./metrics";
import { MlflowClient } from "./mlflow";
import { ModelManager, NoModelError } from "./model";

/** An error answered to the client: HTTP status, stable code, message, and the bad fields. */
export class ApiError extends Error {
    constructor(readonly statusCode: number, readonly code: string, message: string, readonly errors?: FieldError[]) {
        super(message);
    }
}

interface ParsedPredict {
    batch: boolean;
    rows: NormalisedListing[];
}

declare module "fastify" {
    interface FastifyInstance {
        models: ModelManager;
        metrics: Metrics;
        inferenceLog?: InferenceLog;
    }
}

export interface BuildOptions {
    /** A pino instance to log to; defaults to JSON logs on stdout at config.logLevel. */
    loggerInstance?: FastifyBaseLogger;
    /** Clock for date validation ("today"); tests pin it. */
    today?: () => string;
    listing?: ListingDefinition;
}

const errorSchema = {
    type: "object",
    properties: {
        code: { type: "string" },
        message: { type: "string" },
        errors: { type: "array", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } },
    },
    required: ["code", "message"],
} as const;

const modelRefSchema = {
    type: "object",
    properties: { name: { type: "string" }, version: { type: "string" } },
    required: ["name", "version"],
} as const;

/** The JSON schema of a listing, generated from config/listing.json (documentation; validation is ListingNormaliser). */
function listingSchema(def: ListingDefinition) {
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const [name, f] of Object.entries(def.fields)) {
        if (f.target) continue;
        const base =
            f.type === "number" ? { type: ["number", "null"], ...(f.min !== undefined ? { minimum: f.min } : {}) }
            : f.type === "zip" ? { type: ["string", "integer", "null"], description: `${def.zip_code.length}-digit ZIP code (ZIP+4 and shorter numbers accepted)` }
            : f.type === "date" ? { type: ["string", "null"], format: "date", description: `ISO date, ${def.prev_sold_date.min} .. today` }
            : f.type === "category" ? { type: "string", description: `one of ${def.status.values.join(", ")}; case, spaces and hyphens are normalised ('for sale' = 'for_sale')` }
            : {
                type: ["string", "null"],
                ...(def.strings.maxLength !== undefined ? { maxLength: def.strings.maxLength } : {}),
                description: `trimmed, lower-cased, whitespace collapsed; at most ${def.strings.maxLength ?? "any number of"} characters after that; no U+0000 or unpaired surrogates`,
            };
        properties[name] = base;
        if (!f.nullable) required.push(name);
    }
    return { type: "object", properties, required, additionalProperties: true };
}

export async function buildApp(config: ModelApiConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
    const app = Fastify({
        ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: { level: config.logLevel } }),
        bodyLimit: config.bodyLimitBytes,
        requestTimeout: config.requestTimeoutMs,
        connectionTimeout: config.requestTimeoutMs,
        keepAliveTimeout: 65_000,
        // Per-request log lines cost throughput; the metrics cover every request. LOG_REQUESTS=true turns them on.
        logController: new LogController({ disableRequestLogging: !config.logRequests }),
        genReqId: (req) => {
            const given = req.headers["x-request-id"];
            return typeof given === "string" && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
        },
        ajv: { customOptions: { allErrors: true, coerceTypes: false } },
    });

    const def = options.listing ?? loadListingDefinition();
    const normaliser = new ListingNormaliser(def);
    const today = options.today ?? (() => isoDate(new Date()));
    const metrics = createMetrics();
    app.decorate("metrics", metrics);

    const mlflow = config.mlflowTrackingUri
        ? new MlflowClient({ trackingUri: config.mlflowTrackingUri, timeoutMs: config.mlflowTimeoutMs, downloadTimeoutMs: config.mlflowDownloadTimeoutMs, maxDownloadBytes: config.maxModelBytes, username: config.mlflowUsername, password: config.mlflowPassword, token: config.mlflowToken })
        : undefined;
    const models = new ModelManager({
        modelName: config.modelName,
        alias: config.modelAlias,
        localPath: config.modelPath,
        mlflow,
        cacheDir: config.cacheDir,
        pollIntervalMs: config.pollIntervalMs,
        retryInitialMs: config.retryInitialMs,
        retryMaxMs: config.retryMaxMs,
        maxModelBytes: config.maxModelBytes,
        intraOpThreads: config.intraOpThreads,
        metrics,
        log: app.log,
    });
    app.decorate("models", models);
    metrics.modelVersion.set({ model_name: config.modelName }, 0);

    if (config.databaseUrl) {
        app.decorate("inferenceLog", new InferenceLog({
            connectionString: config.databaseUrl,
            flushIntervalMs: config.logFlushMs,
            batchSize: config.logBatchSize,
            maxQueue: config.logMaxQueue,
            migrate: config.logMigrate,
            metrics,
            log: app.log,
        }));
    } else {
        app.log.warn({ event: "inference_log_disabled" }, "DATABASE_URL is not set: predictions are not logged to Postgres");
    }

    app.addHook("onReady", async () => models.start());
    app.addHook("onClose", async () => {
        await models.close();
        await app.inferenceLog?.close();
    });
    app.addHook("onResponse", async (request, reply) => {
        metrics.httpDuration.observe(
            { route: request.routeOptions.url ?? "unmatched", method: request.method, status_code: String(reply.statusCode) },
            reply.elapsedTime / 1000,
        );
    });

    app.setErrorHandler((err: FastifyError | ApiError | NoModelError, request, reply) => {
        if (err instanceof ApiError) {
            return reply.code(err.statusCode).send({ code: err.code, message: err.message, ...(err.errors ? { errors: err.errors } : {}) });
        }
        if (err instanceof NoModelError) {
            return reply.code(503).send({ code: "NO_MODEL", message: "no model is loaded yet; retry later" });
        }
        const status = (err as FastifyError).statusCode ?? 500;
        const code = (err as FastifyError).code;
        if (code === "FST_ERR_CTP_BODY_TOO_LARGE") {
            return reply.code(413).send({ code: "BODY_TOO_LARGE", message: `request body is larger than ${config.bodyLimitBytes} bytes` });
        }
        if ((err as FastifyError).validation) {
            const errors = ((err as FastifyError).validation ?? []).map((v) => ({
                field: `${(err as FastifyError).validationContext ?? "body"}${v.instancePath.replace(/\//g, ".")}`,
                message: v.message ?? "is invalid",
            }));
            return reply.code(422).send({ code: "INVALID_INPUT", message: `invalid input: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`, errors });
        }
        if (status >= 400 && status < 500) {
            const stable = code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? "UNSUPPORTED_MEDIA_TYPE"
                : code === "FST_ERR_CTP_EMPTY_JSON_BODY" || code === "FST_ERR_CTP_INVALID_JSON_BODY" || err instanceof SyntaxError ? "INVALID_JSON"
                : (code ?? "BAD_REQUEST").replace(/^FST_ERR_/, "");
            return reply.code(status).send({ code: stable, message: err.message });
        }
        request.log.error({ err }, "unhandled error");
        return reply.code(500).send({ code: "INTERNAL", message: "internal error" });
    });
    // JSON only: a text/plain body is answered 415, not parsed into a string.
    app.removeContentTypeParser("text/plain");
    app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: "NOT_FOUND", message: `no route ${request.method} ${request.url.split("?")[0]}` }));

    await app.register(swagger, {
        openapi: {
            openapi: "3.0.3",
            info: {
                title: "model-api",
                description: "House-price predictions from MLflow's production `realtor-price` model (ONNX). Drop-in for the old FastAPI server's payloads.",
                version: "0.1.0",
            },
            tags: [{ name: "predict" }, { name: "model" }, { name: "ops" }],
        },
    });
    await app.register(swaggerUi, { routePrefix: "/docs" });

    const listing = listingSchema(def);
    const predictBody = {
        type: "object",
        description: `Either {"features": listing} or {"instances": [listing, ...]} (at most ${config.maxBatchSize} rows).`,
        properties: {
            features: listing,
            instances: { type: "array", maxItems: config.maxBatchSize, items: listing },
        },
        examples: [
            {
                features: {
                    brokered_by: 101, status: "for sale", bed: 3, bath: 2, acre_lot: 0.25, street: "123 elm st",
                    city: "springfield", state: "illinois", zip_code: "62704", house_size: 1500, prev_sold_date: "2022-03-15",
                },
            },
        ],
    };

    // The body is validated and normalised by the shared listing rules (config/listing.json), which
    // report every bad field at once; the JSON schema above documents the same shape.
    const validatePredict = (body: unknown): { value: ParsedPredict } | { error: Error } => {
        if (typeof body !== "object" || body === null || Array.isArray(body)) {
            return { error: new ApiError(422, "INVALID_INPUT", "body must be a JSON object with 'features' or 'instances'", [{ field: "body", message: "must be an object" }]) };
        }
        const b = body as Record<string, unknown>;
        const hasF = b.features !== undefined;
        const hasI = b.instances !== undefined;
        if (hasF === hasI) {
            const message = hasF ? "give either 'features' or 'instances', not both" : "is required: 'features' (one listing) or 'instances' (a list of listings)";
            return { error: new ApiError(422, "INVALID_INPUT", `body ${message}`, [{ field: hasF ? "instances" : "features", message }]) };
        }
        const day = today();
        if (hasF) {
            const r = normaliser.listing(b.features, "features", day);
            if (!r.value) return { error: invalid(r.errors) };
            return { value: { batch: false, rows: [r.value] } };
        }
        if (!Array.isArray(b.instances)) return { error: invalid([{ field: "instances", message: "must be an array of listings" }]) };
        if (b.instances.length === 0) return { error: invalid([{ field: "instances", message: "must hold at least 1 listing" }]) };
        if (b.instances.length > config.maxBatchSize) {
            return {
                error: new ApiError(422, "BATCH_TOO_LARGE", `instances: at most ${config.maxBatchSize} listings per request (got ${b.instances.length})`, [
                    { field: "instances", message: `at most ${config.maxBatchSize} listings per request (got ${b.instances.length})` },
                ]),
            };
        }
        const rows: NormalisedListing[] = [];
        const errors: FieldError[] = [];
        b.instances.forEach((item, i) => {
            const r = normaliser.listing(item, `instances[${i}]`, day);
            if (r.value) rows.push(r.value);
            else errors.push(...r.errors);
        });
        if (errors.length) return { error: invalid(errors.slice(0, 100)) };
        return { value: { batch: true, rows } };
    };

    app.post("/predict", {
        schema: {
            tags: ["predict"],
            summary: "Predict the price of one listing (features) or a batch (instances)",
            body: predictBody,
            response: {
                200: {
                    type: "object",
                    description: "`price` for {features}, `prices` (in order) for {instances}",
                    properties: { price: { type: "number" }, prices: { type: "array", items: { type: "number" } }, model: modelRefSchema },
                    required: ["model"],
                },
                413: errorSchema, 415: errorSchema, 422: errorSchema, 503: errorSchema, "4xx": errorSchema,
            },
        },
        validatorCompiler: ({ httpPart }) => (httpPart === "body" ? validatePredict : () => true),
    }, async (request, reply) => {
        const parsed = request.body as ParsedPredict;
        const started = process.hrtime.bigint();
        const { prices, model } = await models.predict(parsed.rows);
        const inferenceSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.inferenceDuration.observe({ kind: parsed.batch ? "batch" : "single" }, inferenceSeconds);
        metrics.predictions.inc({ model_name: model.name, model_version: model.version }, prices.length);
        const modelRef = { name: model.name, version: model.version };
        if (app.inferenceLog) {
            const ts = new Date().toISOString();
            const latencyMs = reply.elapsedTime;
            app.inferenceLog.add(parsed.rows.map((input, i) => ({
                ts, request_id: String(request.id), model_name: model.name, model_version: model.version, model_sha256: model.sha256, input, price: prices[i]!, latency_ms: latencyMs,
            })));
        }
        return parsed.batch ? { prices, model: modelRef } : { price: prices[0], model: modelRef };
    });

    app.get("/model", {
        schema: {
            tags: ["model"],
            summary: "The model being served",
            response: {
                200: {
                    type: "object",
                    properties: {
                        name: { type: "string" }, version: { type: "string" }, alias: { type: "string" }, source: { type: "string" },
                        loaded_at: { type: "string" },
                        inputs: { type: "array", items: { type: "object", properties: { name: { type: "string" }, dtype: { type: "string" }, from: { type: "string" }, transform: { type: "string" } } } },
                        output: { type: "object", properties: { name: { type: "string" }, transform: { type: "string" } } },
                        last_error: { type: "string", nullable: true },
                    },
                    required: ["name", "version"],
                },
                503: errorSchema,
            },
        },
    }, async () => {
        const m = models.model;
        if (!m) throw new NoModelError();
        return {
            name: m.name, version: m.version, alias: config.modelPath ? undefined : config.modelAlias, source: m.source, loaded_at: m.loadedAt.toISOString(),
            inputs: m.spec.inputs, output: m.spec.output, last_error: models.lastError ?? null,
        };
    });

    app.post("/hooks/model_update", {
        schema: {
            tags: ["model"],
            summary: "Check the alias now and swap to its version (called by the training DAG after a promotion)",
            body: {
                type: ["object", "null"],
                description: "Optional and informational (e.g. what the caller promoted); the alias in MLflow decides what is served.",
                additionalProperties: true,
            },
            response: {
                200: {
                    type: "object",
                    properties: { status: { type: "string", enum: ["loaded", "unchanged"] }, version: { type: "string" }, previous: { type: "string" } },
                    required: ["status", "version"],
                },
                401: errorSchema,
                502: {
                    type: "object",
                    properties: { code: { type: "string" }, message: { type: "string" }, version: { type: "string" }, serving: { type: "string", nullable: true } },
                    required: ["code", "message"],
                },
            },
        },
    }, async (request, reply) => {
        if (config.hookToken && !bearerMatches(request.headers.authorization, config.hookToken)) {
            throw new ApiError(401, "UNAUTHORIZED", "this hook needs 'Authorization: Bearer <HOOK_TOKEN>'");
        }
        // A load may take as long as MLflow's calls and the artifact download may; the server's
        // idle limit (REQUEST_TIMEOUT_MS) would otherwise close this socket mid-load (seen under
        // load in CI: "other side closed" while the version was still being fetched and hashed).
        request.raw.setTimeout(config.mlflowTimeoutMs + config.mlflowDownloadTimeoutMs);
        const r = await models.update(true);
        if (r.status === "failed") {
            return reply.code(502).send({ code: "MODEL_UPDATE_FAILED", message: r.error, version: r.version, serving: models.model?.version ?? null });
        }
        return r;
    });

    app.get("/health", {
        schema: { tags: ["ops"], summary: "Liveness: the process answers", response: { 200: { type: "object", properties: { status: { type: "string" } } } } },
    }, async () => ({ status: "ok" }));

    app.get("/ready", {
        schema: {
            tags: ["ops"],
            summary: "Readiness: a model is loaded",
            response: {
                200: { type: "object", properties: { status: { type: "string" }, model: modelRefSchema } },
                503: { type: "object", properties: { status: { type: "string" }, reason: { type: "string" } } },
            },
        },
    }, async (_request, reply) => {
        const m = models.model;
        if (!m) return reply.code(503).send({ status: "not_ready", reason: models.lastError ?? "no model loaded yet" });
        return { status: "ready", model: { name: m.name, version: m.version } };
    });

    app.get("/metrics", {
        schema: { tags: ["ops"], summary: "Prometheus metrics", response: { 200: { type: "string" } } },
    }, async (_request, reply) => {
        reply.header("content-type", metrics.registry.contentType);
        return metrics.registry.metrics();
    });

    app.get("/openapi.json", {
        schema: { tags: ["ops"], summary: "The OpenAPI document", response: { 200: { type: "object", additionalProperties: true } } },
    }, async () => app.swagger());

    return app;
}

function invalid(errors: FieldError[]): ApiError {
    return new ApiError(422, "INVALID_INPUT", `invalid input: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`, errors);
}

/**
 * `Authorization: Bearer <token>` against the configured token in constant time: both sides are
 * hashed first, so neither the token's length nor a matching prefix shows in the timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
    const given = createHash("sha256").update(header ?? "").digest();
    const expected = createHash("sha256").update(`Bearer ${token}`).digest();
    return timingSafeEqual(given, expected);
}
