import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, RESTRICTED_CONTAINER, secretRef } from "../helpers";
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

    it("creates buckets mlflow and airflow-logs idempotently in a Job whose alias URL holds only $(VAR) references", () => {
        const job = k8sObject(program.recorder, "Job", "minio-buckets");
        const pod = job.spec.template.spec;
        const c = pod.containers[0];
        expect(c.image).toBe("quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z");
        expect(c.command).toEqual(["mc", "mb", "--ignore-existing", "platform/mlflow", "platform/airflow-logs"]);
        expect(c.env).toEqual([
            ...CREDENTIALS,
            { name: "MC_HOST_platform", value: "http://$(MINIO_ROOT_USER):$(MINIO_ROOT_PASSWORD)@minio:9000" },
            { name: "MC_CONFIG_DIR", value: "/tmp/.mc" },
        ]);
        expect(pod.securityContext).toEqual(podSecurity(1000, 1000));
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
    });

    it("rejects bucket names S3 would refuse", async () => {
        const { validateBucketName } = await import("../../components/minio");
        expect(validateBucketName("mlflow")).toBe("mlflow");
        expect(() => validateBucketName("ML_Flow")).toThrow("bucket name 'ML_Flow' must be 3-63 characters of a-z, 0-9, '.', '-'");
    });
});
