import { createHash, timingSafeEqual } from "node:crypto";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { DataApiConfig } from "./config.js";
import { loadCsv } from "./csv.js";
import { Dataset } from "./dataset.js";
import { listingJsonSchema } from "./listing.js";
import { createMetrics } from "./metrics.js";
import { FileStateStore, PostgresStateStore, StateUnavailableError, type BatchStateStore } from "./state.js";

/** Stable error codes: clients and tests match on these, not on the wording of `detail`. */
export const ErrorCode = {
    invalidQuery: "invalid_query",
    unknownGroup: "unknown_group",
    unknownDay: "unknown_day",
    noMoreData: "no_more_data",
    notFound: "not_found",
    unauthorized: "unauthorized",
    stateUnavailable: "state_unavailable",
    internal: "internal_error",
} as const;

/** `Authorization: Bearer <token>` in constant time (both sides hashed: no length or prefix leaks). */
export function bearerMatches(header: string | undefined, token: string): boolean {
    const digest = (v: string) => createHash("sha256").update(v).digest();
    return timingSafeEqual(digest(header ?? ""), digest(`Bearer ${token}`));
}

const errorSchema = {
    type: "object",
    required: ["detail", "code"],
    properties: { detail: { type: "string" }, code: { type: "string" } },
} as const;

const querySchema = {
    type: "object",
    required: ["group_number", "day"],
    additionalProperties: true,
    properties: {
        group_number: { type: "integer", description: "the group's number, within DATA_API_GROUP_MIN..DATA_API_GROUP_MAX (default 1..10)" },
        day: { type: "string", minLength: 1, description: "one of DATA_API_DAYS (default Tuesday, Wednesday), any case" },
    },
} as const;

interface DataQuery {
    group_number: number;
    day: string;
}

