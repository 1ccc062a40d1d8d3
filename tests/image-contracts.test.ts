import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BuildContract, contractFor, DEFAULT_HOME, EnvContract, IMAGE_CONTRACTS, ImageContract, ProcessContract, repositoryOf, ShippedDir, WrittenPath } from "../config/image-contracts";
import { describeObject, K8sObject, podTemplates } from "./integrity";
import { LoadedProgram, ROOT, runProgram } from "./program";

/*
 * Every container the program renders, checked against its image's contract
 * (config/image-contracts.ts): the image is in the table, the uid/gid is the image's or the
 * image works under any uid, every path the process writes is writable as that uid, every
 * variable the process requires is set, and keys that must be shared are shared. The check
 * reports (never throws) so one run shows every problem and each rule can be shown to fire.
 */

// ---------------------------------------------------------------------------------------------
// The check.

/** What the container runs: the argv the runtime execs, and whether the image's ENTRYPOINT is part of it. */
interface Invocation {
    readonly argv: readonly string[];
    readonly viaEntrypoint: boolean;
}

function invocation(c: any, contract: ImageContract): Invocation {
    if (c.command?.length) {
        return { argv: [...c.command, ...(c.args ?? [])], viaEntrypoint: false };
    }
    const { entrypoint, cmd } = contract.entrypoint;
    return { argv: [...entrypoint, ...(c.args ?? cmd)], viaEntrypoint: entrypoint.length > 0 };
}

/** The words of a shell script, quotes removed; enough for flag look-ups, not a shell parser. */
function words(script: string): string[] {
    return [...script.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

const base = (p: string) => p.split("/").pop() ?? p;

/** Unwraps init shims, the image's ENTRYPOINT script and `sh -c 'exec ...'` down to the program that runs. */
function programOf(inv: Invocation, contract: ImageContract): { program: string; args: string[] } {
    let argv = [...inv.argv];
    for (let depth = 0; depth < 8 && argv.length > 0; depth++) {
        const head = base(argv[0]!);
        if (head === "dumb-init" || head === "tini") {
            const dashes = argv.indexOf("--");
            argv = argv.slice(dashes >= 0 ? dashes + 1 : 1);
            continue;
        }
        const script = contract.entrypoint.script;
        if (script && head === base(script.path)) {
            const rest = argv.slice(1);
            const execs = script.execs;
            if (execs.kind === "command") {
                argv = rest.length === 0 || rest[0]!.startsWith("-") ? [execs.flagsRunAs, ...rest] : rest;
            } else if (rest[0] !== undefined && execs.passThrough?.includes(rest[0])) {
                argv = rest;
            } else {
                const args = rest[0] === execs.dropFirst ? rest.slice(1) : rest;
                argv = [execs.program, ...(execs.programArgs ?? []), ...args];
            }
            continue;
        }
        if ((head === "sh" || head === "bash") && argv[1] === "-c" && argv[2] !== undefined) {
            const script = words(argv[2]);
            if (script[0] !== "exec") {
                return { program: head, args: script };
            }
            argv = script.slice(1);
            continue;
        }
        return { program: head, args: argv.slice(1) };
    }
    return { program: base(argv[0] ?? ""), args: argv.slice(1) };
}

function findProcess(contract: ImageContract, prog: string, args: readonly string[]): ProcessContract | undefined {
    const firstArg = args.find((a) => !a.startsWith("-"));
    return (
        contract.processes.find((p) => p.program === prog && (p.subcommand === undefined || p.subcommand === firstArg)) ??
        contract.processes.find((p) => p.program === "*")
    );
}

function flagValue(args: readonly string[], flag: string): string | undefined {
    for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
        if (a === flag) return args[i + 1];
    }
    return undefined;
}

const hasFlag = (args: readonly string[], flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));

/** A variable as the process sees it: the container's env (last wins) over the image's ENV. */
interface EnvValue {
    readonly set: boolean;
    /** Undefined when it comes from a Secret or ConfigMap (unknown here). */
    readonly value?: string;
    /** How it is set, to compare containers: the literal or the reference. */
    readonly origin?: string;
}

function envOf(c: any, contract: ImageContract) {
    return (name: string): EnvValue => {
        const own = [...(c.env ?? [])].reverse().find((e: any) => e.name === name);
        if (own) {
            if (own.valueFrom) return { set: true, origin: JSON.stringify(own.valueFrom) };
            return { set: String(own.value ?? "") !== "", value: String(own.value ?? ""), origin: JSON.stringify(own.value ?? "") };
        }
        const fromImage = contract.imageEnv.values[name];
        return fromImage === undefined ? { set: false } : { set: true, value: fromImage, origin: `image ENV ${JSON.stringify(fromImage)}` };
    };
}

/** A file URI or SQLite URL names a local path; any other URL (postgresql://, s3://) does not. */
function localPath(value: string): string | undefined {
    const file = /^file:\/\/(.*)$/.exec(value);
    if (file) return file[1];
    const sqlite = /^sqlite:\/\/\/(.*)$/.exec(value);
    if (sqlite) return sqlite[1];
    return /^[a-z][a-z0-9+.-]*:/i.test(value) ? undefined : value;
}

function writableBy(dir: ShippedDir, uid: number, groups: readonly number[]): boolean {
    return (uid === dir.owner && (dir.mode & 0o200) !== 0) || (groups.includes(dir.group) && (dir.mode & 0o020) !== 0) || (dir.mode & 0o002) !== 0;
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir === "/" ? "/" : `${dir}/`);
const octal = (mode: number) => `0${mode.toString(8)}`;

