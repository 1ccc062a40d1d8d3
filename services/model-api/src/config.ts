/**
 * Environment configuration, parsed once at the boundary. Every problem is reported in one
 * message naming the variable.
 */
export interface ModelApiConfig {
    readonly host: string;
    readonly port: number;
    readonly modelName: string;
    readonly modelAlias: string;
    /** MLFLOW_TRACKING_URI; required unless MODEL_PATH serves a local model. */
    readonly mlflowTrackingUri?: string;
    readonly mlflowTimeoutMs: number;
    /** Artifact downloads through the proxy are slow (MLflow streams in small chunks): their own, longer timeout. */
    readonly mlflowDownloadTimeoutMs: number;
    readonly mlflowUsername?: string;
    readonly mlflowPassword?: string;
    readonly mlflowToken?: string;
    /** MODEL_MAX_BYTES: the largest model.onnx (or other artifact) accepted, downloaded or local. */
    readonly maxModelBytes: number;
    /** MODEL_PATH: a directory holding model.onnx + feature_spec.json (or the model.onnx path). */
    readonly modelPath?: string;
    /** MODEL_CACHE_DIR: where the last good model is kept, to serve it at start while MLflow is unreachable. */
    readonly cacheDir?: string;
    readonly pollIntervalMs: number;
    readonly retryInitialMs: number;
    readonly retryMaxMs: number;
    /** DATABASE_URL of the `mlops` database; without it the inference log is off (logged at start). */
    readonly databaseUrl?: string;
    /** INFERENCE_LOG_MIGRATE: migrate before the first write (default), or leave it to `dist/src/migrate.js` run as the owner. */
    readonly logMigrate: boolean;
    readonly logFlushMs: number;
    readonly logBatchSize: number;
    readonly logMaxQueue: number;
    readonly bodyLimitBytes: number;
    readonly maxBatchSize: number;
    readonly requestTimeoutMs: number;
    readonly intraOpThreads: number;
    /** HOOK_TOKEN: when set, POST /hooks/model_update requires `Authorization: Bearer <token>`. */
    readonly hookToken?: string;
    readonly logLevel: string;
    readonly logRequests: boolean;
}