class HttpError extends Error {
    constructor(
        readonly statusCode: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

export interface BuildOptions {
    /** Overrides the store chosen by config (tests). */
    readonly store?: BatchStateStore;
    readonly logger?: boolean;
}

export async function buildApp(config: DataApiConfig, opts: BuildOptions = {}): Promise<FastifyInstance> {
    const app = Fastify({
        logger: opts.logger === false ? false : { level: config.logLevel },
        ajv: { customOptions: { coerceTypes: true, allErrors: true } },
    });
    const metrics = createMetrics();
    const state = config.state;
    const store: BatchStateStore =
        opts.store ??
        (state.backend === "postgres"
            ? new PostgresStateStore(state.databaseUrl, {
                  connectTimeoutMs: state.connectTimeoutMs,
                  statementTimeoutMs: state.statementTimeoutMs,
                  migrate: state.migrate,
                  onPoolError: (err) => app.log.warn({ event: "state_pool_error", error: err.message }, "an idle Postgres connection was lost"),
                  log: (level, message, fields) => app.log[level]({ event: "state_migration", ...fields }, message),
              })
            : new FileStateStore(state.file));
    const csvRows = config.csvPath ? await loadCsv(config.csvPath, config.csvMaxRows) : undefined;
    const dataset = new Dataset({ seed: config.seed, dirtyShare: config.dirtyShare, batches: config.batches, batchSize: config.batchSize, csvRows });
    app.log.info({ source: dataset.source, rows: csvRows?.length, batches: config.batches, batchSize: config.batchSize }, "dataset ready");

    app.addHook("onClose", async () => store.close());
    app.addHook("onResponse", async (req, reply) => {
        metrics.requests.inc({ route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) });
    });

    app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
        if (err instanceof HttpError) return reply.code(err.statusCode).send({ detail: err.message, code: err.code });
        if (err instanceof StateUnavailableError) {
            req.log.warn({ event: "state_unavailable", error: err.message }, "batch state store unavailable");
            return reply.code(503).header("retry-after", "5").send({ detail: `${err.message}; retry later`, code: ErrorCode.stateUnavailable });
        }
        if ("validation" in err && err.validation) {
            // FastAPI answered type errors in the query with 422; keep that, and name each field.
            const detail = err.validation
                .map((v) => {
                    const field = v.instancePath.replace(/^\//, "") || String((v.params as { missingProperty?: string }).missingProperty ?? "query");
                    return `${field}: ${v.message ?? "invalid"}`;
                })
                .join("; ");
            return reply.code(422).send({ detail, code: ErrorCode.invalidQuery });
        }
        if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
            return reply.code(err.statusCode).send({ detail: err.message, code: err.code ?? "bad_request" });
        }
        req.log.error({ err }, "unhandled error");
        return reply.code(500).send({ detail: "internal error", code: ErrorCode.internal });
    });
    app.setNotFoundHandler((req, reply) => reply.code(404).send({ detail: `no route ${req.method} ${req.url.split("?")[0]}`, code: ErrorCode.notFound }));

    // The OpenAPI document is generated from the route schemas below (GET /openapi.json).
    await app.register(swagger, {
        openapi: {
            openapi: "3.0.3",
            info: {
                title: "data-api",
                description: "Listings in batches per (group_number, day): the course data service's contract (design.md).",
                version: "0.1.0",
            },
        },
    });

    const daysByLower = new Map(config.days.map((d) => [d.toLowerCase(), d]));
    function checkQuery(q: DataQuery): { group: number; day: string } {
        if (q.group_number < config.groups.min || q.group_number > config.groups.max) {
            throw new HttpError(400, ErrorCode.unknownGroup, `group_number must be between ${config.groups.min} and ${config.groups.max} (got ${q.group_number})`);
        }
        const day = daysByLower.get(q.day.trim().toLowerCase());
        if (!day) throw new HttpError(400, ErrorCode.unknownDay, `day must be one of ${config.days.join(", ")} (got '${q.day}')`);
        return { group: q.group_number, day };
    }
    const rule = { intervalMs: config.intervalSeconds * 1000, batches: config.batches };

    app.get<{ Querystring: DataQuery }>(
        "/data",
        {
            schema: {
                querystring: querySchema,
                response: {
                    200: {
                        type: "object",
                        required: ["group_number", "day", "batch_number", "data"],
                        properties: {
                            group_number: { type: "integer" },
                            day: { type: "string" },
                            batch_number: { type: "integer" },
                            data: { type: "array", items: listingJsonSchema },
                        },
                    },
                    400: errorSchema,
                    422: errorSchema,
                    503: errorSchema,
                },
            },
        },
        async (req) => {
            const { group, day } = checkQuery(req.query);
            const next = await store.advance(group, day, rule);
            if (next.kind === "exhausted") {
                throw new HttpError(
                    400,
                    ErrorCode.noMoreData,
                    `all ${config.batches} batches of group ${group}, day ${day} have been served; call /restart_data_generation to start again`,
                );
            }
            const data = dataset.batch(group, day, next.batchNumber);
            const labels = { group_number: String(group), day };
            metrics.batchesServed.inc(labels);
            if (next.advanced) {
                metrics.currentBatch.set(labels, next.batchNumber);
                metrics.batchRows.set({ ...labels, batch_number: String(next.batchNumber) }, data.length);
                for (const row of data) if (typeof row.price === "number" && row.price > 0) metrics.price.observe(row.price);
            }
            return { group_number: group, day, batch_number: next.batchNumber, data };
        },
    );

    app.get<{ Querystring: DataQuery }>(
        "/restart_data_generation",
        {
            schema: {
                querystring: querySchema,
                response: {
                    200: {
                        type: "object",
                        required: ["ok", "group_number", "day"],
                        properties: { ok: { type: "boolean" }, group_number: { type: "integer" }, day: { type: "string" }, message: { type: "string" } },
                    },
                    400: errorSchema,
                    401: errorSchema,
                    422: errorSchema,
                    503: errorSchema,
                },
            },
        },
        async (req) => {
            if (config.restartToken && !bearerMatches(req.headers.authorization, config.restartToken)) {
                throw new HttpError(401, ErrorCode.unauthorized, "restarting data generation needs 'Authorization: Bearer <DATA_API_RESTART_TOKEN>'");
            }
            const { group, day } = checkQuery(req.query);
            await store.reset(group, day);
            metrics.currentBatch.set({ group_number: String(group), day }, 0);
            return { ok: true, group_number: group, day, message: `batch counter of group ${group}, day ${day} reset; the next /data call serves batch 1` };
        },
    );

    app.get(
        "/health",
        { schema: { response: { 200: { type: "object", required: ["status"], properties: { status: { type: "string" } } } } } },
        async () => ({ status: "OK" }),
    );

    app.get("/metrics", { schema: { response: { 200: { type: "string" } } } }, async (_req, reply) => {
        reply.header("content-type", metrics.registry.contentType);
        return metrics.registry.metrics();
    });

    app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

    return app;
}
