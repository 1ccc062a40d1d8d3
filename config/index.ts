import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { airflowSchema } from "./airflow";
import { backupSchema } from "./backup";
import { minioSchema } from "./minio";
import { networkSchema } from "./network";
import { mlflowSchema } from "./mlflow";
import { platformSchema } from "./platform";
import { postgresSchema } from "./postgres";
import { grafanaSchema } from "./grafana";
import { imagesSchema } from "./images";
import { ingressSchema } from "./ingress";
import { prometheusSchema } from "./prometheus";
import { redisSchema } from "./redis";
import { retentionSchema } from "./retention";
import { statsdExporterSchema } from "./statsd-exporter";
import { dataApiSchema, modelApiSchema, uiSchema } from "./services";

export { parseCpu, parseMemory } from "./shared";
export type { Resources } from "./shared";

/**
 * The whole stack configuration. Every key lives in the project's config namespace
 * (`pulumi config set postgres '{"storage":{"size":"20Gi"}}' --path` or in Pulumi.<stack>.yaml);
 * defaults live here, stack files only override.
 */
export const configSchema = z
    .strictObject({
    ...platformSchema,
    postgres: postgresSchema,
    redis: redisSchema,
    minio: minioSchema,
    mlflow: mlflowSchema,
    airflow: airflowSchema,
    modelApi: modelApiSchema,
    dataApi: dataApiSchema,
    ui: uiSchema,
    prometheus: prometheusSchema,
    statsdExporter: statsdExporterSchema,
    grafana: grafanaSchema,
    images: imagesSchema,
    ingress: ingressSchema,
    retention: retentionSchema,
    backup: backupSchema,
    network: networkSchema,
    /**
     * HTTPS token for git-sync (set with `pulumi config set --secret gitSyncPassword ...`).
     * Validated here, then kept out of the plain config object: see loadSecrets().
     */
    gitSyncPassword: z.string().min(1, "must not be empty").optional(),
    /** Password for `images.registry` (`pulumi config set --secret registryPassword ...`). */
    registryPassword: z.string().min(1, "must not be empty").optional(),
    })
    .refine((c) => c.grafana.enabled || !c.ingress.enabled || c.ingress.hosts.grafana === undefined, {
        message: "is set but 'grafana.enabled' is false: remove the host or enable Grafana",
        path: ["ingress", "hosts", "grafana"],
    });

export type PlatformConfig = Readonly<Omit<z.infer<typeof configSchema>, "gitSyncPassword" | "registryPassword">>;

/** Secret settings, as Pulumi secrets so they never reach logs or state in plain text. */
export interface PlatformSecretsConfig {
    readonly gitSyncPassword?: pulumi.Output<string>;
    readonly registryPassword?: pulumi.Output<string>;
}

/** Raised when stack config is invalid; `problems` lists one line per bad field. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

function fieldName(path: readonly PropertyKey[]): string {
    return path.map(String).join(".");
}

function describe(value: unknown): string {
    return typeof value === "string" ? `'${value}'` : JSON.stringify(value);
}

/** One human sentence per zod issue, naming the field as a user writes it in config. */
function formatIssue(issue: z.core.$ZodIssue): string[] {
    const field = fieldName(issue.path);
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => `'${fieldName([...issue.path, key])}' is not a known setting`);
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
        const hint = issue.message.startsWith("required") ? issue.message.replace(/^required:?\s*/, "") : "";
        return [`'${field}' is required${hint ? ` (${hint})` : ""}`];
    }
    if (issue.code === "invalid_type") {
        const expected = issue.expected === "int" ? "whole number" : issue.expected;
        return [`'${field}' must be a ${expected} (got ${describe(issue.input)})`];
    }
    // A rule over a whole object (a refine) names the problem itself; echoing the object back would bury it.
    const got = "input" in issue && issue.input !== undefined && (typeof issue.input !== "object" || issue.input === null) ? ` (got ${describe(issue.input)})` : "";
    return [`'${field}' ${issue.message}${got}`];
}

/** Nested settings arrive as JSON strings; plain strings stay strings. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/**
 * Validates raw stack config (the `project:key -> string` map Pulumi hands a program)
 * and returns a frozen, typed object. Reports every problem at once.
 */
export function parseConfig(raw: Readonly<Record<string, string>>, project: string): PlatformConfig {
    const prefix = `${project}:`;
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
        if (key.startsWith(prefix)) {
            input[key.slice(prefix.length)] = decode(value);
        }
    }
    const result = configSchema.safeParse(input, { reportInput: true });
    if (!result.success) {
        throw new ConfigError(result.error.issues.flatMap(formatIssue));
    }
    const { gitSyncPassword: _git, registryPassword: _registry, ...plain } = result.data;
    return deepFreeze(plain);
}

/** Reads this stack's config once; call it at the program boundary only. */
export function loadConfig(): PlatformConfig {
    return parseConfig(pulumi.runtime.allConfig(), pulumi.getProject());
}

/** The secret settings (validated by loadConfig), wrapped as Pulumi secrets. */
export function loadSecrets(): PlatformSecretsConfig {
    const config = new pulumi.Config();
    return { gitSyncPassword: config.getSecret("gitSyncPassword"), registryPassword: config.getSecret("registryPassword") };
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object") {
        for (const child of Object.values(value)) {
            deepFreeze(child);
        }
        Object.freeze(value);
    }
    return value;
}