/** Every rule, over every container of every workload; an empty list when the program honours every contract. */
function checkImageContracts(objects: readonly K8sObject[]): string[] {
    const problems: string[] = [];
    /** repository -> shared variable -> origin -> containers that use it. */
    const shared = new Map<string, Map<string, Map<string, string[]>>>();

    for (const t of podTemplates(objects)) {
        const spec = t.spec;
        const podSc = spec.securityContext ?? {};
        const volumes: any[] = spec.volumes ?? [];
        for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
            const cw = `${describeObject(t.owner)} container '${c.name}'`;
            const contract = contractFor(String(c.image));
            if (!contract) {
                problems.push(`${cw}: image repository '${repositoryOf(String(c.image))}' has no contract in config/image-contracts.ts`);
                continue;
            }
            const repo = contract.repository;
            const inv = invocation(c, contract);
            const run = programOf(inv, contract);
            const proc = findProcess(contract, run.program, run.args);
            if (!proc) {
                problems.push(`${cw}: runs '${run.program}', which the contract of ${repo} does not describe`);
                continue;
            }
            const env = envOf(c, contract);
            const sc = c.securityContext ?? {};

            // 1. The uid/gid the image expects, or one it accepts.
            const uid: number = sc.runAsUser ?? podSc.runAsUser ?? contract.runAs.user;
            // Without runAsGroup the runtime takes the primary group of the image's passwd entry, else 0.
            const gid: number = sc.runAsGroup ?? podSc.runAsGroup ?? (uid === contract.runAs.user ? contract.runAs.group : 0);
            const groups = [gid, podSc.fsGroup, ...(podSc.supplementalGroups ?? [])].filter((g): g is number => typeof g === "number");
            const any = contract.runAs.anyUser;
            if (uid !== contract.runAs.user || gid !== contract.runAs.group) {
                if (!any) {
                    problems.push(`${cw}: runs as ${uid}:${gid}, but ${repo} runs as ${contract.runAs.user}:${contract.runAs.group} and its contract accepts no other uid`);
                } else if (any.group !== undefined && gid !== any.group) {
                    problems.push(`${cw}: runs as ${uid}:${gid}, but ${repo} accepts another uid only with gid ${any.group} (${any.why})`);
                }
            }

            // 2. Set-up that lives in the ENTRYPOINT script.
            if (proc.needsEntrypoint && !inv.viaEntrypoint) {
                problems.push(`${cw}: replaces the ENTRYPOINT of ${repo} (command: ${JSON.stringify(c.command)}), but ${proc.program} needs it: ${proc.needsEntrypoint.why}`);
            }

            // 3. Every path the process writes is writable by that uid.
            const readOnlyRoot = sc.readOnlyRootFilesystem === true;
            const home = env("HOME").value ?? (uid === contract.runAs.user && contract.runAs.home ? contract.runAs.home : DEFAULT_HOME.home);
            for (const w of proc.writes) {
                const where = resolveWrite(w, run.args, env, uid, contract, home);
                if (where === undefined) continue;
                if (where.unresolved) {
                    problems.push(`${cw}: writes ${w.what}, at a path taken from ${where.unresolved}, which is not known here`);
                    continue;
                }
                const p = where.path!;
                const label = `writes ${p} (${w.what})`;
                const mount = [...(c.volumeMounts ?? [])]
                    .filter((m: any) => within(p, path.posix.normalize(m.mountPath)))
                    .sort((a: any, b: any) => b.mountPath.length - a.mountPath.length)[0];
                if (mount) {
                    const volume = volumes.find((v) => v.name === mount.name);
                    const claim = t.claimTemplates.includes(mount.name);
                    const type = claim ? "persistentVolumeClaim" : Object.keys(volume ?? {}).find((k) => k !== "name");
                    if (mount.readOnly) {
                        problems.push(`${cw}: ${label}, but volume '${mount.name}' is mounted read-only at ${mount.mountPath}`);
                    } else if (type === "persistentVolumeClaim") {
                        if (podSc.fsGroup === undefined && uid !== 0) {
                            problems.push(`${cw}: ${label} on PersistentVolumeClaim volume '${mount.name}', whose root is root-owned: without fsGroup uid ${uid} cannot write it`);
                        }
                    } else if (type !== "emptyDir" && type !== "ephemeral") {
                        problems.push(`${cw}: ${label}, but volume '${mount.name}' at ${mount.mountPath} is a ${type} volume, which is read-only`);
                    }
                    continue;
                }
                if (readOnlyRoot) {
                    problems.push(`${cw}: ${label}, which no writable volume covers, and its root filesystem is read-only`);
                    continue;
                }
                const dir = w.shipped && within(p, w.shipped.path) ? w.shipped : undefined;
                if (!dir) {
                    problems.push(`${cw}: ${label}, which no writable volume covers, and the contract of ${repo} does not record the image's ${p} as writable`);
                } else if (!writableBy(dir, uid, groups)) {
                    problems.push(
                        `${cw}: ${label}, which no writable volume covers, and ${repo} ships ${dir.path} as ${dir.owner}:${dir.group} ${octal(dir.mode)}, not writable by ${uid}:${gid}`,
                    );
                }
            }

            // 4. Every variable the process requires, and the keys every container must share.
            for (const e of proc.env) {
                if (e.use === "read" || !applies(e, env, run.args)) continue;
                const satisfied = env(e.name).set || (e.orEnv ?? []).some((n) => env(n).set) || (e.orFlag !== undefined && hasFlag(run.args, e.orFlag));
                if (!satisfied) {
                    const or = [...(e.orEnv ?? []), ...(e.orFlag ? [e.orFlag] : [])];
                    problems.push(`${cw}: ${proc.program} needs ${e.name}${or.length ? ` (or ${or.join(", ")})` : ""}, which is not set: ${e.note}`);
                } else if (e.use === "shared") {
                    const byName = shared.get(repo) ?? new Map<string, Map<string, string[]>>();
                    shared.set(repo, byName);
                    const byOrigin = byName.get(e.name) ?? new Map<string, string[]>();
                    byName.set(e.name, byOrigin);
                    const origin = env(e.name).origin ?? "?";
                    byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), `${describeObject(t.owner)}/${c.name}`]);
                }
            }
        }
    }

    for (const [repo, byName] of shared) {
        for (const [name, byOrigin] of byName) {
            if (byOrigin.size > 1) {
                const ways = [...byOrigin].map(([origin, where]) => `${origin} in ${where.join(", ")}`).join("; ");
                problems.push(`${repo}: ${name} must be the same in every container, but is set ${byOrigin.size} ways: ${ways}`);
            }
        }
    }
    return problems;
}

