/**
 * protectData: which resources a bare `pulumi destroy` refuses to delete and which
 * `pulumi destroy --exclude-protected` (npm run destroy) keeps in the state. The engine tier
 * runs the destroy itself; the cluster tier proves the data comes back on real pods.
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../program";

describe("GIVEN protectData, WHEN the program runs", () => {
    it("protects exactly the namespace and the credentials the retained data is bound to (--exclude-protected keeps them, a bare destroy stops at them)", async () => {
        const protectedProgram = await runProgram("dev", { protectData: true });
        const protectedNames = protectedProgram.recorder.resources.filter((r) => r.protect).map((r) => `${r.type} ${r.name}`).sort();
        expect(protectedNames).toEqual([
            "kubernetes:core/v1:Namespace namespace",
            "pulumi-nodejs:dynamic:Resource airflow-credentials-fernet-key",
            "pulumi-nodejs:dynamic:Resource postgres-superuser-password",
        ]);
        const ns = protectedProgram.recorder.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
        expect(ns.retainOnDelete).toBe(true);
    });
});
