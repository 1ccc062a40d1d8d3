import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

describe("GIVEN the dev stack, WHEN the program runs, THEN the platform secrets", () => {
    it("generate each credential in the engine, as a secret output", () => {
        const generated = program.recorder.ofType("pulumi-nodejs:dynamic:Resource").filter((r) => r.inputs.encoding !== undefined);
        expect(Object.fromEntries(generated.map((g) => [g.name, [g.inputs.encoding, g.inputs.length]]))).toEqual({
            "postgres-superuser-password": ["alphanumeric", 32],
            "postgres-roles-airflow": ["alphanumeric", 32],
            "postgres-roles-mlflow": ["alphanumeric", 32],
            "postgres-roles-mlflow_auth": ["alphanumeric", 32],
            "postgres-roles-mlops": ["alphanumeric", 32],
            // The services' own login roles in `mlops`, which own nothing.
            "postgres-service-roles-model_api": ["alphanumeric", 32],
            "postgres-service-roles-data_api": ["alphanumeric", 32],
            "redis-credentials-password": ["alphanumeric", 32],
            "minio-credentials-root-user": ["username", 12],
            "minio-credentials-root-password": ["alphanumeric", 32],
            // One user per MinIO client, limited to its buckets.
            "minio-mlflow-access-key": ["username", 12],
            "minio-mlflow-secret-key": ["alphanumeric", 32],
            "minio-airflow-logs-access-key": ["username", 12],
            "minio-airflow-logs-secret-key": ["alphanumeric", 32],
            "minio-backup-access-key": ["username", 12],
            "minio-backup-secret-key": ["alphanumeric", 32],
            "airflow-credentials-admin-password": ["alphanumeric", 32],
            "grafana-credentials-admin-password": ["alphanumeric", 32],
            // MLflow's auth app: the admin, the key that signs its sign-up form, one login per client.
            "mlflow-auth-admin-password": ["alphanumeric", 32],
            "mlflow-auth-flask-secret-key": ["hex", 32],
            "mlflow-user-airflow-password": ["alphanumeric", 32],
            "mlflow-user-model-api-password": ["alphanumeric", 32],
            "mlflow-user-ui-password": ["alphanumeric", 32],
            "mlflow-user-prometheus-password": ["alphanumeric", 32],
            "mlflow-user-gc-password": ["alphanumeric", 32],
            // Raw bytes: the Fernet key (32 bytes, as Fernet requires) and the signing secrets.
            "airflow-credentials-fernet-key": ["base64url", 32],
            "airflow-credentials-jwt-secret": ["hex", 32],
            "airflow-credentials-api-secret-key": ["hex", 32],
            // The model API's hook token: the model API requires it, the train DAG sends it.
            "model-api-hook-token": ["hex", 32],
            "data-api-restart-token": ["hex", 32],
        });
        for (const g of generated) {
            // Stored encrypted in state: the engine is told the value is a secret.
            expect(g.inputs.__provider, g.name).toContain("randomBytes");
        }
    });

    it("rotate with the credentials epoch, except the two that stored data is bound to", () => {
        const keepers = Object.fromEntries(program.recorder.ofType("pulumi-nodejs:dynamic:Resource").map((p) => [p.name, p.inputs.keepers]));
        expect(keepers["postgres-superuser-password"]).toBeUndefined();
        expect(keepers["airflow-credentials-fernet-key"]).toBeUndefined();
        expect(keepers["airflow-credentials-jwt-secret"]).toEqual({ epoch: "1" });
        expect(keepers["postgres-roles-mlflow"]).toEqual({ epoch: "1" });
        expect(keepers["postgres-service-roles-model_api"]).toEqual({ epoch: "1" });
        expect(keepers["redis-credentials-password"]).toEqual({ epoch: "1" });
        // MLflow's admin rotates too: its pod's auth setup sets the password at every start.
        expect(keepers["mlflow-auth-admin-password"]).toEqual({ epoch: "1" });
        expect(keepers["mlflow-user-airflow-password"]).toEqual({ epoch: "1" });
    });

    it("encode the Fernet key as URL-safe base64 of 32 bytes, as Airflow requires, and passwords DSN-safe", async () => {
        // The generator itself, run as the engine runs it: 32 bytes, URL-safe, padded.
        const { generateSecretValue: generateForTest } = await import("../../components/generated-secret");
        const key = generateForTest("base64url", 32);
        expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
        expect(Buffer.from(key, "base64url")).toHaveLength(32);
        const password = generateForTest("alphanumeric", 32);
        expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(generateForTest("alphanumeric", 32)).not.toBe(password);
        expect(generateForTest("hex", 32)).toMatch(/^[0-9a-f]{64}$/);
        expect(generateForTest("username", 12)).toMatch(/^[a-z0-9]{12}$/);
    });

    it("write Opaque Secrets whose values are Pulumi secrets", () => {
        const roles = k8sObject(program.recorder, "Secret", "postgres-roles");
        expect(roles.type).toBe("Opaque");
        expect(Object.keys(roles.stringData).sort()).toEqual(["airflow", "mlflow", "mlflow_auth", "mlops"]);
        expect(roles.stringData.mlflow).toBe("gen-postgres-roles-mlflow");
        const serviceRoles = k8sObject(program.recorder, "Secret", "postgres-service-roles");
        expect(Object.keys(serviceRoles.stringData).sort()).toEqual(["data_api", "model_api"]);
        expect(k8sObject(program.recorder, "Secret", "minio-credentials").stringData["root-user"]).toBe("mlopsgen-minio-credentials-root-user");
    });

    it("protect nothing while protectData is off", () => {
        expect(program.recorder.resources.filter((r) => r.protect).map((r) => r.name)).toEqual([]);
    });

    it("refuse a credential that is bound to data but would rotate", async () => {
        const { PlatformSecrets } = await import("../../components/platform-secrets");
        expect(() => new PlatformSecrets("bound", { namespace: "mlops", epoch: "1", secrets: { s: { k: { boundToData: true } } } }))
            .toThrow("PlatformSecrets: 's.k' is bound to data, so it cannot rotate with the epoch (set rotate: false)");
    });

    it("fail loudly on a reference to a key that was never generated", async () => {
        const { PlatformSecrets } = await import("../../components/platform-secrets");
        const s = new PlatformSecrets("probe", { namespace: "mlops", epoch: "1", secrets: { "a-secret": { key: {} } } });
        expect(() => s.ref("a-secret", "other")).toThrow("PlatformSecrets has no key 'other' in Secret 'a-secret'");
        expect(() => s.value("nope", "key")).toThrow("PlatformSecrets has no key 'key' in Secret 'nope'");
    });
});

describe("GIVEN a generated credential already in the state", () => {
    it("replaces it when its rotation epoch changes, and keeps it when it stops rotating", async () => {
        const mod = await import("../../components/generated-secret");
        const provider = (mod as any).generatedSecretProvider as { diff: (id: string, olds: any, news: any) => Promise<any> };
        const olds = { encoding: "base64url", length: 32, keepers: { epoch: "1" }, value: "k" };
        expect((await provider.diff("id", olds, { encoding: "base64url", length: 32, keepers: { epoch: "2" } })).replaces).toEqual(["keepers"]);
        expect(await provider.diff("id", olds, { encoding: "base64url", length: 32 })).toMatchObject({ changes: false, replaces: [] });
        expect(await provider.diff("id", olds, { encoding: "base64url", length: 32, keepers: { epoch: "1" } })).toMatchObject({ changes: false });
    });
});
