// `npm run backup` and `npm run restore`: backups of a deployed platform, from the operator's
// machine. Needs kubectl (reaching the stack's cluster) and, unless --namespace is given, the
// pulumi CLI (to read the stack's namespace). Usage: `npm run backup -- --help`.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import { Client } from "minio";
import { BACKUP_CRONJOB, RESTORE_CRONJOB, RESTORE_ID_ANNOTATION } from "../../components/backup";
import { incompatibilities, Manifest } from "./manifest";
import { BackupStore, human, Listed, listLocal } from "./store";

const USAGE = `usage:
  npm run backup [-- OPTIONS]            take a backup now (every database and the model artifacts),
                                         then copy it to --dir (skip with --no-download)
  npm run backup -- --list               list the backups in the bucket and in --dir
  npm run restore -- ID [OPTIONS]        restore backup ID (from the bucket, or uploaded from --dir)
  npm run restore                        list the backups that can be restored
options:
  --stack NAME        the Pulumi stack (default: $STACK, else dev)
  --namespace NAME    the platform's namespace (default: the stack's output namespaceName)
  --context NAME      the kubectl context (default: the stack's kubeContext, else kubectl's current one)
  --dir DIR           local copies of backups (default: backups/<stack>)
  --no-download       backup: leave the backup in the bucket only
  --yes               restore: do not ask for confirmation (required without a terminal)`;

/** Consumers of the databases: scaled to 0 while a restore replaces their databases. */
const CONSUMERS = ["mlflow", "airflow", "model-api", "data-api", "ui"];

interface Options {
    command: "backup" | "restore";
    id?: string;
    stack: string;
    namespace?: string;
    context?: string;
    dir?: string;
    list: boolean;
    download: boolean;
    yes: boolean;
}

class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): Options {
    const [command, ...rest] = argv;
    if (command !== "backup" && command !== "restore") throw new UsageError(`unknown command '${command ?? ""}'`);
    const o: Options = { command, stack: process.env.STACK || "dev", list: false, download: true, yes: false };
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        const value = () => {
            const v = rest[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
            return v;
        };
        if (a === "--stack") o.stack = value();
        else if (a === "--namespace") o.namespace = value();
        else if (a === "--context") o.context = value();
        else if (a === "--dir") o.dir = value();
        else if (a === "--list" && command === "backup") o.list = true;
        else if (a === "--no-download" && command === "backup") o.download = false;
        else if (a === "--yes" && command === "restore") o.yes = true;
        else if (a === "--help" || a === "-h") throw new UsageError("");
        else if (!a.startsWith("-") && command === "restore" && o.id === undefined) o.id = a;
        else throw new UsageError(`unknown argument '${a}'`);
    }
    return o;
}

function log(line: string): void {
    process.stdout.write(`${line}\n`);
}

function run(cmd: string, args: string[], input?: string): string {
    try {
        return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
        const e = err as { code?: string; stderr?: string };
        if (e.code === "ENOENT") throw new Error(`${cmd} is not on PATH (see README: Prerequisites)`);
        throw new Error(`${cmd} ${args.join(" ")}: ${(e.stderr ?? String(err)).trim()}`);
    }
}

class Kube {
    constructor(
        readonly namespace: string,
        private readonly context: string | undefined,
    ) {}
    args(args: string[]): string[] {
        return [...(this.context ? ["--context", this.context] : []), "-n", this.namespace, ...args];
    }
    run(args: string[], input?: string): string {
        return run("kubectl", this.args(args), input);
    }
    json(args: string[]): any {
        return JSON.parse(this.run([...args, "-o", "json"]));
    }
    /** A port-forward to a Service; resolves to the local address once it listens. */
    forward(service: string, port: number): Promise<{ address: string; child: ChildProcess }> {
        const child = spawn("kubectl", this.args(["port-forward", `svc/${service}`, `:${port}`, "--address", "127.0.0.1"]), { stdio: ["ignore", "pipe", "pipe"] });
        return new Promise((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`port-forward to svc/${service}:${port} did not start: ${out}`)), 30_000);
            const onData = (d: Buffer) => {
                out += d.toString();
                const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
                if (m) {
                    clearTimeout(timer);
                    resolve({ address: `127.0.0.1:${m[1]}`, child });
                }
            };
            child.stdout.on("data", onData);
            child.stderr.on("data", onData);
            child.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`port-forward to svc/${service}:${port} exited (${code}): ${out.trim()}`));
            });
        });
    }
}

