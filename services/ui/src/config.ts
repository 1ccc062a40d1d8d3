import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { MlflowLogin } from "./mlflow.js";

export interface UiConfig {
    readonly host: string;
    readonly port: number;
    readonly modelApiUrl: string;
    readonly mlflowUrl: string;
    /** MLflow's login (HTTP basic auth), from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, as MLflow's own clients read them. */
    readonly mlflowAuth?: MlflowLogin;
    readonly dataApiUrl: string;
    readonly modelName: string;
    readonly productionAlias: string;
    /** The built browser app (vite build output). */
    readonly staticDir: string;
    readonly upstreamTimeoutMs: number;
    readonly logLevel: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

function url(name: string, value: string, problems: string[]): string {
    try {
        const u = new URL(value);
        if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
        return value.replace(/\/+$/, "");
    } catch {
        problems.push(`'${name}' must be an http(s) URL (got '${value}')`);
        return value;
    }
}

/** Reads the environment once; every problem is reported in one message naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): UiConfig {
    const problems: string[] = [];
    const port = Number(env.UI_PORT ?? 8501);
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`'UI_PORT' must be a port number (got '${env.UI_PORT}')`);
    const timeout = Number(env.UI_UPSTREAM_TIMEOUT_MS ?? 5000);
    if (!Number.isFinite(timeout) || timeout <= 0) problems.push(`'UI_UPSTREAM_TIMEOUT_MS' must be a positive number (got '${env.UI_UPSTREAM_TIMEOUT_MS}')`);
    const username = env.MLFLOW_TRACKING_USERNAME || undefined;
    const password = env.MLFLOW_TRACKING_PASSWORD || undefined;
    // One without the other would be sent as a login MLflow must refuse: say so at start instead.
    if (username && !password) problems.push("'MLFLOW_TRACKING_PASSWORD' must be set when 'MLFLOW_TRACKING_USERNAME' is");
    if (password && !username) problems.push("'MLFLOW_TRACKING_USERNAME' must be set when 'MLFLOW_TRACKING_PASSWORD' is");
    if (username?.includes(":")) problems.push("'MLFLOW_TRACKING_USERNAME' must not contain ':' (HTTP basic auth)");
    const config: UiConfig = {
        host: env.UI_HOST ?? "0.0.0.0",
        port,
        modelApiUrl: url("MODEL_API_URL", env.MODEL_API_URL ?? "http://model-api:8989", problems),
        mlflowUrl: url("MLFLOW_URL", env.MLFLOW_URL ?? "http://mlflow:5000", problems),
        mlflowAuth: username && password ? Object.freeze({ username, password }) : undefined,
        dataApiUrl: url("DATA_API_URL", env.DATA_API_URL ?? "http://data-api:80", problems),
        modelName: env.MODEL_NAME ?? "realtor-price",
        productionAlias: env.MODEL_ALIAS ?? "production",
        staticDir: env.UI_STATIC_DIR ?? path.resolve(here, "web"),
        upstreamTimeoutMs: timeout,
        logLevel: env.UI_LOG_LEVEL ?? "info",
    };
    if (problems.length) throw new Error(`Invalid ui configuration (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    return Object.freeze(config);
}
