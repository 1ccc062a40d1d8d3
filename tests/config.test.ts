import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, parseCpu, parseMemory } from "../config";
import { PROJECT, stackConfig } from "./program";
import { dagsSchema, gitRefWarning } from "../config/airflow";

const P = PROJECT;
const base = { [`${P}:storageClass`]: "standard" };

function problemsOf(raw: Record<string, string>): readonly string[] {
    try {
        parseConfig(raw, P);
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
    return [];
}

describe("valid stacks", () => {
    it.each(["dev", "ci"])("Pulumi.%s.yaml parses with schema defaults filled in", (stack) => {
        const config = parseConfig(stackConfig(stack), P);
        expect(config.namespace).toBe("mlops");
        expect(config.storageClass).toBe("standard");
        expect(config.protectData).toBe(false);
        expect(config.postgres).toEqual({
            image: "docker.io/library/postgres:17.2-bookworm",
            storage: { size: "5Gi" },
            resources: { cpu: "200m", memory: "384Mi", memoryLimit: "768Mi" },
            jobResources: { cpu: "50m", memory: "64Mi", memoryLimit: "128Mi" },
        });
        expect(config.redis.persistence).toEqual({ enabled: true, size: "1Gi" });
        expect(config.minio.storage).toEqual({ size: "10Gi" });
    });

    it("stack values override only what they name", () => {
        const config = parseConfig(
            { ...base, [`${P}:postgres`]: JSON.stringify({ storage: { size: "20Gi", storageClass: "fast" } }), [`${P}:protectData`]: "true" },
            P,
        );
        expect(config.postgres.storage).toEqual({ size: "20Gi", storageClass: "fast" });
        expect(config.postgres.resources.cpu).toBe("200m");
        expect(config.protectData).toBe(true);
    });

    it("ignores other namespaces (kubernetes:*, pulumi:*)", () => {
        expect(() => parseConfig({ ...base, "kubernetes:context": "minikube" }, P)).not.toThrow();
    });

    it("keeps the git-sync password out of the plain config object", () => {
        const config = parseConfig({ ...base, [`${P}:gitSyncPassword`]: "token-value" }, P);
        expect(JSON.stringify(config)).not.toContain("token-value");
    });

    it("returns a frozen object", () => {
        const config = parseConfig(base, P);
        expect(Object.isFrozen(config)).toBe(true);
        expect(Object.isFrozen(config.postgres.storage)).toBe(true);
        expect(() => {
            (config.postgres.storage as { size: string }).size = "1Gi";
        }).toThrow(TypeError);
    });
});

describe("bad input is reported field by field", () => {
    it.each<[string, Record<string, string>, string[]]>([
        ["missing storage class", {}, ["'storageClass' is required (set it with `pulumi config set storageClass <class>`)"]],
        ["empty storage class", { [`${P}:storageClass`]: "" }, ["'storageClass' must not be empty (got '')"]],
        ["unknown top-level key", { ...base, [`${P}:postgress`]: "{}" }, ["'postgress' is not a known setting"]],
        [
            "replicas on a single-instance service (unknown key)",
            { ...base, [`${P}:postgres`]: JSON.stringify({ replicas: -1 }) },
            ["'postgres.replicas' is not a known setting"],
        ],
        ["negative worker replicas", { ...base, [`${P}:airflow`]: JSON.stringify({ workers: { replicas: -1 } }) }, ["'airflow.workers.replicas' must be >= 1 (got -1)"]],
        ["fractional worker replicas", { ...base, [`${P}:airflow`]: JSON.stringify({ workers: { replicas: 1.5 } }) }, ["'airflow.workers.replicas' must be a whole number (got 1.5)"]],
        ["unknown DAG source", { ...base, [`${P}:airflow`]: JSON.stringify({ dags: { source: "s3" } }) }, ["'airflow.dags.source' must be 'git' or 'local' (got 's3')"]],
        ["bad git-sync period", { ...base, [`${P}:airflow`]: JSON.stringify({ dags: { source: "git", git: { repo: "r", period: "often" } } }) }, ["'airflow.dags.git.period' must be a duration such as '60s' or '5m' (got 'often')"]],
        ["empty git-sync password", { ...base, [`${P}:gitSyncPassword`]: "" }, ["'gitSyncPassword' must not be empty (got '')"]],
        ["negative storage size", { ...base, [`${P}:postgres`]: JSON.stringify({ storage: { size: "-5Gi" } }) }, ["'postgres.storage.size' must be a quantity such as '512Mi' or '5Gi' (got '-5Gi')"]],
        ["zero storage size", { ...base, [`${P}:minio`]: JSON.stringify({ storage: { size: "0Gi" } }) }, ["'minio.storage.size' must be greater than zero (got '0Gi')"]],
        ["negative CPU", { ...base, [`${P}:redis`]: JSON.stringify({ resources: { cpu: "-100m", memory: "64Mi", memoryLimit: "128Mi" } }) }, ["'redis.resources.cpu' must be a CPU quantity such as '250m' or '1' (got '-100m')"]],
        ["floating image tag", { ...base, [`${P}:redis`]: JSON.stringify({ image: "redis:latest" }) }, ["'redis.image' must not use the floating tag 'latest' (got 'redis:latest')"]],
        ["unpinned image", { ...base, [`${P}:minio`]: JSON.stringify({ image: "quay.io/minio/minio" }) }, ["'minio.image' must be pinned to a tag or digest (got 'quay.io/minio/minio')"]],
        ["wrong type", { ...base, [`${P}:protectData`]: "maybe" }, ["'protectData' must be a boolean (got 'maybe')"]],
        ["bad namespace", { ...base, [`${P}:namespace`]: "My_NS" }, ["'namespace' must be a DNS-1123 label (lower case letters, digits, '-') (got 'My_NS')"]],
        ["ingress on without a host", { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true }) }, ["'ingress.hosts' needs at least one host when 'ingress.enabled' is true (one of airflow, mlflow, minioConsole, modelApi, ui, prometheus, grafana)"]],
        ["ingress host that is not a DNS name", { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { mlflow: "MLflow_Host" } }) }, ["'ingress.hosts.mlflow' must be a lower-case DNS name such as 'mlflow.example.com' (got 'MLflow_Host')"]],
        ["ingress host for an unknown service", { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { jupyter: "j.example.com", ui: "ui.example.com" } }) }, ["'ingress.hosts.jupyter' is not a known setting"]],
        ["two services on one ingress host", { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { ui: "mlops.example.com", grafana: "mlops.example.com" } }) }, ["'ingress.hosts' must give each service a host of its own"]],
        ["an ingress host for Grafana while it is disabled", { ...base, [`${P}:grafana`]: JSON.stringify({ enabled: false }), [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { grafana: "g.example.com" } }) }, ["'ingress.hosts.grafana' is set but 'grafana.enabled' is false: remove the host or enable Grafana"]],
        ["incomplete resources", { ...base, [`${P}:minio`]: JSON.stringify({ resources: { cpu: "1" } }) }, ["'minio.resources.memory' is required", "'minio.resources.memoryLimit' is required"]],
        [
            "several problems at once",
            { [`${P}:redis`]: JSON.stringify({ persistence: { enabled: "yes", sise: "1Gi" } }), [`${P}:extra`]: "1" },
            [
                "'extra' is not a known setting",
                "'storageClass' is required (set it with `pulumi config set storageClass <class>`)",
                "'redis.persistence.sise' is not a known setting",
                "'redis.persistence.enabled' must be a boolean (got 'yes')",
            ],
        ],
    ])("%s", (_name, raw, expected) => {
        expect([...problemsOf(raw)].sort()).toEqual([...expected].sort());
    });

    it("puts every problem in one message", () => {
        expect(() => parseConfig({ [`${P}:protectData`]: "maybe" }, P)).toThrow(
            "Invalid stack configuration (2 problems):\n  - 'storageClass' is required (set it with `pulumi config set storageClass <class>`)\n  - 'protectData' must be a boolean (got 'maybe')",
        );
    });
});