function resolveTarget(o: Options): Kube {
    const pulumi = (args: string[]) => run("pulumi", [...args, "--stack", o.stack]).trim();
    const namespace = o.namespace ?? JSON.parse(pulumi(["stack", "output", "namespaceName", "--json"]));
    let context = o.context;
    if (context === undefined) {
        try {
            context = pulumi(["config", "get", "kubeContext"]) || undefined;
        } catch {
            context = undefined; // not set: kubectl's current context
        }
    }
    return new Kube(namespace, context);
}

/** What the deployed backup CronJob says: bucket, MinIO Service and credentials, image versions. */
interface Deployed {
    bucket: string;
    minioService: string;
    minioUser: string;
    minioPassword: string;
    versions: Record<string, string>;
}

function deployed(kube: Kube): Deployed {
    let cj: any;
    try {
        cj = kube.json(["get", "cronjob", BACKUP_CRONJOB]);
    } catch (err) {
        throw new Error(`no CronJob ${BACKUP_CRONJOB} in namespace ${kube.namespace}: is the platform deployed there? (${(err as Error).message})`);
    }
    const spec = cj.spec.jobTemplate.spec.template.spec;
    const steps: any[] = [...(spec.initContainers ?? []), ...spec.containers];
    const upload = steps.find((c) => c.name === "backup-upload");
    const dump = steps.find((c) => c.name === "backup-dump");
    const env = (c: any, name: string) => c.env.find((e: any) => e.name === name);
    const secret = (ref: { name: string; key: string }) => Buffer.from(kube.json(["get", "secret", ref.name]).data[ref.key], "base64").toString("utf8");
    const mcHost: string = env(upload, "MC_HOST_platform").value; // http://$(MINIO_ROOT_USER):$(MINIO_ROOT_PASSWORD)@minio.mlops.svc.cluster.local:9000
    return {
        bucket: String(upload.command.at(-1)).replace(/^platform\//, ""),
        // The Service's name: the host's first label (the host is its in-cluster DNS name).
        minioService: mcHost.replace(/^.*@/, "").replace(/:\d+$/, "").split(".")[0]!,
        minioUser: secret(env(upload, "MINIO_ROOT_USER").valueFrom.secretKeyRef),
        minioPassword: secret(env(upload, "MINIO_ROOT_PASSWORD").valueFrom.secretKeyRef),
        versions: JSON.parse(env(dump, "VERSIONS").value),
    };
}

async function openStore(kube: Kube, d: Deployed): Promise<{ store: BackupStore; close: () => void }> {
    const { address, child } = await kube.forward(d.minioService, 9000);
    const [host, port] = address.split(":");
    const client = new Client({ endPoint: host!, port: Number(port), useSSL: false, accessKey: d.minioUser, secretKey: d.minioPassword });
    return { store: new BackupStore(client, d.bucket), close: () => child.kill() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a Job to finish, printing each step's output as the step ends and a line every 15 s
 * while one runs. Throws when the Job fails.
 */
async function follow(kube: Kube, job: string): Promise<void> {
    const printed = new Set<string>();
    const t0 = Date.now();
    let lastTick = 0;
    for (;;) {
        const j = kube.json(["get", "job", job]);
        const pods = kube.json(["get", "pods", "-l", `batch.kubernetes.io/job-name=${job}`]).items as any[];
        const pod = pods.sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))[0];
        if (pod) {
            const statuses: any[] = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
            for (const s of statuses) {
                const key = `${pod.metadata.name}/${s.name}`;
                if (s.state?.terminated && !printed.has(key)) {
                    printed.add(key);
                    const out = kube.run(["logs", pod.metadata.name, "-c", s.name]).trimEnd();
                    const mark = s.state.terminated.exitCode === 0 ? "done" : `FAILED (exit ${s.state.terminated.exitCode})`;
                    log(`  ${s.name}: ${mark}`);
                    for (const line of out.split("\n").filter((l) => l.trim() !== "")) log(`    ${line}`);
                }
            }
            const running = statuses.find((s) => s.state?.running);
            if (running && Date.now() - lastTick > 15_000) {
                lastTick = Date.now();
                log(`  ${running.name}: running (${Math.round((Date.now() - t0) / 1000)} s)`);
            }
        }
        const conditions: any[] = j.status?.conditions ?? [];
        if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return;
        const failed = conditions.find((c) => c.type === "Failed" && c.status === "True");
        if (failed) throw new Error(`Job ${job} failed: ${failed.reason ?? ""} ${failed.message ?? ""}`.trim());
        await sleep(2000);
    }
}

/** Waits until no pod matches any of the selectors (the scaled-down workloads' pods are gone). */
async function waitUntilGone(kube: Kube, selectors: string[], timeoutMs = 300_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
        const left = selectors.flatMap((sel) => kube.run(["get", "pods", "-l", sel, "-o", "name"]).split("\n").filter(Boolean));
        if (left.length === 0) return;
        if (Date.now() - t0 > timeoutMs) throw new Error(`pods still running after ${timeoutMs / 1000} s: ${left.join(" ")}`);
        await sleep(2000);
    }
}

