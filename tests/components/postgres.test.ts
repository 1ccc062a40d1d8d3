import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, podSecurity, RESTRICTED_CONTAINER, secretRef } from "../helpers";
import { LoadedProgram, runProgram } from "../program";
import { settle, valueOf } from "../mocks";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

const IMAGE = "docker.io/library/postgres:17.2-bookworm";
const SELECTOR = { "app.kubernetes.io/name": "postgres", "app.kubernetes.io/instance": "postgres", "app.kubernetes.io/component": "server" };

describe("GIVEN the dev stack, WHEN the program runs, THEN Postgres", () => {
    it("is one StatefulSet with a PVC of the configured class and size", () => {
        const sts = k8sObject(program.recorder, "StatefulSet", "postgres");
        expect(sts.metadata).toMatchObject({ name: "postgres", namespace: "mlops" });
        expect(sts.spec.replicas).toBe(1);
        expect(sts.spec.serviceName).toBe("postgres-headless");
        expect(sts.spec.selector.matchLabels).toEqual(SELECTOR);
        expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
        expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
        expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
        expect(sts.spec.volumeClaimTemplates[0].spec).toEqual({
            accessModes: ["ReadWriteOnce"],
            storageClassName: "standard",
            resources: { requests: { storage: "5Gi" } },
        });
    });

    it("runs the pinned image as the postgres user with the restricted security context", () => {
        const pod = k8sObject(program.recorder, "StatefulSet", "postgres").spec.template.spec;
        expect(pod.securityContext).toEqual(podSecurity(999, 999));
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.containers).toHaveLength(1);
        const c = pod.containers[0];
        expect(c.image).toBe(IMAGE);
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        expect(c.resources).toEqual({ requests: { cpu: "200m", memory: "384Mi" }, limits: { memory: "768Mi" } });
        expect(c.ports).toEqual([{ name: "postgres", containerPort: 5432 }]);
    });

    it("takes the superuser password from a Secret and probes with pg_isready", () => {
        const c = k8sObject(program.recorder, "StatefulSet", "postgres").spec.template.spec.containers[0];
        expect(c.env).toEqual([
            { name: "POSTGRES_USER", value: "postgres" },
            { name: "POSTGRES_PASSWORD", valueFrom: secretRef("postgres-superuser", "password") },
            { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
        ]);
        const isReady = { exec: { command: ["pg_isready", "-U", "postgres", "-h", "127.0.0.1", "-p", "5432"] } };
        expect(c.readinessProbe).toMatchObject(isReady);
        expect(c.livenessProbe).toMatchObject(isReady);
        expect(c.livenessProbe.initialDelaySeconds).toBeGreaterThan(c.readinessProbe.initialDelaySeconds);
    });

    it("has a ClusterIP Service and a headless Service on 5432", () => {
        for (const name of ["postgres", "postgres-headless"]) {
            const svc = k8sObject(program.recorder, "Service", name);
            expect(svc.spec.selector).toEqual(SELECTOR);
            expect(svc.spec.ports).toEqual([{ name: "postgres", port: 5432, targetPort: "postgres" }]);
        }
        expect(k8sObject(program.recorder, "Service", "postgres-headless").spec.clusterIP).toBe("None");
    });

    it("creates the four databases in a Job that reads every password from Secrets", () => {
        const job = k8sObject(program.recorder, "Job", "postgres-setup");
        expect(job.metadata.name).toBeUndefined(); // auto-named, so a changed spec replaces and re-runs it
        expect(job.spec.backoffLimit).toBe(6);
        const pod = job.spec.template.spec;
        expect(pod.restartPolicy).toBe("Never");
        expect(pod.securityContext).toEqual(podSecurity(999, 999));
        const c = pod.containers[0];
        expect(c.image).toBe(IMAGE);
        expect(c.securityContext).toEqual({ ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: false });
        expect(c.env).toEqual([
            { name: "PGHOST", value: "postgres.mlops.svc.cluster.local" },
            { name: "PGPORT", value: "5432" },
            { name: "PGUSER", value: "postgres" },
            { name: "PGDATABASE", value: "postgres" },
            { name: "PGPASSWORD", valueFrom: secretRef("postgres-superuser", "password") },
            { name: "AIRFLOW_PASSWORD", valueFrom: secretRef("postgres-roles", "airflow") },
            { name: "MLFLOW_PASSWORD", valueFrom: secretRef("postgres-roles", "mlflow") },
            { name: "MLFLOW_AUTH_PASSWORD", valueFrom: secretRef("postgres-roles", "mlflow_auth") },
            { name: "MLOPS_PASSWORD", valueFrom: secretRef("postgres-roles", "mlops") },
            { name: "MODEL_API_PASSWORD", valueFrom: secretRef("postgres-service-roles", "model_api") },
            { name: "DATA_API_PASSWORD", valueFrom: secretRef("postgres-service-roles", "data_api") },
        ]);
        const script: string = c.command[2];
        for (const db of ["airflow", "mlflow", "mlflow_auth", "mlops"]) {
            expect(script).toContain(`ALTER ROLE ${db} WITH LOGIN PASSWORD :'${db}_password';`);
            expect(script).toContain(`\\getenv ${db}_password ${db.toUpperCase()}_PASSWORD`);
        }
        // The services' own roles: log in, connect to `mlops`, nothing more (their table grants
        // are applied by each service's migrate step; see components/postgres.ts RoleSpec).
        for (const role of ["model_api", "data_api"]) {
            expect(script).toContain(`ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'${role}_password';`);
            expect(script).toContain(`\\getenv ${role}_password ${role.toUpperCase()}_PASSWORD`);
        }
        expect(script).toContain("GRANT CONNECT ON DATABASE mlops TO model_api, data_api;");
        expect(script).toContain('echo "roles ready: model_api (mlops), data_api (mlops)"');
        // A rotation changes this annotation, which replaces the Job and so re-runs it.
        expect(job.spec.template.metadata.annotations["mlops.dev/credentials-checksum"]).toMatch(/^[0-9a-f]{64}$/);
    });

    it("exposes connection info per database that resolves only through the Job", async () => {
        const postgres = (await import("../../index")) as any;
        expect(await valueOf(postgres.endpoints.postgres)).toBe("postgres.mlops.svc.cluster.local:5432");
    });
});

