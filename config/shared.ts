import { z } from "zod";

/**
 * Building blocks shared by the per-service schemas: Kubernetes quantities,
 * pinned images and container resources.
 */

const CPU_PATTERN = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY_PATTERN = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** CPU quantity as Kubernetes writes it: `250m`, `1`, `0.5`. */
export const cpuQuantity = z
    .string()
    .regex(CPU_PATTERN, "must be a CPU quantity such as '250m' or '1'");

/** Memory or storage quantity as Kubernetes writes it: `512Mi`, `5Gi`. */
export const memoryQuantity = z
    .string()
    .regex(MEMORY_PATTERN, "must be a quantity such as '512Mi' or '5Gi'");

/** Storage size: a memory-style quantity that must not be zero. */
export const storageSize = memoryQuantity.refine(
    // A malformed quantity is already reported by the pattern; only judge well-formed ones here.
    (q) => !MEMORY_PATTERN.test(q) || parseMemory(q) > 0,
    "must be greater than zero",
);

const MEMORY_FACTORS: Record<string, number> = {
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
};

/** Millicores of a CPU quantity (`250m` -> 250, `1` -> 1000). */
export function parseCpu(quantity: string): number {
    if (!CPU_PATTERN.test(quantity)) {
        throw new Error(`not a CPU quantity: '${quantity}'`);
    }
    return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}

/** Bytes of a memory quantity (`512Mi` -> 536870912). */
export function parseMemory(quantity: string): number {
    const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
    if (!match) {
        throw new Error(`not a memory quantity: '${quantity}'`);
    }
    return Math.round(Number(match[1]) * (MEMORY_FACTORS[match[2] ?? ""] ?? 1));
}

/**
 * A container image pinned to a version. `latest` and untagged references are
 * rejected: a deployment must be reproducible from its config alone.
 */
export const image = z
    .string()
    .regex(
        /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
        "must be an image reference such as 'docker.io/library/postgres:17.2'",
    )
    .refine((ref) => /:[^/]+$|@sha256:/.test(ref), "must be pinned to a tag or digest")
    .refine((ref) => !/:latest$/.test(ref), "must not use the floating tag 'latest'");

/** Requests and limits for one container. CPU limits are deliberately absent (see components/shared/resources.ts). */
export const resources = z.strictObject({
    cpu: cpuQuantity,
    memory: memoryQuantity,
    memoryLimit: memoryQuantity,
});
export type Resources = z.infer<typeof resources>;

/** Shorthand for a resources default. */
export function res(cpu: string, memory: string, memoryLimit: string): Resources {
    return { cpu, memory, memoryLimit };
}

/** A DNS-1123 label: the names Kubernetes accepts for namespaces and Services. */
export const dnsLabel = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lower case letters, digits, '-')");