describe("quantities", () => {
    it.each([
        ["250m", 250],
        ["1", 1000],
        ["0.5", 500],
    ])("cpu %s = %i millicores", (q, expected) => expect(parseCpu(q)).toBe(expected));
    it.each([
        ["512Mi", 512 * 2 ** 20],
        ["5Gi", 5 * 2 ** 30],
        ["1G", 1e9],
        ["1024", 1024],
    ])("memory %s = %i bytes", (q, expected) => expect(parseMemory(q)).toBe(expected));
    it("rejects nonsense", () => {
        expect(() => parseCpu("lots")).toThrow("not a CPU quantity: 'lots'");
        expect(() => parseMemory("-1Gi")).toThrow("not a memory quantity: '-1Gi'");
    });
});

describe("the git-sync ref warning", () => {
    const dags = (ref: string, source: "git" | "local" = "git") => dagsSchema.parse({ source, git: { repo: "https://example.invalid/dags.git", ref } });
    it.each([
        ["main", "prod"],
        ["release/2024", "staging"],
        ["feature-x", "ci"],
    ])("warns for the branch '%s' on stack %s, naming the field and what to do", (ref, stack) => {
        expect(gitRefWarning(dags(ref), stack)).toMatch(new RegExp(`^'airflow\\.dags\\.git\\.ref' is '${ref.replace("/", "\\/")}', which looks like a branch: on stack '${stack}'.*Pin a tag or a full commit id`));
    });
    it.each([
        ["a version tag", dags("v1.4.2"), "prod"],
        ["a calendar tag", dags("2024.06.1"), "prod"],
        ["a full commit id", dags("0123456789abcdef0123456789abcdef01234567"), "prod"],
        ["a branch on dev", dags("main"), "dev"],
        ["the local source", dags("main", "local"), "prod"],
    ])("says nothing for %s", (_what, d, stack) => {
        expect(gitRefWarning(d, stack)).toBeUndefined();
    });
});