function applies(e: EnvContract, env: (name: string) => EnvValue, args: readonly string[]): boolean {
    if (e.whenFlag && !hasFlag(args, e.whenFlag)) return false;
    if (e.when) {
        const v = env(e.when.env);
        if (e.when.equals === undefined ? !v.set : v.value !== e.when.equals) return false;
    }
    return !(e.unless && env(e.unless.env).value === e.unless.equals);
}

/** Where a written path lands for this container; undefined when it is not written at all. */
function resolveWrite(
    w: WrittenPath,
    args: readonly string[],
    env: (name: string) => EnvValue,
    uid: number,
    contract: ImageContract,
    home: string,
): { path?: string; unresolved?: string } | undefined {
    if (w.onlyWithFlag && !hasFlag(args, w.onlyWithFlag)) return undefined;
    if (w.unless && env(w.unless.env).value === w.unless.equals) return undefined;
    if (w.onlyForOtherUsers && uid === contract.runAs.user) return undefined;
    let raw: string | undefined;
    const fromFlag = w.flag ? flagValue(args, w.flag) : undefined;
    if (fromFlag !== undefined) {
        raw = fromFlag;
    } else if (w.env && env(w.env).set) {
        const v = env(w.env);
        if (v.value === undefined) return { unresolved: `$${w.env}` };
        raw = v.value;
    } else if (w.afterArg && args.includes(w.afterArg)) {
        raw = args[args.indexOf(w.afterArg) + 1];
    }
    raw ??= w.path;
    if (raw === undefined) return undefined;
    let p = localPath(raw);
    if (p === undefined) return undefined;
    p = p.replace(/^(\$HOME|~)(?=\/|$)/, home);
    p = path.posix.resolve(contract.entrypoint.workdir, p);
    if (w.fileIn) p = path.posix.dirname(p);
    return { path: p };
}

// ---------------------------------------------------------------------------------------------
// The program.

let program: LoadedProgram;
let objects: K8sObject[];

beforeAll(async () => {
    program = await runProgram("dev");
    objects = program.recorder.kubernetesObjects().map((r) => r.inputs as K8sObject);
});

const containersOf = (os: readonly K8sObject[]) =>
    podTemplates(os).flatMap((t) => [...(t.spec.initContainers ?? []), ...(t.spec.containers ?? [])].map((c: any) => ({ owner: t.owner, c })));

/** A deep copy of the program's objects with one edit applied to the workload that `pick` selects. */
function mutated(pick: (o: any) => boolean, edit: (pod: any, o: any) => void): K8sObject[] {
    const copy = structuredClone(objects) as any[];
    const found = copy.filter(pick);
    if (found.length !== 1) throw new Error(`expected one workload, found ${found.length}`);
    edit(found[0].spec.template.spec, found[0]);
    return copy;
}
const named = (kind: string, name: string) => (o: any) => o.kind === kind && o.metadata.name === name;
const job = (component: string) => (o: any) => o.kind === "Job" && o.metadata.labels?.["app.kubernetes.io/component"] === component;
const env = (c: any, name: string) => c.env.find((e: any) => e.name === name);
const dropEnv = (c: any, name: string) => (c.env = c.env.filter((e: any) => e.name !== name));

/** Every image repository the dev stack runs. */
const DEV_REPOSITORIES = [
    "docker.io/grafana/grafana",
    "docker.io/library/postgres",
    "docker.io/library/redis",
    "docker.io/prom/prometheus",
    "docker.io/prom/statsd-exporter",
    "mlops-platform/airflow",
    "mlops-platform/data-api",
    "mlops-platform/mlflow",
    "mlops-platform/model-api",
    "mlops-platform/ui",
    "quay.io/minio/mc",
    "quay.io/minio/minio",
];