describe("GIVEN other settings", () => {
    it("takes the platform storage class from its args", async () => {
        const { Postgres } = await import("../../components/postgres");
        const { parseConfig } = await import("../../config");
        const config = parseConfig({ "mlops-platform:storageClass": "fast" }, "mlops-platform");
        new Postgres("pg-protected", {
            namespace: "mlops",
            config: config.postgres,
            storageClass: config.storageClass,
            superuserPassword: { name: "s", key: "k" },
            databases: [{ name: "app", password: { name: "s", key: "app" } }],
            credentialsChecksum: "0",
        });
        await settle(program.recorder);
        const sts = k8sObject(program.recorder, "StatefulSet", "pg-protected");
        expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe("fast");
    });

    it("rejects an empty database list and unsafe database names", async () => {
        const { Postgres, renderSetupScript } = await import("../../components/postgres");
        const { parseConfig } = await import("../../config");
        const config = parseConfig({ "mlops-platform:storageClass": "x" }, "mlops-platform");
        expect(
            () =>
                new Postgres("pg-empty", {
                    namespace: "mlops",
                    config: config.postgres,
                    storageClass: "x",
                    superuserPassword: { name: "s", key: "k" },
                    databases: [],
                    credentialsChecksum: "0",
                }),
        ).toThrow("'databases' must list at least one database");
        expect(() => renderSetupScript(["ok", "drop table x;--"])).toThrow("database name 'drop table x;--' must match [a-z_][a-z0-9_]*");
    });

    it("rejects roles it cannot create safely: a bad name, an owner's name, an unknown database, a role twice", async () => {
        const { renderSetupScript } = await import("../../components/postgres");
        expect(() => renderSetupScript(["mlops"], [{ name: "x; DROP", database: "mlops" }])).toThrow("role name 'x; DROP' must match [a-z_][a-z0-9_]*");
        expect(() => renderSetupScript(["mlops", "mlflow"], [{ name: "mlflow", database: "mlops" }])).toThrow("role 'mlflow' has the name of a database, whose owner it would be");
        expect(() => renderSetupScript(["mlops"], [{ name: "model_api", database: "serving" }])).toThrow("role 'model_api' is for database 'serving', which is not one of mlops");
        expect(() => renderSetupScript(["mlops"], [{ name: "a", database: "mlops" }, { name: "a", database: "mlops" }])).toThrow("role 'a' is listed twice");
    });
});