export const DEFAULTS = {
    PORT: 8989,
    MODEL_NAME: "realtor-price",
    MODEL_ALIAS: "production",
    MLFLOW_TIMEOUT_MS: 10_000,
    MLFLOW_DOWNLOAD_TIMEOUT_MS: 300_000,
    MODEL_MAX_BYTES: 64 * 1024 * 1024,
    MODEL_POLL_INTERVAL_SECONDS: 30,
    MODEL_RETRY_INITIAL_MS: 1_000,
    MODEL_RETRY_MAX_MS: 30_000,
    INFERENCE_LOG_FLUSH_MS: 1_000,
    INFERENCE_LOG_BATCH_SIZE: 500,
    INFERENCE_LOG_MAX_QUEUE: 50_000,
    BODY_LIMIT_BYTES: 1_048_576,
    MAX_BATCH_SIZE: 1_000,
    REQUEST_TIMEOUT_MS: 10_000,
    ORT_INTRA_OP_THREADS: 1,
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ModelApiConfig {
    const problems: string[] = [];
    const str = (name: string): string | undefined => {
        const v = env[name];
        return v === undefined || v.trim() === "" ? undefined : v.trim();
    };
    const num = (name: keyof typeof DEFAULTS, opts: { min: number; integer?: boolean }): number => {
        const raw = str(name);
        if (raw === undefined) return DEFAULTS[name] as number;
        const n = Number(raw);
        if (!Number.isFinite(n) || (opts.integer !== false && !Number.isInteger(n)) || n < opts.min) {
            problems.push(`'${name}' must be ${opts.integer !== false ? "an integer" : "a number"} >= ${opts.min} (got '${raw}')`);
            return DEFAULTS[name] as number;
        }
        return n;
    };
    const bool = (name: string, def: boolean): boolean => {
        const raw = str(name);
        if (raw === undefined) return def;
        if (raw === "true" || raw === "false") return raw === "true";
        problems.push(`'${name}' must be 'true' or 'false' (got '${raw}')`);
        return def;
    };
    const modelPath = str("MODEL_PATH");
    const mlflowTrackingUri = str("MLFLOW_TRACKING_URI");
    if (!modelPath && !mlflowTrackingUri) problems.push("'MLFLOW_TRACKING_URI' is required (or set 'MODEL_PATH' to serve a local model)");
    if (mlflowTrackingUri && !/^https?:\/\//.test(mlflowTrackingUri)) problems.push(`'MLFLOW_TRACKING_URI' must be an http(s) URL (got '${mlflowTrackingUri}')`);
    const mlflowUsername = str("MLFLOW_TRACKING_USERNAME");
    const mlflowPassword = str("MLFLOW_TRACKING_PASSWORD");
    // Half a login would be sent and refused on every poll: say so at start instead.
    if (mlflowUsername && !mlflowPassword) problems.push("'MLFLOW_TRACKING_PASSWORD' must be set when 'MLFLOW_TRACKING_USERNAME' is");
    if (mlflowPassword && !mlflowUsername) problems.push("'MLFLOW_TRACKING_USERNAME' must be set when 'MLFLOW_TRACKING_PASSWORD' is");
    if (mlflowUsername?.includes(":")) problems.push("'MLFLOW_TRACKING_USERNAME' must not contain ':' (HTTP basic auth)");
    const cfg: ModelApiConfig = {
        host: str("HOST") ?? "0.0.0.0",
        port: num("PORT", { min: 0 }),
        modelName: str("MODEL_NAME") ?? DEFAULTS.MODEL_NAME,
        modelAlias: str("MODEL_ALIAS") ?? DEFAULTS.MODEL_ALIAS,
        mlflowTrackingUri,
        mlflowTimeoutMs: num("MLFLOW_TIMEOUT_MS", { min: 1 }),
        mlflowDownloadTimeoutMs: num("MLFLOW_DOWNLOAD_TIMEOUT_MS", { min: 1 }),
        mlflowUsername,
        mlflowPassword,
        mlflowToken: str("MLFLOW_TRACKING_TOKEN"),
        modelPath,
        cacheDir: str("MODEL_CACHE_DIR"),
        maxModelBytes: num("MODEL_MAX_BYTES", { min: 1024 }),
        pollIntervalMs: Math.round(num("MODEL_POLL_INTERVAL_SECONDS", { min: 0, integer: false }) * 1000),
        retryInitialMs: num("MODEL_RETRY_INITIAL_MS", { min: 1 }),
        retryMaxMs: num("MODEL_RETRY_MAX_MS", { min: 1 }),
        databaseUrl: str("DATABASE_URL"),
        logMigrate: bool("INFERENCE_LOG_MIGRATE", true),
        logFlushMs: num("INFERENCE_LOG_FLUSH_MS", { min: 10 }),
        logBatchSize: num("INFERENCE_LOG_BATCH_SIZE", { min: 1 }),
        logMaxQueue: num("INFERENCE_LOG_MAX_QUEUE", { min: 1 }),
        bodyLimitBytes: num("BODY_LIMIT_BYTES", { min: 1024 }),
        maxBatchSize: num("MAX_BATCH_SIZE", { min: 1 }),
        requestTimeoutMs: num("REQUEST_TIMEOUT_MS", { min: 1 }),
        intraOpThreads: num("ORT_INTRA_OP_THREADS", { min: 1 }),
        hookToken: str("HOOK_TOKEN"),
        logLevel: str("LOG_LEVEL") ?? "info",
        logRequests: str("LOG_REQUESTS") === "true",
    };
    if (problems.length) {
        throw new Error(`Invalid model-api configuration (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return Object.freeze(cfg);
}