describe("GIVEN the dev stack, WHEN every rendered container is checked against its image's contract", () => {
    it("THEN the check passes", () => {
        expect(checkImageContracts(objects)).toEqual([]);
    });

    it("THEN it has looked at every image repository the program runs, and each has a contract", () => {
        const repos = [...new Set(containersOf(objects).map(({ c }) => repositoryOf(c.image)))].sort();
        expect(repos).toEqual(DEV_REPOSITORIES);
        for (const r of repos) expect(IMAGE_CONTRACTS[r], r).toBeDefined();
    });

    it("THEN each container runs a process its contract describes", () => {
        const runs = containersOf(objects).map(({ owner, c }) => {
            const contract = contractFor(c.image)!;
            const run = programOf(invocation(c, contract), contract);
            const proc = findProcess(contract, run.program, run.args)!;
            return `${owner.kind}/${owner.metadata.name ?? owner.metadata.labels?.["app.kubernetes.io/component"]}/${c.name}: ${proc.program}${proc.subcommand ? ` ${proc.subcommand}` : ""}`;
        });
        expect(runs.sort()).toEqual(
            [
                "CronJob/airflow-db-clean/db-clean: bash",
                "CronJob/mlflow-gc/gc: mlflow gc",
                "CronJob/model-api-prune/prune: node services/model-api/dist/src/prune.js",
                "CronJob/platform-backup/backup-artifacts: mc",
                "CronJob/platform-backup/backup-dump: *",
                "CronJob/platform-backup/backup-manifest: mc",
                "CronJob/platform-backup/backup-upload: mc",
                "CronJob/platform-restore/fetch: mc",
                "CronJob/platform-restore/restore: *",
                "CronJob/platform-restore/wait-minio: mc",
                "Deployment/airflow-api-server/api-server: airflow",
                "Deployment/airflow-api-server/auth-file: cp",
                "Deployment/airflow-dag-processor/dag-processor: airflow",
                "Deployment/airflow-scheduler/scheduler: airflow",
                "Deployment/airflow-triggerer/triggerer: airflow",
                "Deployment/airflow-worker/worker: airflow",
                "Deployment/data-api/data-api: node",
                "Deployment/data-api/migrate: node services/data-api/dist/migrate.js",
                "Deployment/grafana/grafana: grafana server",
                "Deployment/mlflow/auth-setup: *",
                "Deployment/mlflow/mlflow: mlflow server",
                "Deployment/model-api/migrate: node services/model-api/dist/src/migrate.js",
                "Deployment/model-api/model-api: node",
                "Deployment/statsd-exporter/statsd-exporter: statsd_exporter",
                "Deployment/ui/ui: node",
                "Job/buckets/attach-airflow-logs: mc",
                "Job/buckets/attach-backup: mc",
                "Job/buckets/attach-mlflow: mc",
                "Job/buckets/expire-airflow-logs-1: mc",
                "Job/buckets/expire-airflow-logs-2: mc",
                "Job/buckets/expire-airflow-logs-3: mc",
                "Job/buckets/expire-backups-1: mc",
                "Job/buckets/expire-backups-2: mc",
                "Job/buckets/expire-backups-3: mc",
                "Job/buckets/mc: mc",
                "Job/buckets/noncurrent-mlflow-1: mc",
                "Job/buckets/noncurrent-mlflow-2: mc",
                "Job/buckets/noncurrent-mlflow-3: mc",
                "Job/buckets/policy-airflow-logs: mc",
                "Job/buckets/policy-backup: mc",
                "Job/buckets/policy-mlflow: mc",
                "Job/buckets/user-airflow-logs: mc",
                "Job/buckets/user-backup: mc",
                "Job/buckets/user-mlflow: mc",
                "Job/buckets/version-mlflow: mc",
                "Job/db-upgrade/backup-dump: *",
                "Job/db-upgrade/backup-manifest: mc",
                "Job/db-upgrade/backup-upload: mc",
                "Job/db-upgrade/db-upgrade: *",
                "Job/migrate/backup-dump: *",
                "Job/migrate/backup-manifest: mc",
                "Job/migrate/backup-upload: mc",
                "Job/migrate/migrate: airflow",
                "Job/setup/setup: *",
                "StatefulSet/minio/minio: minio server",
                "StatefulSet/postgres/postgres: postgres",
                "StatefulSet/prometheus/prometheus: prometheus",
                "StatefulSet/redis/redis: redis-server",
            ].sort(),
        );
    });

    it("THEN the table pins the versions the program renders, and the bases our Dockerfiles build on", () => {
        for (const { c } of containersOf(objects)) {
            const contract = contractFor(c.image)!;
            expect(`${contract.repository}:${contract.pinned.tag}`, `${c.name}: re-read the upstream files when the pin moves`).toBe(c.image);
        }
        const from = (file: string) => /^FROM\s+(\S+)/m.exec(fs.readFileSync(path.join(ROOT, file), "utf8"))![1]!;
        for (const [file, repo] of [
            ["services/mlflow/Dockerfile", "ghcr.io/mlflow/mlflow"],
            ["services/airflow/Dockerfile", "apache/airflow"],
        ] as const) {
            expect(from(file)).toBe(`${repo}:${IMAGE_CONTRACTS[repo]!.pinned.tag}`);
        }
    });
});

describe("GIVEN the DAG source is git, THEN the git-sync sidecar", () => {
    /** The dev worker pod with its DAGs from git-sync instead of the ConfigMap. */
    async function gitPod(password: boolean): Promise<K8sObject[]> {
        const { dagSource } = await import("../components/airflow-dags");
        const { parseConfig } = await import("../config");
        const config = parseConfig(
            { "mlops-platform:storageClass": "standard", "mlops-platform:airflow": JSON.stringify({ dags: { source: "git", git: { repo: "https://example.invalid/dags.git", username: "bot" } } }) },
            "mlops-platform",
        );
        const dags = dagSource({ config: config.airflow.dags, gitPassword: password ? { name: "git-sync", key: "password" } : undefined });
        return mutated(named("Deployment", "airflow-worker"), (pod) => {
            pod.volumes = [...pod.volumes.filter((v: any) => v.name !== "dags"), ...dags.volumes];
            pod.containers[0].volumeMounts = [...pod.containers[0].volumeMounts.filter((m: any) => m.name !== "dags"), dags.mount];
            pod.containers.push(...structuredClone(dags.sidecars));
        });
    }

    it("honours git-sync's contract as the airflow pod's uid 50000:0", async () => {
        const os = await gitPod(true);
        const sidecar = containersOf(os).find(({ c }) => c.name === "git-sync")!.c;
        expect(sidecar.image).toBe("registry.k8s.io/git-sync/git-sync:v4.4.2");
        expect(checkImageContracts(os)).toEqual([]);
    });

    it("is refused at build time with a username but no password (git-sync would exit at start)", async () => {
        await expect(gitPod(false)).rejects.toThrow("'airflow.dags.git.username' needs the secret config 'gitSyncPassword'");
    });
});

