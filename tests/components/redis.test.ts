import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { settle } from "../mocks";
import { LoadedProgram, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

describe("GIVEN the dev stack, WHEN the program runs, THEN Redis", () => {
    it("is a password-protected StatefulSet with an append-only file on a 1Gi PVC", () => {
        const sts = k8sObject(program.recorder, "StatefulSet", "redis");
        const pod = sts.spec.template.spec;
        const c = pod.containers[0];
        expect(c.image).toBe("docker.io/library/redis:7.2.7-alpine");
        expect(c.command).toEqual([
            "sh",
            "-c",
            'exec redis-server --port 6379 --dir /data --appendonly yes --appendfsync everysec --requirepass "$REDIS_PASSWORD"',
        ]);
        expect(c.env).toEqual([
            { name: "REDIS_PASSWORD", valueFrom: secretRef("redis-credentials", "password") },
            { name: "REDISCLI_AUTH", valueFrom: secretRef("redis-credentials", "password") },
        ]);
        expect(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.resources.requests.storage])).toEqual([["data", "1Gi"]]);
        expect(pod.volumes).toEqual([]);
        expect(sts.spec.template.metadata.annotations["mlops.dev/credentials-checksum"]).toMatch(/^[0-9a-f]{64}$/);
    });

    it("runs as the redis user, read-only root filesystem, restricted", () => {
        const pod = k8sObject(program.recorder, "StatefulSet", "redis").spec.template.spec;
        expect(pod.securityContext).toEqual(podSecurity(999, 1000));
        expect(pod.containers[0].securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true });
        expect(pod.containers[0].resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } });
    });

    it("probes with an authenticated PING whose password stays off the command line", () => {
        const c = k8sObject(program.recorder, "StatefulSet", "redis").spec.template.spec.containers[0];
        const ping = { exec: { command: ["sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"] } };
        expect(c.readinessProbe).toMatchObject(ping);
        expect(c.livenessProbe).toMatchObject(ping);
    });

    it("GIVEN persistence disabled, uses an emptyDir and no PVC", async () => {
        const { Redis } = await import("../../components/redis");
        const { parseConfig } = await import("../../config");
        const config = parseConfig(
            { "mlops-platform:storageClass": "standard", "mlops-platform:redis": JSON.stringify({ persistence: { enabled: false } }) },
            "mlops-platform",
        );
        new Redis("redis-ephemeral", { namespace: "mlops", config: config.redis, storageClass: "standard", password: { name: "s", key: "p" }, credentialsChecksum: "0" });
        await settle(program.recorder);
        const sts = k8sObject(program.recorder, "StatefulSet", "redis-ephemeral");
        expect(sts.spec.volumeClaimTemplates).toEqual([]);
        expect(sts.spec.template.spec.volumes).toEqual([{ name: "data", emptyDir: {} }]);
        expect(sts.spec.template.spec.containers[0].command[2]).toContain('--appendonly no --save ""');
    });
});
