import * as k8s from "@pulumi/kubernetes";
import { beforeAll, describe, expect, it } from "vitest";
import { registration } from "./helpers";
import { settle } from "./mocks";
import { LoadedProgram, runProgram } from "./program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

const urnOf = (kind: string, name: string) => registration(program.recorder, kind, name).urn;

describe("the resource graph orders the deployment", () => {
    it("runs the Postgres setup Job after the server and its Service are up, and after its passwords exist", () => {
        const ancestors = program.recorder.ancestors(urnOf("Job", "postgres-setup"));
        expect(ancestors).toContain(urnOf("StatefulSet", "postgres"));
        expect(ancestors).toContain(urnOf("Service", "postgres"));
        expect(ancestors).toContain(urnOf("Secret", "postgres-roles"));
        expect(ancestors).toContain(urnOf("Secret", "postgres-superuser"));
    });

    it("runs the MinIO bucket Job after the server and its Service are up", () => {
        const ancestors = program.recorder.ancestors(urnOf("Job", "minio-buckets"));
        expect(ancestors).toContain(urnOf("StatefulSet", "minio"));
        expect(ancestors).toContain(urnOf("Service", "minio"));
        expect(ancestors).toContain(urnOf("Secret", "minio-credentials"));
    });

    it("puts the Postgres db Job and the MinIO bucket Job among the ancestors of anything built from their outputs", async () => {
        // A stand-in for MLflow: it consumes the connection outputs exactly as a component would.
        new k8s.core.v1.ConfigMap("consumer", {
            metadata: { name: "consumer", namespace: "mlops" },
            data: { postgres: program.exports.endpoints.postgres, s3: program.exports.endpoints.minio },
        });
        await settle(program.recorder);
        const ancestors = program.recorder.ancestors(urnOf("ConfigMap", "consumer"));
        expect(ancestors).toContain(urnOf("Job", "postgres-setup"));
        expect(ancestors).toContain(urnOf("Job", "minio-buckets"));
    });

    it("makes consumers of the Redis endpoint wait for the Redis server", async () => {
        new k8s.core.v1.ConfigMap("broker-consumer", {
            metadata: { name: "broker-consumer", namespace: "mlops" },
            data: { broker: program.exports.endpoints.redis },
        });
        await settle(program.recorder);
        const ancestors = program.recorder.ancestors(urnOf("ConfigMap", "broker-consumer"));
        expect(ancestors).toContain(urnOf("StatefulSet", "redis"));
        expect(ancestors).toContain(urnOf("Service", "redis"));
    });

    it("creates every namespaced object after the Namespace", () => {
        const ns = urnOf("Namespace", "namespace");
        for (const r of program.recorder.kubernetesObjects()) {
            if (r.type.endsWith(":Namespace") || r.name.endsWith("consumer")) continue;
            expect(program.recorder.ancestors(r.urn), `${r.type} ${r.name}`).toContain(ns);
        }
    });

    it("parents every object under its component", () => {
        const pg = program.recorder.get("mlops:k8s:Postgres", "postgres").urn;
        const children = program.recorder.descendants(pg);
        for (const [kind, name] of [["StatefulSet", "postgres"], ["Service", "postgres"], ["Service", "postgres-headless"], ["Job", "postgres-setup"]] as const) {
            expect(children).toContain(urnOf(kind, name));
        }
    });
});