describe("the contract check catches", () => {
    const W = "StatefulSet mlops";
    const D = "Deployment mlops";
    it.each([
        // The image is in the table.
        ["an image without a contract", named("StatefulSet", "redis"), (pod: any) => (pod.containers[0].image = "docker.io/library/valkey:8.0.1"),
            `${W}/redis container 'redis': image repository 'docker.io/library/valkey' has no contract in config/image-contracts.ts`],
        ["a program the contract does not describe", named("StatefulSet", "prometheus"), (pod: any) => (pod.containers[0].command = ["/bin/promtool"]),
            `${W}/prometheus container 'prometheus': runs 'promtool', which the contract of docker.io/prom/prometheus does not describe`],
        // The uid/gid.
        ["another uid for an image that accepts none", named("Deployment", "statsd-exporter"), (pod: any) => (pod.securityContext.runAsUser = 1000),
            `${D}/statsd-exporter container 'statsd-exporter': runs as 1000:65534, but docker.io/prom/statsd-exporter runs as 65534:65534 and its contract accepts no other uid`],
        ["another gid where any uid needs gid 0", named("Deployment", "airflow-scheduler"), (pod: any) => (pod.securityContext.runAsGroup = 50000),
            expect.stringMatching(/^Deployment mlops\/airflow-scheduler container 'scheduler': runs as 50000:50000, but mlops-platform\/airflow accepts another uid only with gid 0 /)],
        // The ENTRYPOINT.
        ["a command that skips the entrypoint's initdb", named("StatefulSet", "postgres"), (pod: any) => (pod.containers[0].command = ["postgres"]),
            expect.stringMatching(/^StatefulSet mlops\/postgres container 'postgres': replaces the ENTRYPOINT of docker.io\/library\/postgres \(command: \["postgres"\]\), but postgres needs it: initdb/)],
        // Written paths.
        ["a written path on a read-only root filesystem", named("StatefulSet", "redis"), (pod: any) => (pod.containers[0].volumeMounts = []),
            `${W}/redis container 'redis': writes /data (RDB snapshots and the append-only file (the working directory unless --dir)), which no writable volume covers, and its root filesystem is read-only`],
        ["a written path on a read-only mount", named("StatefulSet", "prometheus"), (pod: any) => (pod.containers[0].volumeMounts.find((m: any) => m.name === "data").readOnly = true),
            expect.stringMatching(/^StatefulSet mlops\/prometheus container 'prometheus': writes \/prometheus \(the TSDB.*\), but volume 'data' is mounted read-only at \/prometheus$/)],
        ["a written path in a ConfigMap volume", named("StatefulSet", "prometheus"), (pod: any) => {
            const c = pod.containers[0];
            c.args = c.args.map((a: string) => (a.startsWith("--storage.tsdb.path=") ? "--storage.tsdb.path=/etc/prometheus/tsdb" : a));
            delete c.volumeMounts.find((m: any) => m.name === "config").readOnly;
        }, expect.stringMatching(/^StatefulSet mlops\/prometheus container 'prometheus': writes \/etc\/prometheus\/tsdb .*, but volume 'config' at \/etc\/prometheus is a configMap volume, which is read-only$/)],
        ["a PersistentVolumeClaim without fsGroup", named("StatefulSet", "postgres"), (pod: any) => delete pod.securityContext.fsGroup,
            expect.stringMatching(/^StatefulSet mlops\/postgres container 'postgres': writes \/var\/lib\/postgresql\/data\/pgdata .* on PersistentVolumeClaim volume 'data', whose root is root-owned: without fsGroup uid 999 cannot write it$/)],
        ["an image directory another uid cannot write", named("StatefulSet", "redis"), (pod: any) => {
            pod.securityContext.runAsUser = 1001;
            pod.containers[0].securityContext.readOnlyRootFilesystem = false;
            pod.containers[0].volumeMounts = [];
        }, expect.stringMatching(/^StatefulSet mlops\/redis container 'redis': writes \/data .*, and docker.io\/library\/redis ships \/data as 999:1000 0755, not writable by 1001:1000$/)],
        ["a default path relative to WORKDIR that nothing makes writable", named("Deployment", "mlflow"), (pod: any) => {
            const c = pod.containers[0];
            c.args.splice(c.args.indexOf("--backend-store-uri"), 2);
            dropEnv(c, "MLFLOW_BACKEND_STORE_URI");
        }, "Deployment mlops/mlflow container 'mlflow': writes /mlruns (the file backend store, when no database URI is given), which no writable volume covers, and the contract of mlops-platform/mlflow does not record the image's /mlruns as writable"],
        ["$HOME falling back to / for a uid without a passwd entry", named("StatefulSet", "minio"), (pod: any) => dropEnv(pod.containers[0], "HOME"),
            expect.stringMatching(/^StatefulSet mlops\/minio container 'minio': writes \/\.minio \(certs\/CAs.*\), which no writable volume covers, and the contract of quay.io\/minio\/minio does not record the image's \/\.minio as writable$/)],
        ["a state file whose directory lost its volume", named("Deployment", "data-api"), (pod: any) => {
            const c = pod.containers[0];
            c.env = [...c.env.filter((e: any) => !e.name.startsWith("DATA_API_STATE")), { name: "DATA_API_STATE_BACKEND", value: "file" }];
            c.volumeMounts = [];
        },
            expect.stringMatching(/^Deployment mlops\/data-api container 'data-api': writes \/var\/lib\/data-api \(the batch counters.*\), which no writable volume covers, and its root filesystem is read-only$/)],
        // The bucket Job's first step (an init container: the steps run in order).
        ["a config directory of a Job that lost its volume", job("buckets"), (pod: any) => (pod.initContainers[0].volumeMounts = []),
            expect.stringMatching(/^Job mlops\/<auto-named> container 'mc': writes \/tmp\/\.mc \(config.json.*\), which no writable volume covers, and the contract of quay.io\/minio\/mc does not record/)],
        ["a written path taken from a Secret, which cannot be resolved", named("Deployment", "grafana"), (pod: any) => {
            const c = pod.containers[0];
            c.env = c.env.map((e: any) => (e.name === "GF_PATHS_DATA" ? { name: e.name, valueFrom: { secretKeyRef: { name: "grafana-credentials", key: "admin-password" } } } : e));
        }, "Deployment mlops/grafana container 'grafana': writes grafana.db (users, sessions, preferences), plugins, at a path taken from $GF_PATHS_DATA, which is not known here"],
        ["the auth config of MLflow's auth setup on a read-only mount", named("Deployment", "mlflow"), (pod: any) => {
            pod.initContainers[0].volumeMounts.find((m: any) => m.name === "auth").readOnly = true;
        }, expect.stringMatching(/^Deployment mlops\/mlflow container 'auth-setup': writes \/var\/run\/mlflow-auth \(the auth setup writes the auth app's config there.*\), but volume 'auth' is mounted read-only at \/var\/run\/mlflow-auth$/)],
        // Required variables.
        ["MLflow's auth app without the key that signs its form", named("Deployment", "mlflow"), (pod: any) => dropEnv(pod.containers[0], "MLFLOW_FLASK_SERVER_SECRET_KEY"),
            expect.stringMatching(/^Deployment mlops\/mlflow container 'mlflow': mlflow needs MLFLOW_FLASK_SERVER_SECRET_KEY, which is not set: the basic-auth app/)],
        ["a missing POSTGRES_PASSWORD", named("StatefulSet", "postgres"), (pod: any) => dropEnv(pod.containers[0], "POSTGRES_PASSWORD"),
            expect.stringMatching(/^StatefulSet mlops\/postgres container 'postgres': postgres needs POSTGRES_PASSWORD \(or POSTGRES_PASSWORD_FILE\), which is not set: required to initialise an empty PGDATA/)],
        ["a missing MLFLOW_TRACKING_URI", named("Deployment", "model-api"), (pod: any) => dropEnv(pod.containers[0], "MLFLOW_TRACKING_URI"),
            expect.stringMatching(/^Deployment mlops\/model-api container 'model-api': node needs MLFLOW_TRACKING_URI \(or MODEL_PATH\), which is not set/)],
        ["half of MinIO's root credentials", named("StatefulSet", "minio"), (pod: any) => dropEnv(pod.containers[0], "MINIO_ROOT_PASSWORD"),
            expect.stringMatching(/^StatefulSet mlops\/minio container 'minio': minio needs MINIO_ROOT_PASSWORD, which is not set: fatal 'Unable to start MinIO'/)],
        ["the postgres state backend without a database URL", named("Deployment", "data-api"), (pod: any) => dropEnv(pod.containers[0], "DATA_API_DATABASE_URL"),
            expect.stringMatching(/^Deployment mlops\/data-api container 'data-api': node needs DATA_API_DATABASE_URL, which is not set/)],
        // Shared keys.
        ["a Fernet key that differs between Airflow containers", named("Deployment", "airflow-scheduler"), (pod: any) => (env(pod.containers[0], "AIRFLOW__CORE__FERNET_KEY").valueFrom.secretKeyRef.key = "other-key"),
            expect.stringMatching(/^mlops-platform\/airflow: AIRFLOW__CORE__FERNET_KEY must be the same in every container, but is set 2 ways: .*"other-key".* in Deployment mlops\/airflow-scheduler\/scheduler/)],
        ["a JWT secret missing from one Airflow container", named("Deployment", "airflow-triggerer"), (pod: any) => dropEnv(pod.containers[0], "AIRFLOW__API_AUTH__JWT_SECRET"),
            expect.stringMatching(/^Deployment mlops\/airflow-triggerer container 'triggerer': airflow needs AIRFLOW__API_AUTH__JWT_SECRET, which is not set: \[api_auth\] jwt_secret defaults to a value generated at random/)],
    ] as [string, (o: any) => boolean, (pod: any, o: any) => void, unknown][])("%s", (_what, pick, edit, expected) => {
        expect(checkImageContracts(mutated(pick, edit))).toContainEqual(expected);
    });

    it("a git-sync sidecar with a username and no password", async () => {
        const { dagSource } = await import("../components/airflow-dags");
        const { parseConfig } = await import("../config");
        const config = parseConfig({ "mlops-platform:storageClass": "s", "mlops-platform:airflow": JSON.stringify({ dags: { source: "git", git: { repo: "https://example.invalid/d.git", username: "bot" } } }) }, "mlops-platform");
        const sidecar = structuredClone(dagSource({ config: config.airflow.dags, gitPassword: { name: "git-sync", key: "password" } }).sidecars[0]) as any;
        dropEnv(sidecar, "GITSYNC_PASSWORD");
        const os = mutated(named("Deployment", "airflow-worker"), (pod) => {
            pod.volumes.push({ name: "git-tmp", emptyDir: {} });
            pod.containers.push(sidecar);
        });
        expect(checkImageContracts(os)).toContainEqual(expect.stringMatching(/container 'git-sync': git-sync needs GITSYNC_PASSWORD \(or GITSYNC_PASSWORD_FILE, --password-file\), which is not set/));
    });

    it.each([
        ["POSTGRES_HOST_AUTH_METHOD=trust instead of a password (unless)", named("StatefulSet", "postgres"), (pod: any) => {
            dropEnv(pod.containers[0], "POSTGRES_PASSWORD");
            pod.containers[0].env.push({ name: "POSTGRES_HOST_AUTH_METHOD", value: "trust" });
        }],
        ["POSTGRES_PASSWORD_FILE instead of POSTGRES_PASSWORD (orEnv)", named("StatefulSet", "postgres"), (pod: any) => {
            dropEnv(pod.containers[0], "POSTGRES_PASSWORD");
            pod.containers[0].env.push({ name: "POSTGRES_PASSWORD_FILE", value: "/run/secrets/pw" });
        }],
        ["the postgres state backend (the dev default), whose file is then not written (unless)", named("Deployment", "data-api"), (pod: any) => (pod.containers[0].volumeMounts = [])],
        ["another uid with gid 0 for Airflow, whose paths are group 0 and g+w (anyUser, shipped)", named("Deployment", "airflow-scheduler"), (pod: any) => (pod.securityContext.runAsUser = 12345)],
        ["Prometheus's own default TSDB path under its volume (relative to WORKDIR)", named("StatefulSet", "prometheus"), (pod: any) => {
            pod.containers[0].args = pod.containers[0].args.filter((a: string) => !a.startsWith("--storage.tsdb.path"));
        }],
    ] as [string, (o: any) => boolean, (pod: any) => void][])("nothing for %s", (_what, pick, edit) => {
        expect(checkImageContracts(mutated(pick, edit))).toEqual([]);
    });
});

describe("the table", () => {
    const contracts = Object.values(IMAGE_CONTRACTS);

    it("holds the platform's images and the upstream bases of ours, keyed by repository", () => {
        // The dev stack's images, plus the upstream bases of ours and the git source's sidecar.
        expect(Object.keys(IMAGE_CONTRACTS).sort()).toEqual(
            [...DEV_REPOSITORIES, "apache/airflow", "ghcr.io/mlflow/mlflow", "registry.k8s.io/git-sync/git-sync"].sort(),
        );
        for (const [key, c] of Object.entries(IMAGE_CONTRACTS)) expect(c.repository).toBe(key);
    });

    /** Paths of objects that state a fact (a user, a path, a variable, a port, a behaviour, a build, an ENTRYPOINT) without a source. */
    function unsourced(v: unknown, at: string): string[] {
        if (Array.isArray(v)) return v.flatMap((x, i) => unsourced(x, `${at}[${i}]`));
        if (!v || typeof v !== "object") return [];
        const o = v as Record<string, unknown>;
        const isFact = !("repository" in o) && ["user", "path", "name", "port", "fact", "buildable", "entrypoint", "why", "values", "execs", "tag"].some((k) => k in o);
        const own = isFact && !(typeof o.source === "string" && o.source.length > 0) ? [at] : [];
        return [...own, ...Object.entries(o).flatMap(([k, x]) => unsourced(x, `${at}.${k}`))];
    }

    it("gives every fact a source, and names no package registry host and no local path", () => {
        expect(unsourced(IMAGE_CONTRACTS, "IMAGE_CONTRACTS")).toEqual([]);
        const broken = structuredClone(IMAGE_CONTRACTS["docker.io/library/redis"]) as any;
        delete broken.processes[0].writes[0].shipped.source;
        broken.processes[0].ports[0].source = "";
        expect(unsourced(broken, "redis")).toEqual(["redis.processes[0].writes[0].shipped", "redis.processes[0].ports[0]"]);
        const text = JSON.stringify(IMAGE_CONTRACTS);
        // Upstream files are cited on GitHub only; no other host (a package registry's least of all).
        expect([...new Set([...text.matchAll(/[a-z]+:\/\/([^/\s"'()]+)/gi)].map((m) => m[1]))]).toEqual(["github.com"]);
    });

    it("cites files of this repository that exist", () => {
        const sources = [...JSON.stringify(IMAGE_CONTRACTS).matchAll(/"source":"([^"]*)"/g)].map((m) => m[1]!);
        const local = [...new Set(sources.filter((src) => !src.startsWith("https://")).map((src) => /^[\w.-]+\/[\w./-]*[\w]/.exec(src)?.[0]).filter((f): f is string => f !== undefined))].sort();
        expect(local.length).toBeGreaterThan(10);
        expect(local.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
    });

    it("marks Grafana and git-sync as not buildable here, with the reason", () => {
        expect(IMAGE_CONTRACTS["docker.io/grafana/grafana"]!.build).toMatchObject({ buildable: false, note: expect.stringContaining("not usable here") });
        expect(IMAGE_CONTRACTS["registry.k8s.io/git-sync/git-sync"]!.build).toMatchObject({ buildable: false, note: expect.stringContaining("refuses k8s.io/git-sync at every version") });
    });

    /** The recipe a build names as its source: tools/images/NAME/image.sh. */
    const recipeOf = (b: BuildContract) => /^tools\/images\/([\w-]+)\/image\.sh$/.exec(b.source)?.[1];
    /** The reference the CRI resolves a short name to (`apache/airflow` -> `docker.io/apache/airflow`). */
    const qualified = (repository: string) => (repository.split("/")[0]!.includes(".") ? repository : `docker.io/${repository}`);
    const refOf = (recipe: string) => execFileSync("bash", [path.join(ROOT, "tools", "images", "build.sh"), "--ref", recipe], { encoding: "utf8" }).trim();

    it("names the recipe of every image built here, and the reference that recipe builds", () => {
        expect(Object.fromEntries(contracts.filter((c) => c.build.buildable).map((c) => [c.repository, recipeOf(c.build)]))).toEqual({
            "apache/airflow": "airflow-base",
            "docker.io/library/postgres": "postgres",
            "docker.io/library/redis": "redis",
            "docker.io/prom/prometheus": "prometheus",
            "docker.io/prom/statsd-exporter": "statsd-exporter",
            "ghcr.io/mlflow/mlflow": "mlflow-base",
            "mlops-platform/airflow": "airflow",
            "mlops-platform/data-api": "data-api",
            "mlops-platform/mlflow": "mlflow",
            "mlops-platform/model-api": "model-api",
            "mlops-platform/ui": "ui",
            "quay.io/minio/mc": "mc",
            "quay.io/minio/minio": "minio",
        });
        for (const c of contracts) {
            const { buildable, localRef, sameVersion } = c.build;
            if (!buildable) {
                expect(localRef, c.repository).toBeUndefined();
                continue;
            }
            expect(refOf(recipeOf(c.build)!), `${c.repository}: build.localRef is what its recipe's --ref prints`).toBe(localRef);
            const colon = localRef!.lastIndexOf(":");
            expect(localRef!.slice(0, colon), c.repository).toBe(qualified(c.repository));
            expect(localRef!.slice(colon + 1) === c.pinned.tag, `${c.repository}: sameVersion says whether the local tag is the pinned one`).toBe(sameVersion);
        }
    });

    it("says explicitly, with a source, which images accept another uid", () => {
        const any = Object.fromEntries(contracts.map((c) => [c.repository, c.runAs.anyUser === false ? false : { group: c.runAs.anyUser.group, sourced: c.runAs.anyUser.source.length > 0 }]));
        expect(any).toEqual({
            "apache/airflow": { group: 0, sourced: true },
            "docker.io/grafana/grafana": { group: undefined, sourced: true },
            "docker.io/library/postgres": { group: undefined, sourced: true },
            "docker.io/library/redis": { group: undefined, sourced: true },
            "docker.io/prom/prometheus": false,
            "docker.io/prom/statsd-exporter": false,
            "ghcr.io/mlflow/mlflow": false,
            "mlops-platform/airflow": { group: 0, sourced: true },
            "mlops-platform/data-api": false,
            "mlops-platform/mlflow": false,
            "mlops-platform/model-api": false,
            "mlops-platform/ui": false,
            "quay.io/minio/mc": { group: undefined, sourced: true },
            "quay.io/minio/minio": { group: undefined, sourced: true },
            "registry.k8s.io/git-sync/git-sync": { group: undefined, sourced: true },
        });
    });

    it("is frozen all the way down", () => {
        const pg = IMAGE_CONTRACTS["docker.io/library/postgres"]!;
        expect(Object.isFrozen(IMAGE_CONTRACTS)).toBe(true);
        expect(Object.isFrozen(pg.processes[0]!.writes[0])).toBe(true);
        expect(() => ((pg.runAs as any).user = 0)).toThrow(TypeError);
        expect(() => (pg.processes as any).push({})).toThrow(TypeError);
    });

    it.each([
        ["docker.io/library/postgres:17.2-bookworm", "docker.io/library/postgres", "docker.io/library/postgres"],
        ["quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z", "quay.io/minio/minio", "quay.io/minio/minio"],
        [`mlops-platform/mlflow@sha256:${"0".repeat(64)}`, "mlops-platform/mlflow", "mlops-platform/mlflow"],
        [`registry.example:5000/mlops-platform/mlflow:3.5.1-1@sha256:${"0".repeat(64)}`, "registry.example:5000/mlops-platform/mlflow", "mlops-platform/mlflow"],
        ["registry.example:5000/library/postgres:17.2", "registry.example:5000/library/postgres", undefined],
        ["docker.io/library/valkey:8.0.1", "docker.io/library/valkey", undefined],
    ])("%s is repository %s with contract %s", (ref, repository, contract) => {
        expect(repositoryOf(ref)).toBe(repository);
        expect(contractFor(ref)?.repository).toBe(contract);
    });
});

describe("the versioned schema migrations travel with the code that applies them", () => {
    const sqlFiles = (dir: string) => fs.readdirSync(path.join(ROOT, dir)).sort();

    it.each([
        // model-api: beside the nearest package.json above dist/src (src/migrate.ts, migrationsDir).
        ["services/model-api", "/app/services/model-api/migrations", ["0001_inference-log.sql", "0002_model-sha256.sql"]],
        // data-api: one level above dist/ (src/migrate.ts, MIGRATIONS_DIR).
        ["services/data-api", "/app/services/data-api/migrations", ["0001_batch-state.sql"]],
    ])("%s: the image's final stage copies migrations/ from the context to %s, where the code looks", async (service, inImage, files) => {
        const { copies, finalStage, parseDockerfile, resolveInImage, workdirAt } = await import("./images/dockerfile");
        const file = `${service}/Dockerfile`;
        const stage = finalStage(parseDockerfile(file, fs.readFileSync(path.join(ROOT, file), "utf8")));
        const fromContext = copies(stage)
            .filter((c) => c.from === null)
            .map((c) => ({ sources: c.sources, dest: resolveInImage(workdirAt(stage, c.ins), c.dest) }));
        expect(fromContext).toContainEqual({ sources: [`${service}/migrations`], dest: inImage });
        // Only migrations in the folder: node-pg-migrate loads every file there as one.
        expect(sqlFiles(`${service}/migrations`)).toEqual(files);
    });

    it("dags/include/migrations: the local DAG source ships every file Alembic loads (git-sync ships the whole repository)", async () => {
        const { readDagFiles } = await import("../components/airflow-dags");
        const shipped = Object.keys(readDagFiles(path.join(ROOT, "dags"))).filter((p) => p.startsWith("include/migrations/")).sort();
        expect(shipped).toEqual(["include/migrations/env.py", "include/migrations/versions/0001_raw_and_clean_tables.py"]);
    });
});
