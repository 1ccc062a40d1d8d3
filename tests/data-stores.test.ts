/**
 * No routine `pulumi up` may replace a data store's claims. The Kubernetes provider replaces a
 * StatefulSet when a field the API server treats as immutable changes (volumeClaimTemplates
 * above all), so: render the program twice, once as deployed and once after an upgrade
 * (every image bumped, every volume grown), and require every StatefulSet's immutable fields
 * to be equal, except the claim size that the program hands to a claim patch instead.
 * The engine tier proves the same on a real API server (scripts/test-engine.sh).
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { CLAIM_SIZE_PATH } from "../components/shared/data-store";
import { volumeRequestProblems } from "../components/shared/volume-request";
import type { Registered } from "./mocks";
import { runProgram } from "./program";

/** StatefulSet spec fields the API server refuses to update, i.e. what makes the provider replace. */
const IMMUTABLE = ["selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"] as const;

const UPGRADE = {
    "postgres": { image: "docker.io/library/postgres:17.7-bookworm", storage: { size: "8Gi" } },
    "redis": { image: "docker.io/library/redis:7.2.12-alpine", persistence: { size: "2Gi" } },
    "minio": { image: "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z", storage: { size: "20Gi" } },
    "prometheus": { image: "docker.io/prom/prometheus:v3.7.3", storage: { size: "4Gi" } },
};

let before: Registered[];
let after: Registered[];
let all: Registered[];
beforeAll(async () => {
    all = (await runProgram("dev")).recorder.resources;
    before = all.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet");
    // A second program run in the same process: fresh program modules, new mocks and recorder.
    vi.resetModules();
    const upgraded = await runProgram("dev", UPGRADE);
    after = upgraded.recorder.resources.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet");
}, 120_000);

function withoutIgnored(spec: any): any {
    const copy = JSON.parse(JSON.stringify(spec));
    for (const t of copy.volumeClaimTemplates ?? []) delete t.spec.resources.requests.storage;
    return copy;
}

describe("every StatefulSet of the program", () => {
    it("is a data store we know (the upgrade below covers each)", () => {
        expect(before.map((s) => s.name).sort()).toEqual(Object.keys(UPGRADE).sort());
    });

    it("really sees the upgrade: image and claim size differ between the two renderings", () => {
        for (const sts of before) {
            const next = after.find((s) => s.name === sts.name)!;
            expect(next.inputs.spec.template.spec.containers[0].image, sts.name).not.toBe(sts.inputs.spec.template.spec.containers[0].image);
            expect(next.inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage, sts.name).not.toBe(
                sts.inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage,
            );
        }
    });

    it("keeps its immutable fields through an image bump and a volume expansion (an update, never a replacement)", () => {
        for (const sts of before) {
            const next = after.find((s) => s.name === sts.name)!;
            for (const field of IMMUTABLE) {
                expect(withoutIgnored(next.inputs.spec)[field], `${sts.name}.spec.${field}`).toEqual(withoutIgnored(sts.inputs.spec)[field]);
            }
        }
    });

    it("leaves the claim size to the claim patches (ignoreChanges), and nothing else", () => {
        for (const sts of before) {
            expect(sts.ignoreChanges, sts.name).toEqual([CLAIM_SIZE_PATH]);
        }
    });

    it("puts no version label on its claims, and retains them when deleted or scaled down", () => {
        for (const sts of before) {
            for (const t of sts.inputs.spec.volumeClaimTemplates) {
                expect(Object.keys(t.metadata.labels), sts.name).not.toContain("app.kubernetes.io/version");
                expect(t.metadata.labels["app.kubernetes.io/name"], sts.name).toBe(sts.name);
            }
            expect(sts.inputs.spec.persistentVolumeClaimRetentionPolicy, sts.name).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
        }
    });

    it("has one claim patch per replica, at the configured size, forced, retained on delete, after the StatefulSet", () => {
        const patches = all.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaimPatch");
        expect(patches.map((p) => p.name).sort()).toEqual(before.map((s) => `data-${s.name}-0`).sort());
        for (const sts of before) {
            const patch = patches.find((p) => p.name === `data-${sts.name}-0`)!;
            expect(patch.inputs.metadata).toMatchObject({ name: `data-${sts.name}-0`, namespace: "mlops", annotations: { "pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true" } });
            expect(patch.inputs.spec).toEqual({ resources: { requests: { storage: sts.inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage } } });
            expect(patch.retainOnDelete, patch.name).toBe(true);
            expect(patch.dependencies, patch.name).toContain(sts.urn);
        }
    });

    it("records each volume's request under the config field that sets it", () => {
        const requests = all.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.inputs.configPath);
        expect(Object.fromEntries(requests.map((r) => [r.name, [r.inputs.configPath, r.inputs.size, r.inputs.storageClass]]))).toEqual({
            "postgres-data": ["postgres.storage", "5Gi", "standard"],
            "redis-data": ["redis.persistence", "1Gi", "standard"],
            "minio-data": ["minio.storage", "10Gi", "standard"],
            "prometheus-data": ["prometheus.storage", "2Gi", "standard"],
        });
    });
});

describe("a volume request against the one in the state", () => {
    const old = { configPath: "postgres.storage", size: "5Gi", storageClass: "standard" };
    it.each([
        ["the first up", {}, { ...old }],
        ["the same request", old, { ...old }],
        ["a larger size", old, { ...old, size: "8Gi" }],
        ["an equal size spelled otherwise", old, { ...old, size: "5120Mi" }],
    ])("accepts %s", (_what, olds, news) => {
        expect(volumeRequestProblems(olds, news)).toEqual([]);
    });

    it("refuses a shrink, naming the field and the way back", () => {
        expect(volumeRequestProblems(old, { ...old, size: "4Gi" })).toEqual([
            {
                property: "size",
                reason: expect.stringMatching(/^'postgres\.storage\.size' cannot shrink \(was 5Gi, now 4Gi\).*Set it back to 5Gi or more/),
            },
        ]);
        expect(volumeRequestProblems(old, { ...old, size: "5000Mi" })).toHaveLength(1);
    });

    it("refuses a change of StorageClass, naming the field", () => {
        expect(volumeRequestProblems(old, { ...old, storageClass: "fast" })).toEqual([
            { property: "storageClass", reason: expect.stringMatching(/^'postgres\.storage\.storageClass' cannot change for an existing volume \(was 'standard', now 'fast'\)/) },
        ]);
    });
});
