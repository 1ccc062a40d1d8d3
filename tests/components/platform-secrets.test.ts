import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

describe("GIVEN the dev stack, WHEN the program runs, THEN the platform secrets", () => {
    it("generate each credential with @pulumi/random", () => {
        const passwords = program.recorder.ofType("random:index/randomPassword:RandomPassword");
        expect(passwords.map((p) => p.name).sort()).toEqual([
            "airflow-credentials-admin-password",
            "minio-credentials-root-password",
            "postgres-roles-airflow",
            "postgres-roles-mlflow",
            "postgres-roles-mlops",
            "postgres-superuser-password",
            "redis-credentials-password",
        ]);
        for (const p of passwords) {
            // Letters and digits only: safe inside DSNs and URLs without escaping.
            expect(p.inputs).toMatchObject({ length: 32, special: false });
        }
        expect(program.recorder.ofType("random:index/randomString:RandomString").map((s) => s.name)).toEqual(["minio-credentials-root-user"]);
        // Keys that must be raw bytes: the Fernet key (32 bytes) and the signing secrets.
        expect(
            program.recorder
                .ofType("random:index/randomBytes:RandomBytes")
                .map((b) => [b.name, b.inputs.length])
                .sort(),
        ).toEqual([
            ["airflow-credentials-api-secret-key", 32],
            ["airflow-credentials-fernet-key", 32],
            ["airflow-credentials-jwt-secret", 32],
        ]);
    });

    it("rotate with the credentials epoch, except the Postgres superuser", () => {
        const keepers = Object.fromEntries(program.recorder.ofType("random:index/randomPassword:RandomPassword").map((p) => [p.name, p.inputs.keepers]));
        expect(keepers["postgres-superuser-password"]).toBeUndefined();
        expect(keepers["postgres-roles-mlflow"]).toEqual({ epoch: "1" });
        expect(keepers["redis-credentials-password"]).toEqual({ epoch: "1" });
    });

    it("encode the Fernet key as URL-safe base64 of 32 bytes, as Airflow requires", () => {
        const key: string = k8sObject(program.recorder, "Secret", "airflow-credentials").stringData["fernet-key"];
        expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
        expect(Buffer.from(key, "base64url")).toHaveLength(32);
    });

    it("write Opaque Secrets whose values are Pulumi secrets", () => {
        const roles = k8sObject(program.recorder, "Secret", "postgres-roles");
        expect(roles.type).toBe("Opaque");
        expect(Object.keys(roles.stringData).sort()).toEqual(["airflow", "mlflow", "mlops"]);
        expect(roles.stringData.mlflow).toBe("gen-postgres-roles-mlflow");
        expect(k8sObject(program.recorder, "Secret", "minio-credentials").stringData["root-user"]).toBe("mlopsgen-minio-credentials-root-user");
    });

    it("fail loudly on a reference to a key that was never generated", async () => {
        const { PlatformSecrets } = await import("../../components/platform-secrets");
        const s = new PlatformSecrets("probe", { namespace: "mlops", epoch: "1", secrets: { "a-secret": { key: {} } } });
        expect(() => s.ref("a-secret", "other")).toThrow("PlatformSecrets has no key 'other' in Secret 'a-secret'");
        expect(() => s.value("nope", "key")).toThrow("PlatformSecrets has no key 'key' in Secret 'nope'");
    });
});
