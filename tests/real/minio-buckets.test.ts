import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sObject } from "../helpers";
import { LoadedProgram, runProgram } from "../program";
import { freePort } from "../support/postgres-server";
import { runPodSteps } from "../support/pod-steps";
import { minioBinDir, start, Started, waitForHttp } from "../support/processes";

/**
 * The bucket Job as rendered, step by step against a real MinIO (built from its Go module):
 * the buckets, and exactly one expiry rule on airflow-logs however often the Job runs (a
 * credentials rotation or a client image bump re-runs it).
 */
let program: LoadedProgram;
let minio: Started;
let port: number;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlops-minio-buckets-"));
const secrets: Record<string, string> = {
    "minio-credentials/root-user": `mlops${randomBytes(6).toString("hex")}`,
    "minio-credentials/root-password": randomBytes(16).toString("hex"),
    ...Object.fromEntries(
        ["mlflow", "airflow-logs", "backup"].flatMap((u) => [
            [`minio-${u}/access-key`, `mlops${randomBytes(6).toString("hex")}`],
            [`minio-${u}/secret-key`, randomBytes(16).toString("hex")],
        ]),
    ),
};

beforeAll(async () => {
    program = await runProgram("dev");
    port = await freePort();
    minio = start(path.join(minioBinDir(), "minio"), ["server", path.join(tmp, "data"), "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${await freePort()}`], {
        PATH: process.env.PATH,
        HOME: tmp,
        MINIO_ROOT_USER: secrets["minio-credentials/root-user"],
        MINIO_ROOT_PASSWORD: secrets["minio-credentials/root-password"],
    });
    await waitForHttp(`http://127.0.0.1:${port}/minio/health/ready`, minio, 60_000);
}, 120_000);

afterAll(async () => {
    await minio?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs every step of the rendered Job in order, as the kubelet would; fails on the first failing one. */
function runJob(): string[] {
    const pod = k8sObject(program.recorder, "Job", "minio-buckets").spec.template.spec;
    const r = runPodSteps(pod, {
        secrets,
        rewrite: (v) => v.replace("@minio.mlops.svc.cluster.local:9000", `@127.0.0.1:${port}`).replace(/^\/tmp\/\.mc$/, path.join(tmp, ".mc")),
        mounts: { "/policies": path.join(tmp, "policies") },
        configMaps: { policies: k8sObject(program.recorder, "ConfigMap", "minio-policies").data },
        home: tmp,
    });
    expect(r.status, `${r.failed}: ${r.output}`).toBe(0);
    return [...(pod.initContainers ?? []), ...pod.containers].map((c: any) => c.name);
}

function mc(args: string[]) {
    return spawnSync(path.join(minioBinDir(), "mc"), args, {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: tmp, MC_CONFIG_DIR: path.join(tmp, ".mc-check"), MC_HOST_m: `http://${secrets["minio-credentials/root-user"]}:${secrets["minio-credentials/root-password"]}@127.0.0.1:${port}` },
    });
}

/** Enabled expiry rules of a bucket, as days. */
function expiryDays(bucket: string): number[] {
    const r = mc(["ilm", "rule", "ls", "--json", `m/${bucket}`]);
    const rules = r.stdout.trim() ? (JSON.parse(r.stdout.trim().split("\n").pop()!).config?.Rules ?? []) : [];
    return rules.filter((rule: any) => rule.Status === "Enabled").map((rule: any) => rule.Expiration?.Days);
}

describe("the bucket Job as rendered, against a real MinIO", () => {
    it("creates the buckets, gives airflow-logs one 30-day expiry rule and keeps mlflow versioned, on its first run", () => {
        expect(runJob().slice(0, 4)).toEqual(["mc", "expire-airflow-logs-1", "expire-airflow-logs-2", "expire-airflow-logs-3"]);
        const ls = mc(["ls", "m"]);
        expect(ls.stdout).toContain("mlflow/");
        expect(ls.stdout).toContain("airflow-logs/");
        expect(expiryDays("airflow-logs")).toEqual([30]);
        // The model artifacts never expire; a deleted or overwritten one stays 30 days as a noncurrent version.
        const rules = JSON.parse(mc(["ilm", "rule", "ls", "--json", "m/mlflow"]).stdout.trim().split("\n").pop()!).config.Rules;
        expect(rules.map((r: any) => [r.Expiration, r.NoncurrentVersionExpiration?.NoncurrentDays, r.Status])).toEqual([[undefined, 30, "Enabled"]]);
        expect(mc(["version", "info", "m/mlflow"]).stdout).toContain("versioning is enabled");
    });

    it("still has exactly one rule after running again, twice (re-runs are idempotent)", () => {
        runJob();
        runJob();
        expect(expiryDays("airflow-logs")).toEqual([30]);
    });

    it("gives each client its own user, which reaches its buckets and nothing else", () => {
        const as = (u: string, args: string[], input?: string) =>
            spawnSync(path.join(minioBinDir(), "mc"), args, {
                input,
                encoding: "utf8",
                env: { PATH: process.env.PATH, HOME: tmp, MC_CONFIG_DIR: path.join(tmp, `.mc-${u}`), MC_HOST_u: `http://${secrets[`minio-${u}/access-key`]}:${secrets[`minio-${u}/secret-key`]}@127.0.0.1:${port}` },
            });
        const can = (u: string, bucket: string) => ({
            list: as(u, ["ls", `u/${bucket}`]).status === 0,
            write: as(u, ["pipe", `u/${bucket}/probe-${u}`], "x").status === 0,
        });
        expect(can("mlflow", "mlflow")).toEqual({ list: true, write: true });
        expect(can("mlflow", "airflow-logs")).toEqual({ list: false, write: false });
        expect(can("mlflow", "backups")).toEqual({ list: false, write: false });
        expect(can("airflow-logs", "airflow-logs")).toEqual({ list: true, write: true });
        expect(can("airflow-logs", "mlflow")).toEqual({ list: false, write: false });
        expect(can("backup", "backups")).toEqual({ list: true, write: true });
        expect(can("backup", "mlflow")).toEqual({ list: true, write: true });
        expect(can("backup", "airflow-logs")).toEqual({ list: false, write: false });
        // No user administers MinIO: that takes the root credentials, which only this Job holds.
        for (const u of ["mlflow", "airflow-logs", "backup"]) expect(as(u, ["admin", "user", "list", "u"]).status).not.toBe(0);
    });

    it("keeps the objects that are not yet expired", () => {
        fs.writeFileSync(path.join(tmp, "task.log"), "a task log");
        expect(mc(["cp", path.join(tmp, "task.log"), "m/airflow-logs/dag_id=ingest/task.log"]).status).toBe(0);
        runJob();
        expect(mc(["cat", "m/airflow-logs/dag_id=ingest/task.log"]).stdout).toBe("a task log");
    });
});
