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
        [
            "ingress host for an unknown service",
            { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, tlsSecretName: "tls", hosts: { jupyter: "j.example.com", ui: "ui.example.com" }, auth: { ui: { type: "none" } } }) },
            ["'ingress.hosts.jupyter' is not a known setting"],
        ],
        [
            "two services on one ingress host",
            { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, tlsSecretName: "tls", hosts: { ui: "mlops.example.com", grafana: "mlops.example.com" }, auth: { ui: { type: "none" }, grafana: { type: "none" } } }) },
            ["'ingress.hosts' must give each service a host of its own"],
        ],
        [
            "an ingress host for Grafana while it is disabled",
            { ...base, [`${P}:grafana`]: JSON.stringify({ enabled: false }), [`${P}:ingress`]: JSON.stringify({ enabled: true, tlsSecretName: "tls", hosts: { grafana: "g.example.com" }, auth: { grafana: { type: "none" } } }) },
            ["'ingress.hosts.grafana' is set but 'grafana.enabled' is false: remove the host or enable Grafana"],
        ],
        [
            "an exposed host without TLS and without authentication",
            { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { ui: "mlops.example.com" } }) },
            [
                "'ingress.hosts.ui' (mlops.example.com) is exposed without TLS and without authentication: set 'ingress.tlsSecretName' (a kubernetes.io/tls Secret covering it) or, to serve it over plain HTTP, 'ingress.plainHttp.ui' true; and set 'ingress.auth.ui' ({type: basic, secretName}, {type: external, url} or {type: annotations, annotations}) or, to leave it open, 'ingress.auth.ui.type' none",
            ],
        ],
        [
            "an exposed host without TLS",
            { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { mlflow: "mlflow.example.com" }, auth: { mlflow: { type: "external", url: "https://auth.example.com/oauth2/auth" } } }) },
            ["'ingress.hosts.mlflow' (mlflow.example.com) is exposed without TLS: set 'ingress.tlsSecretName' (a kubernetes.io/tls Secret covering it) or, to serve it over plain HTTP, 'ingress.plainHttp.mlflow' true"],
        ],
        [
            "exposed hosts without authentication, every one named at once (the others are fine)",
            {
                ...base,
                [`${P}:ingress`]: JSON.stringify({
                    enabled: true,
                    tlsSecretName: "tls",
                    hosts: { modelApi: "api.example.com", ui: "mlops.example.com", prometheus: "prom.example.com", airflow: "airflow.example.com" },
                    auth: { ui: { type: "basic", secretName: "ui-auth" }, airflow: { type: "none" } },
                }),
            },
            [
                "'ingress.hosts.modelApi' (api.example.com) is exposed without authentication: set 'ingress.auth.modelApi' ({type: basic, secretName}, {type: external, url} or {type: annotations, annotations}) or, to leave it open, 'ingress.auth.modelApi.type' none",
                "'ingress.hosts.prometheus' (prom.example.com) is exposed without authentication: set 'ingress.auth.prometheus' ({type: basic, secretName}, {type: external, url} or {type: annotations, annotations}) or, to leave it open, 'ingress.auth.prometheus.type' none",
            ],
        ],
        ["basic auth without its Secret", { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, tlsSecretName: "tls", hosts: { ui: "mlops.example.com" }, auth: { ui: { type: "basic" } } }) }, ["'ingress.auth.ui.secretName' is required"]],
        [
            "external auth that is not a URL, and an unknown kind",
            { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, tlsSecretName: "tls", hosts: { ui: "a.example.com", mlflow: "b.example.com" }, auth: { ui: { type: "external", url: "oauth2-proxy" }, mlflow: { type: "oidc" } } }) },
            ["'ingress.auth.ui.url' must be an http(s) URL (got 'oauth2-proxy')", "'ingress.auth.mlflow.type' must have a 'type' of 'basic', 'external', 'annotations' or 'none'"],
        ],
        ["auth annotations that name none", { ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, tlsSecretName: "tls", hosts: { ui: "mlops.example.com" }, auth: { ui: { type: "annotations", annotations: {} } } }) }, ["'ingress.auth.ui.annotations' must name at least one annotation"]],
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

    it("accepts exposed hosts whose TLS and authentication are set or explicitly opted out of, host by host", () => {
        const ingress = {
            enabled: true,
            tlsSecretName: "mlops-tls",
            hosts: { ui: "mlops.example.com", grafana: "grafana.example.com", prometheus: "prometheus.lan.test" },
            plainHttp: { prometheus: true },
            auth: { ui: { type: "basic", secretName: "ui-auth" }, grafana: { type: "none" }, prometheus: { type: "annotations", annotations: { "traefik.ingress.kubernetes.io/router.middlewares": "mlops-auth@kubernetescrd" } } },
        };
        expect(parseConfig({ ...base, [`${P}:ingress`]: JSON.stringify(ingress) }, P).ingress).toEqual({ className: undefined, annotations: {}, ...ingress });
        // Off, nothing is asked of the hosts.
        expect(problemsOf({ ...base, [`${P}:ingress`]: JSON.stringify({ enabled: false, hosts: { ui: "mlops.example.com" } }) })).toEqual([]);
    });

    it("lists every exposed host that lacks TLS or authentication in one message", () => {
        expect(() => parseConfig({ ...base, [`${P}:ingress`]: JSON.stringify({ enabled: true, hosts: { ui: "mlops.example.com", mlflow: "mlflow.example.com" }, auth: { ui: { type: "none" } } }) }, P)).toThrow(
            "Invalid stack configuration (2 problems):\n" +
                "  - 'ingress.hosts.mlflow' (mlflow.example.com) is exposed without TLS and without authentication: set 'ingress.tlsSecretName' (a kubernetes.io/tls Secret covering it) or, to serve it over plain HTTP, 'ingress.plainHttp.mlflow' true; and set 'ingress.auth.mlflow' ({type: basic, secretName}, {type: external, url} or {type: annotations, annotations}) or, to leave it open, 'ingress.auth.mlflow.type' none\n" +
                "  - 'ingress.hosts.ui' (mlops.example.com) is exposed without TLS: set 'ingress.tlsSecretName' (a kubernetes.io/tls Secret covering it) or, to serve it over plain HTTP, 'ingress.plainHttp.ui' true",
        );
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
