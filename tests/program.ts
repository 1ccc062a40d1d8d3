import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { installMocks, Recorder, settle } from "./mocks";

export const PROJECT = "mlops-platform";
export const ROOT = path.resolve(__dirname, "..");

/** The `project:key -> string` map Pulumi would hand the program for a stack file. */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const merged: Record<string, unknown> = { ...(doc.config ?? {}) };
    for (const [key, value] of Object.entries(overrides)) {
        merged[key.includes(":") ? key : `${PROJECT}:${key}`] = value;
    }
    return Object.fromEntries(
        Object.entries(merged).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

export interface LoadedProgram {
    readonly recorder: Recorder;
    readonly exports: Record<string, any>;
}

/**
 * Runs index.ts under mocks for a stack file. Each vitest file gets its own module
 * graph, so call this once per file (the Pulumi runtime is process-global).
 */
export async function runProgram(stack: string, overrides: Record<string, unknown> = {}): Promise<LoadedProgram> {
    pulumi.runtime.setAllConfig(stackConfig(stack, overrides));
    const recorder = await installMocks(PROJECT, stack);
    const exports = (await import("../index")) as Record<string, any>;
    await settle(recorder);
    return { recorder, exports };
}
