import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "../program";

/** Path of a cached venv built by tools/python/venv.sh (builds it on first use). */
export function venv(name: string): string {
    return execFileSync("bash", [path.join(ROOT, "tools/python/venv.sh"), name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

/** Directory holding the `minio` and `mc` binaries built by tools/minio/build.sh. */
export function minioBinDir(): string {
    return execFileSync("bash", [path.join(ROOT, "tools/minio/build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

export interface Started {
    readonly child: ChildProcess;
    /** Everything the process printed, for failure messages. */
    output(): string;
    stop(): Promise<void>;
}

/** Starts a long-running process in its own process group; stop() ends the group. */
export function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): Started {
    const child = spawn(cmd, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out = (out + d).slice(-20_000)));
    child.stderr!.on("data", (d) => (out = (out + d).slice(-20_000)));
    return {
        child,
        output: () => out,
        stop: () =>
            new Promise((resolve) => {
                if (child.exitCode !== null || child.signalCode !== null) return resolve();
                child.once("exit", () => resolve());
                try {
                    process.kill(-child.pid!, "SIGTERM");
                } catch {
                    resolve();
                }
                setTimeout(() => {
                    try {
                        process.kill(-child.pid!, "SIGKILL");
                    } catch {
                        /* already gone */
                    }
                }, 10_000).unref();
            }),
    };
}

/** Polls `url` until it answers `expectStatus` (or the deadline passes, then throws with the process output). */
export async function waitForHttp(url: string, proc: Started, timeoutMs = 120_000, init?: RequestInit, expectStatus = 200): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        if (proc.child.exitCode !== null) {
            throw new Error(`process exited with ${proc.child.exitCode} before ${url} answered:\n${proc.output()}`);
        }
        try {
            const res = await fetch(url, init);
            if (res.status === expectStatus) return res;
            last = `HTTP ${res.status}`;
        } catch (err) {
            last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${url} did not answer ${expectStatus} within ${timeoutMs} ms (last: ${last}):\n${proc.output()}`);
}

/**
 * Resolves a container's env list the way the kubelet does: secretKeyRefs from `secrets`
 * (by "name/key"), then $(VAR) references to variables defined earlier.
 */
export function resolveEnv(env: any[], secrets: Record<string, string>, rewrite: (v: string) => string = (v) => v): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of env) {
        if (e.valueFrom?.secretKeyRef) {
            const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
            if (!(ref in secrets)) throw new Error(`test has no value for Secret key ${ref}`);
            out[e.name] = secrets[ref]!;
        } else {
            out[e.name] = rewrite(String(e.value ?? "")).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => out[name] ?? m);
        }
    }
    return out;
}
