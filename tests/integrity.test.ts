import { beforeAll, describe, expect, it } from "vitest";
import { checkIntegrity, K8sObject, validateSchemas } from "./integrity";
import { generatedValues } from "./mocks";
import { LoadedProgram, runProgram } from "./program";

let program: LoadedProgram;
let objects: K8sObject[];

beforeAll(async () => {
    program = await runProgram("dev");
    objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
});

/** A deep copy of the program's objects with one edit applied to the object of `kind`/`name`. */
function mutated(kind: string, name: string, edit: (o: any) => void): K8sObject[] {
    const copy = structuredClone(objects) as any[];
    const target = copy.find((o) => o.kind === kind && o.metadata.name === name);
    if (!target) throw new Error(`no ${kind} ${name} in the program`);
    edit(target);
    return copy;
}

describe("the whole program", () => {
    it("passes the integrity check", () => {
        expect(checkIntegrity(objects)).toEqual([]);
    });

    it("validates against the Kubernetes OpenAPI schema", async () => {
        expect(objects.length).toBeGreaterThan(10);
        expect(await validateSchemas(objects)).toEqual([]);
    });

    it("writes every credential to a Secret from a generator, never a literal", () => {
        const secrets = objects.filter((o) => o.kind === "Secret");
        expect(secrets.map((s) => s.metadata.name).sort()).toEqual([
            "airflow-auth",
            "airflow-credentials",
            "data-api-restart",
            "grafana-credentials",
            "minio-airflow-logs",
            "minio-backup",
            "minio-credentials",
            "minio-mlflow",
            "mlflow-auth",
            "mlflow-user-airflow",
            "mlflow-user-gc",
            "mlflow-user-model-api",
            "mlflow-user-prometheus",
            "mlflow-user-ui",
            "model-api-hook",
            "postgres-roles",
            "postgres-service-roles",
            "postgres-superuser",
            "redis-credentials",
        ]);
        const generated = [...generatedValues.values()];
        const forms = (g: string) => [g, `mlops${g}`];
        for (const secret of secrets) {
            for (const [key, value] of Object.entries<string>(secret.stringData ?? {})) {
                // Either a generated value itself, or a document (e.g. passwords.json) whose only secrets are generated values.
                const fromGenerator = generated.some((g) => forms(g).includes(value) || (value.startsWith("{") && Object.values(JSON.parse(value)).includes(g)));
                expect(fromGenerator, `${secret.metadata.name}.${key} = '${value}' is not a generated value`).toBe(true);
            }
            expect(secret.data, `${secret.metadata.name} must not carry literal data`).toBeUndefined();
        }
        for (const r of program.recorder.ofType("kubernetes:core/v1:Secret")) {
            expect(r.secretPaths, `${r.name}: stringData must be a Pulumi secret`).toContain("stringData");
        }
    });

    it("reads every credential-like env var from a Secret", () => {
        for (const o of objects) {
            const spec = o.spec?.template?.spec;
            for (const c of spec?.containers ?? []) {
                for (const e of c.env ?? []) {
                    if (/(PASSWORD|SECRET|TOKEN|_KEY|_AUTH)$/.test(e.name)) {
                        expect(e.value, `${o.kind} ${o.metadata.name} ${c.name} ${e.name} is a literal`).toBeUndefined();
                        expect(e.valueFrom?.secretKeyRef, `${o.kind} ${o.metadata.name} ${c.name} ${e.name}`).toBeDefined();
                    }
                    // Credentials inside URLs may only be $(VAR) references to Secret-sourced variables.
                    expect(String(e.value ?? ""), `${o.kind} ${o.metadata.name} ${c.name} ${e.name}`).not.toMatch(/:\/\/(?!\$\()[^/@\s]+:(?!\$\()[^/@\s]+@/);
                }
            }
        }
    });
});

describe("the integrity check catches", () => {
    it.each([
        ["a pod that loses its security context", "StatefulSet", "postgres", (o: any) => delete o.spec.template.spec.containers[0].securityContext,
            "StatefulSet mlops/postgres container 'postgres': allowPrivilegeEscalation is not false"],
        ["a pod running as root", "StatefulSet", "redis", (o: any) => (o.spec.template.spec.securityContext.runAsUser = 0), "StatefulSet mlops/redis: pod runs as uid 0"],
        ["capabilities that are not dropped", "StatefulSet", "minio", (o: any) => (o.spec.template.spec.containers[0].securityContext.capabilities = { drop: [] }),
            "StatefulSet mlops/minio container 'minio': does not drop ALL capabilities"],
        ["a hostPath volume", "StatefulSet", "minio", (o: any) => o.spec.template.spec.volumes.push({ name: "host", hostPath: { path: "/" } }),
            "StatefulSet mlops/minio: volume 'host' of type hostPath is not allowed by the restricted profile"],
        ["a dangling Secret reference", "StatefulSet", "postgres", (o: any) => (o.spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name = "nope"),
            "StatefulSet mlops/postgres: env POSTGRES_PASSWORD references Secret 'nope', which the program does not create"],
        ["a dangling Secret key", "StatefulSet", "redis", (o: any) => (o.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key = "pasword"),
            "StatefulSet mlops/redis: env REDIS_PASSWORD references key 'pasword' missing from Secret 'redis-credentials'"],
        ["a Service selecting nothing", "Service", "minio", (o: any) => (o.spec.selector["app.kubernetes.io/name"] = "minoi"),
            expect.stringMatching(/^Service mlops\/minio: selector .*"minoi".* matches no pod template$/)],
        ["a targetPort that no container has", "Service", "postgres", (o: any) => (o.spec.ports[0].targetPort = "pg"),
            "Service mlops/postgres: targetPort 'pg' is not a container port of StatefulSet mlops/postgres"],
        ["a probe on a missing port", "StatefulSet", "minio", (o: any) => (o.spec.template.spec.containers[0].readinessProbe.httpGet.port = "http"),
            "StatefulSet mlops/minio container 'minio': readinessProbe port 'http' is not a port of the container"],
        ["a floating image tag", "StatefulSet", "redis", (o: any) => (o.spec.template.spec.containers[0].image = "docker.io/library/redis:latest"),
            "StatefulSet mlops/redis container 'redis': image 'docker.io/library/redis:latest' is not pinned to a version"],
        ["a mount of an undefined volume", "StatefulSet", "postgres", (o: any) => o.spec.template.spec.containers[0].volumeMounts.push({ name: "cache", mountPath: "/c" }),
            "StatefulSet mlops/postgres container 'postgres': mounts volume 'cache', which the pod does not define"],
        ["a StatefulSet whose serviceName is not a Service", "StatefulSet", "redis", (o: any) => (o.spec.serviceName = "redis-hl"),
            "StatefulSet mlops/redis: serviceName 'redis-hl' is not a Service the program creates"],
        ["a namespace without the restricted label", "Namespace", "mlops", (o: any) => delete o.metadata.labels["pod-security.kubernetes.io/enforce"],
            "Namespace mlops does not enforce the 'restricted' Pod Security Standard"],
    ] as [string, string, string, (o: any) => void, unknown][])("%s", (_what, kind, name, edit, expected) => {
        expect(checkIntegrity(mutated(kind, name, edit))).toContainEqual(expected);
    });

    it("two objects colliding on kind, namespace and name", () => {
        const copy = [...objects, structuredClone(objects.find((o) => o.kind === "Service" && o.metadata.name === "redis")!)];
        expect(checkIntegrity(copy)).toContain("2 objects collide as Service/mlops/redis");
    });

    it("an object the API server would reject", async () => {
        const bad = mutated("StatefulSet", "postgres", (o) => (o.spec.template.spec.containers[0].ports[0].containerPort = "5432"));
        const problems = await validateSchemas(bad);
        expect(problems).toEqual([expect.stringContaining("StatefulSet mlops/postgres: data/spec/template/spec/containers/0/ports/0/containerPort must be integer")]);
    });
});
