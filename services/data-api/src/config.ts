import { z } from "zod";

/**
 * Everything the data API reads from its environment, parsed once at start. Every problem is
 * reported in one message naming the variable, so a bad Deployment fails at boot, not at request time.
 */
const intFrom = (name: string, def: number, min: number) =>
    z
        .string()
        .optional()
        .transform((v, ctx) => {
            if (v === undefined || v === "") return def;
            const n = Number(v);
            if (!Number.isInteger(n) || n < min) {
                ctx.addIssue({ code: "custom", message: `'${name}' must be an integer >= ${min} (got '${v}')` });
                return z.NEVER;
            }
            return n;
        });

const numFrom = (name: string, def: number, min: number, max: number) =>
    z
        .string()
        .optional()
        .transform((v, ctx) => {
            if (v === undefined || v === "") return def;
            const n = Number(v);
            if (!Number.isFinite(n) || n < min || n > max) {
                ctx.addIssue({ code: "custom", message: `'${name}' must be a number in [${min}, ${max}] (got '${v}')` });
                return z.NEVER;
            }
            return n;
        });

const envSchema = z
    .object({
        DATA_API_HOST: z.string().default("0.0.0.0"),
        DATA_API_PORT: intFrom("DATA_API_PORT", 8000, 0),
        DATA_API_GROUP_MIN: intFrom("DATA_API_GROUP_MIN", 1, 0),
        DATA_API_GROUP_MAX: intFrom("DATA_API_GROUP_MAX", 10, 0),
        DATA_API_DAYS: z.string().default("Tuesday,Wednesday"),
        DATA_API_BATCHES: intFrom("DATA_API_BATCHES", 10, 1),
        DATA_API_BATCH_SIZE: intFrom("DATA_API_BATCH_SIZE", 1000, 1),
        DATA_API_INTERVAL_SECONDS: numFrom("DATA_API_INTERVAL_SECONDS", 300, 0, 86_400),
        DATA_API_SEED: intFrom("DATA_API_SEED", 42, 0),
        DATA_API_DIRTY_SHARE: numFrom("DATA_API_DIRTY_SHARE", 0.03, 0, 1),
        DATA_API_CSV_PATH: z.string().optional(),
        DATA_API_CSV_MAX_ROWS: intFrom("DATA_API_CSV_MAX_ROWS", 200_000, 1),
        DATA_API_STATE_BACKEND: z.enum(["file", "postgres"], { message: "'DATA_API_STATE_BACKEND' must be 'file' or 'postgres'" }).default("file"),
        DATA_API_STATE_FILE: z.string().default("data-api-state.json"),
        DATA_API_DATABASE_URL: z.string().optional(),
        DATA_API_DB_CONNECT_TIMEOUT_MS: intFrom("DATA_API_DB_CONNECT_TIMEOUT_MS", 2_000, 1),
        DATA_API_DB_STATEMENT_TIMEOUT_MS: intFrom("DATA_API_DB_STATEMENT_TIMEOUT_MS", 5_000, 1),
        /** `false` where the migrations run elsewhere as the owner (`dist/migrate.js`, the platform's init container). */
        DATA_API_DB_MIGRATE: z.enum(["true", "false"], { message: "'DATA_API_DB_MIGRATE' must be 'true' or 'false'" }).default("true"),
        /** When set, /restart_data_generation requires `Authorization: Bearer <token>`. */
        DATA_API_RESTART_TOKEN: z.string().optional(),
        DATA_API_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    ;

/** Checks across variables, on the raw environment so they are reported alongside per-field problems. */
function crossFieldProblems(env: NodeJS.ProcessEnv): string[] {
    const problems: string[] = [];
    const min = Number(env.DATA_API_GROUP_MIN || 1);
    const max = Number(env.DATA_API_GROUP_MAX || 10);
    if (Number.isInteger(min) && Number.isInteger(max) && max < min) {
        problems.push(`DATA_API_GROUP_MAX: must be >= DATA_API_GROUP_MIN (got ${max} < ${min})`);
    }
    if (env.DATA_API_STATE_BACKEND === "postgres" && !env.DATA_API_DATABASE_URL) {
        problems.push("DATA_API_DATABASE_URL: 'DATA_API_DATABASE_URL' is required when DATA_API_STATE_BACKEND=postgres");
    }
    return problems;
}

export interface DataApiConfig {
    readonly host: string;
    readonly port: number;
    readonly groups: { readonly min: number; readonly max: number };
    /** Accepted `day` values, in their canonical spelling (matching is case-insensitive). */
    readonly days: readonly string[];
    readonly batches: number;
    readonly batchSize: number;
    readonly intervalSeconds: number;
    readonly seed: number;
    readonly dirtyShare: number;
    readonly csvPath?: string;
    readonly csvMaxRows: number;
    readonly state:
        | { readonly backend: "file"; readonly file: string }
        | { readonly backend: "postgres"; readonly databaseUrl: string; readonly connectTimeoutMs: number; readonly statementTimeoutMs: number; readonly migrate: boolean };
    readonly logLevel: string;
    /** Required by /restart_data_generation as a bearer token when set (the platform always sets it). */
    readonly restartToken?: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): DataApiConfig {
    const parsed = envSchema.safeParse(env);
    const problems = [
        ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.length ? `${String(i.path[0])}: ` : ""}${i.message}`)),
        ...crossFieldProblems(env),
    ].map((p) => `  - ${p}`);
    if (!parsed.success || problems.length > 0) {
        throw new Error(`Invalid data-api configuration (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n${problems.join("\n")}`);
    }
    const e = parsed.data!;
    const days = e.DATA_API_DAYS.split(",").map((d) => d.trim()).filter(Boolean);
    if (days.length === 0) throw new Error("Invalid data-api configuration: 'DATA_API_DAYS' must list at least one day");
    return Object.freeze({
        host: e.DATA_API_HOST,
        port: e.DATA_API_PORT,
        groups: { min: e.DATA_API_GROUP_MIN, max: e.DATA_API_GROUP_MAX },
        days,
        batches: e.DATA_API_BATCHES,
        batchSize: e.DATA_API_BATCH_SIZE,
        intervalSeconds: e.DATA_API_INTERVAL_SECONDS,
        seed: e.DATA_API_SEED,
        dirtyShare: e.DATA_API_DIRTY_SHARE,
        csvPath: e.DATA_API_CSV_PATH || undefined,
        csvMaxRows: e.DATA_API_CSV_MAX_ROWS,
        state:
            e.DATA_API_STATE_BACKEND === "postgres"
                ? {
                      backend: "postgres" as const,
                      databaseUrl: e.DATA_API_DATABASE_URL!,
                      connectTimeoutMs: e.DATA_API_DB_CONNECT_TIMEOUT_MS,
                      statementTimeoutMs: e.DATA_API_DB_STATEMENT_TIMEOUT_MS,
                      migrate: e.DATA_API_DB_MIGRATE === "true",
                  }
                : { backend: "file" as const, file: e.DATA_API_STATE_FILE },
        logLevel: e.DATA_API_LOG_LEVEL,
        restartToken: e.DATA_API_RESTART_TOKEN?.trim() || undefined,
    });
}
