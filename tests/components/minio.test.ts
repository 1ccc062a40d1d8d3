import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { K8sObject, podTemplates } from "../integrity";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

const CREDENTIALS = [
    { name: "MINIO_ROOT_USER", valueFrom: secretRef("minio-credentials", "root-user") },
    { name: "MINIO_ROOT_PASSWORD", valueFrom: secretRef("minio-credentials", "root-password") },
];

describe("GIVEN the dev stack, WHEN the program runs, THEN MinIO", () => {
    it("serves the API on 9000 and the console on 9001 from a 10Gi PVC", () => {
        const sts = k8sObject(program.recorder, "StatefulSet", "minio");
        const c = sts.spec.template.spec.containers[0];
        expect(c.image).toBe("quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z");
        expect(c.args).toEqual(["server", "/data", "--address", ":9000", "--console-address", ":9001"]);
        expect(c.ports).toEqual([
            { name: "api", containerPort: 9000 },
            { name: "console", containerPort: 9001 },
        ]);
        expect(c.env).toEqual([...CREDENTIALS, { name: "MINIO_PROMETHEUS_AUTH_TYPE", value: "public" }, { name: "HOME", value: "/tmp" }]);
        expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/minio/health/ready", port: "api" } });
        expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/minio/health/live", port: "api" } });
        expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("10Gi");
        expect(k8sObject(program.recorder, "Service", "minio").spec.ports).toEqual([
            { name: "api", port: 9000, targetPort: "api" },
            { name: "console", port: 9001, targetPort: "console" },
        ]);
    });

    it("runs restricted as a non-root uid", () => {
        const pod = k8sObject(program.recorder, "StatefulSet", "minio").spec.template.spec;
        expect(pod.securityContext).toEqual(podSecurity(1000, 1000));
        expect(pod.containers[0].securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
    });

    it("creates buckets mlflow and airflow-logs idempotently, then sets the logs' expiry, in a Job whose alias URL holds only $(VAR) references", () => {
        const job = k8sObject(program.recorder, "Job", "minio-buckets");
        const pod = job.spec.template.spec;
        // One mc command per container, in order: init containers first, the Job's container last.
        const steps = [...pod.initContainers, ...pod.containers];
        expect(steps.map((c: any) => [c.name, c.command])).toEqual([
            ["mc", ["mc", "mb", "--ignore-existing", "platform/mlflow", "platform/airflow-logs", "platform/backups"]],
            ["expire-airflow-logs-1", ["mc", "ilm", "rule", "add", "--expire-days", "30", "platform/airflow-logs"]],
            ["expire-airflow-logs-2", ["mc", "ilm", "rule", "rm", "--all", "--force", "platform/airflow-logs"]],
            ["expire-airflow-logs-3", ["mc", "ilm", "rule", "add", "--expire-days", "30", "platform/airflow-logs"]],
            ["expire-backups-1", ["mc", "ilm", "rule", "add", "--expire-days", "14", "platform/backups"]],
            ["expire-backups-2", ["mc", "ilm", "rule", "rm", "--all", "--force", "platform/backups"]],
            ["expire-backups-3", ["mc", "ilm", "rule", "add", "--expire-days", "14", "platform/backups"]],
            // The model artifacts: versioned, so what MLflow deletes or overwrites stays recoverable for 30 days.
            ["version-mlflow", ["mc", "version", "enable", "platform/mlflow"]],
            ["noncurrent-mlflow-1", ["mc", "ilm", "rule", "add", "--noncurrent-expire-days", "30", "platform/mlflow"]],
            ["noncurrent-mlflow-2", ["mc", "ilm", "rule", "rm", "--all", "--force", "platform/mlflow"]],
            ["noncurrent-mlflow-3", ["mc", "ilm", "rule", "add", "--noncurrent-expire-days", "30", "platform/mlflow"]],
            // One user per client, its policy from the mounted ConfigMap, attached: all idempotent.
            ...["mlflow", "airflow-logs", "backup"].flatMap((u) => {
                const v = u.toUpperCase().replace("-", "_");
                return [
                    [`user-${u}`, ["mc", "admin", "user", "add", "platform", `$(ACCESS_KEY_${v})`, `$(SECRET_KEY_${v})`]],
                    [`policy-${u}`, ["mc", "admin", "policy", "create", "platform", `${u}-access`, `/policies/${u}.json`]],
                    [`attach-${u}`, ["mc", "admin", "policy", "attach", "platform", `${u}-access`, "--user", `$(ACCESS_KEY_${v})`]],
                ];
            }),
        ]);
        const userKeys = ["mlflow", "airflow-logs", "backup"].flatMap((u) => {
            const v = u.toUpperCase().replace("-", "_");
            return [
                { name: `ACCESS_KEY_${v}`, valueFrom: secretRef(`minio-${u}`, "access-key") },
                { name: `SECRET_KEY_${v}`, valueFrom: secretRef(`minio-${u}`, "secret-key") },
            ];
        });
        for (const c of steps) {
            expect(c.image).toBe("quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z");
            expect(c.env).toEqual([
                ...CREDENTIALS,
                // Only the steps that name a user see its keys.
                ...(/^(user|attach)-/.test(c.name) ? userKeys : []),
                { name: "MC_HOST_platform", value: "http://$(MINIO_ROOT_USER):$(MINIO_ROOT_PASSWORD)@minio.mlops.svc.cluster.local:9000" },
                { name: "MC_CONFIG_DIR", value: "/tmp/.mc" },
            ]);
            expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        }
        // The policies grant each user exactly its buckets.
        const docs = k8sObject(program.recorder, "ConfigMap", "minio-policies").data;
        const granted = (doc: string) => JSON.parse(doc).Statement.map((st: any) => st.Resource[0]).filter((r: string) => !r.endsWith("/*"));
        expect(granted(docs["mlflow.json"])).toEqual(["arn:aws:s3:::mlflow"]);
        expect(granted(docs["airflow-logs.json"])).toEqual(["arn:aws:s3:::airflow-logs"]);
        expect(granted(docs["backup.json"])).toEqual(["arn:aws:s3:::mlflow", "arn:aws:s3:::backups"]);
        expect(pod.securityContext).toEqual(podSecurity(1000, 1000));
    });

    it("refuses an expiry for a bucket it does not create, or of no whole days", async () => {
        const { Minio } = await import("../../components/minio");
        const base = { namespace: "mlops", config: {} as any, storageClass: "standard", rootUser: { name: "s", key: "u" }, rootPassword: { name: "s", key: "p" }, credentialsChecksum: "c" };
        expect(() => new Minio("bad-expiry", { ...base, buckets: ["mlflow"], expiryDays: { logs: 30 } })).toThrow("'expiryDays' names bucket 'logs', which is not in 'buckets'");
        expect(() => new Minio("bad-days", { ...base, buckets: ["mlflow"], expiryDays: { mlflow: 0.5 } })).toThrow("'expiryDays.mlflow' must be a whole number of days >= 1 (got 0.5)");
        expect(() => new Minio("bad-versioned", { ...base, buckets: ["mlflow"], versionedDays: { logs: 30 } })).toThrow("'versionedDays' names bucket 'logs', which is not in 'buckets'");
        expect(() => new Minio("both-rules", { ...base, buckets: ["mlflow"], expiryDays: { mlflow: 3 }, versionedDays: { mlflow: 30 } })).toThrow(
            "bucket 'mlflow' is in both 'expiryDays' and 'versionedDays': a bucket holds one kind of rule",
        );
    });

    it("keeps the root credentials to the server and the bucket Job: every other pod has a user of its own", () => {
        const holders = new Set<string>();
        for (const t of podTemplates(program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject))) {
            for (const c of [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])]) {
                if ((c.env ?? []).some((e: any) => e.valueFrom?.secretKeyRef?.name === "minio-credentials")) holders.add(`${t.owner.kind}/${t.owner.metadata.name ?? "<auto-named>"}`);
            }
        }
        expect([...holders].sort()).toEqual(["Job/<auto-named>", "StatefulSet/minio"]);
        expect(k8sObject(program.recorder, "Job", "minio-buckets").metadata.name).toBeUndefined();
    });

    it("rejects bucket names S3 would refuse", async () => {
        const { validateBucketName } = await import("../../components/minio");
        expect(validateBucketName("mlflow")).toBe("mlflow");
        expect(() => validateBucketName("ML_Flow")).toThrow("bucket name 'ML_Flow' must be 3-63 characters of a-z, 0-9, '.', '-'");
    });
});