function stamp(): string {
    return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15).toLowerCase();
}

function describe(l: Listed, where: string): string {
    if (!l.manifest) return `${l.id.padEnd(40)} ${where.padEnd(6)} ${human(l.bytes).padStart(10)}  unusable: ${l.problem}`;
    const m = l.manifest;
    return `${m.id.padEnd(40)} ${where.padEnd(6)} ${human(l.bytes).padStart(10)}  ${m.createdAt}  ${m.kind.padEnd(11)} ${m.databases.map((d) => d.name).join(",")}`;
}

async function listAll(store: BackupStore, dir: string): Promise<void> {
    const remote = await store.list();
    const local = listLocal(dir).filter((l) => !remote.some((r) => r.id === l.id));
    if (remote.length + local.length === 0) {
        log(`no backups in bucket '${store.bucket}' or in ${dir}`);
        return;
    }
    log(`${"ID".padEnd(40)} ${"WHERE".padEnd(6)} ${"SIZE".padStart(10)}  CREATED               KIND        DATABASES`);
    for (const l of remote) log(describe(l, "bucket"));
    for (const l of local) log(describe(l, "local"));
}

async function backup(o: Options, kube: Kube, store: BackupStore, dir: string): Promise<void> {
    const job = `${BACKUP_CRONJOB}-manual-${stamp()}`;
    log(`backup ${job}: starting a Job from CronJob ${BACKUP_CRONJOB} in namespace ${kube.namespace}`);
    kube.run(["create", "job", job, `--from=cronjob/${BACKUP_CRONJOB}`]);
    await follow(kube, job);
    const manifest = await store.manifest(job);
    const size = manifest.databases.reduce((s, d) => s + d.bytes, 0);
    log(`backup ${job}: ${manifest.databases.map((d) => `${d.name} ${human(d.bytes)}`).join(", ")} (${human(size)} of dumps) and the artifacts, in bucket '${store.bucket}'`);
    if (o.download) {
        log(`copying it to ${path.join(dir, job)} (a backup in the cluster is lost with the namespace)`);
        await store.download(job, dir, (l) => log(`  ${l}`));
    }
    log(`done: restore it with 'npm run restore -- ${job}'`);
}

async function confirm(o: Options, manifest: Manifest, kube: Kube): Promise<void> {
    if (o.yes) return;
    if (!process.stdin.isTTY) throw new Error("restore replaces databases: pass --yes to confirm (no terminal to ask on)");
    const readline = await import("node:readline/promises");
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(
        `This replaces database(s) ${manifest.databases.map((d) => d.name).join(", ")} in namespace ${kube.namespace} with backup ${manifest.id} (${manifest.createdAt}),\n` +
            `and stops ${CONSUMERS.join(", ")} meanwhile. Type the backup id to continue: `,
    );
    rl.close();
    if (answer.trim() !== manifest.id) throw new Error("not confirmed: nothing changed");
}

async function restore(o: Options, kube: Kube, store: BackupStore, d: Deployed, dir: string): Promise<void> {
    const id = o.id!;
    const remote = await store.list();
    let found = remote.find((l) => l.id === id);
    if (!found) {
        const local = listLocal(dir).find((l) => l.id === id);
        if (!local) {
            const known = [...remote, ...listLocal(dir)].filter((l) => l.manifest).map((l) => l.id);
            throw new Error(`no backup '${id}' in bucket '${store.bucket}' or in ${dir}; available: ${known.length ? known.join(", ") : "none"}`);
        }
        if (!local.manifest) throw new Error(`backup '${id}' in ${dir} cannot be restored: ${local.problem}`);
        log(`uploading backup ${id} from ${dir}`);
        await store.upload(id, dir, (l) => log(`  ${l}`));
        found = { ...local };
    }
    if (!found.manifest) throw new Error(`backup '${id}' cannot be restored: ${found.problem}`);
    const manifest = found.manifest;
    const problems = incompatibilities(manifest, d.versions);
    if (problems.length > 0) throw new Error(`refusing to restore backup '${id}':\n  - ${problems.join("\n  - ")}`);
    await confirm(o, manifest, kube);

    const workloads = (kube.json(["get", "deployments,statefulsets", "-l", `app.kubernetes.io/name in (${CONSUMERS.join(",")})`]).items as any[]).map((w) => ({
        ref: `${w.kind.toLowerCase()}/${w.metadata.name}`,
        replicas: Number(w.spec.replicas ?? 1),
        selector: Object.entries(w.spec.selector.matchLabels as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
    }));
    log(`stopping ${workloads.length} workloads that use the databases: ${workloads.map((w) => `${w.ref}=${w.replicas}`).join(" ")}`);
    try {
        for (const w of workloads) kube.run(["scale", w.ref, "--replicas=0"]);
        await waitUntilGone(kube, workloads.map((w) => w.selector));
        const copied = await store.restoreArtifacts(manifest, (l) => log(`  ${l}`));
        if (Object.keys(manifest.artifacts).length) log(`artifacts: ${copied} objects restored`);
        const job = `${RESTORE_CRONJOB}-${stamp()}`;
        const spec = JSON.parse(kube.run(["create", "job", job, `--from=cronjob/${RESTORE_CRONJOB}`, "--dry-run=client", "-o", "json"]));
        spec.spec.template.metadata.annotations = { ...(spec.spec.template.metadata.annotations ?? {}), [RESTORE_ID_ANNOTATION]: id };
        log(`restore ${job}: restoring ${manifest.databases.map((x) => x.name).join(", ")} from backup ${id}`);
        kube.run(["create", "-f", "-"], JSON.stringify(spec));
        await follow(kube, job);
    } finally {
        log(`starting the workloads again`);
        for (const w of workloads) kube.run(["scale", w.ref, `--replicas=${w.replicas}`]);
    }
    for (const w of workloads.filter((x) => x.replicas > 0)) {
        kube.run(["rollout", "status", w.ref, "--timeout=600s"]);
        log(`  ${w.ref} ready`);
    }
    log(`done: backup ${id} restored (${manifest.createdAt})`);
}

async function main(): Promise<void> {
    const o = parseArgs(process.argv.slice(2));
    const kube = resolveTarget(o);
    const d = deployed(kube);
    const dir = path.resolve(o.dir ?? path.join("backups", o.stack));
    const { store, close } = await openStore(kube, d);
    try {
        if (o.command === "backup" && o.list) await listAll(store, dir);
        else if (o.command === "backup") await backup(o, kube, store, dir);
        else if (o.id === undefined) await listAll(store, dir);
        else await restore(o, kube, store, d, dir);
    } finally {
        close();
    }
}

if (require.main === module) {
    main().catch((err: unknown) => {
        if (err instanceof UsageError) {
            if (err.message) process.stderr.write(`error: ${err.message}\n`);
            process.stderr.write(`${USAGE}\n`);
            process.exit(err.message ? 2 : 0);
        }
        process.stderr.write(`error: ${(err as Error).message}\n`);
        process.exit(1);
    });
}
