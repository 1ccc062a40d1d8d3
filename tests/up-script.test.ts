/**
 * `npm run up` (scripts/up.sh) on a minikube whose node does not run Docker: minikube 1.39+
 * defaults to containerd, where images built into `minikube docker-env` never reach the node.
 * No minikube can run here, so `pulumi` and `kubectl` are small stand-ins on PATH that answer
 * what the real ones would and record how they were called.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function runUp(opts: { context: string; runtime: string; build: string; dockerHost?: string }) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "up-script-"));
    dirs.push(bin);
    const calls = path.join(bin, "calls.log");
    fs.writeFileSync(
        path.join(bin, "pulumi"),
        `#!/bin/sh\necho "pulumi $*" >> "${calls}"\ncase "$1 $2" in "config get") echo "${opts.build}" ;; esac\nexit 0\n`,
        { mode: 0o755 },
    );
    fs.writeFileSync(
        path.join(bin, "kubectl"),
        `#!/bin/sh\ncase "$*" in "config current-context") echo "${opts.context}" ;; "get nodes"*) printf '%s' "${opts.runtime}" ;; esac\n`,
        { mode: 0o755 },
    );
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PATH: `${bin}:${process.env.PATH}`, PULUMI_CONFIG_PASSPHRASE: "" };
    delete env.DOCKER_HOST;
    if (opts.dockerHost) env.DOCKER_HOST = opts.dockerHost;
    const r = spawnSync("bash", [path.join(ROOT, "scripts/up.sh"), "--yes"], { cwd: ROOT, env, encoding: "utf8" });
    return { ...r, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "" };
}

describe("npm run up on minikube", () => {
    it("refuses before `pulumi up` when the node runs containerd and the stack builds images, saying what to run", () => {
        const r = runUp({ context: "minikube", runtime: "containerd://1.7.27", build: "true" });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("minikube's node runs containerd, not Docker");
        expect(r.stderr).toContain("minikube start --container-runtime=docker");
        expect(r.stderr).toContain("pulumi config set --path images.build false --stack dev");
        expect(r.calls).not.toContain("pulumi up");
    });

    it("goes on to `pulumi up` on a Docker node", () => {
        const r = runUp({ context: "minikube", runtime: "docker://28.1.1", build: "true", dockerHost: "tcp://192.168.49.2:2376" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.calls).toContain("pulumi up --stack dev --yes");
        expect(r.stderr).not.toContain("DOCKER_HOST is unset");
    });

    it("reminds of minikube docker-env when DOCKER_HOST is unset", () => {
        const r = runUp({ context: "minikube", runtime: "docker://28.1.1", build: "true" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toContain("eval $(minikube docker-env)");
    });

    it("does not judge the runtime when the stack builds no images, or the cluster is not minikube", () => {
        for (const opts of [
            { context: "minikube", runtime: "containerd://1.7.27", build: "false" },
            { context: "k3s-default", runtime: "containerd://1.7.27", build: "true" },
        ]) {
            const r = runUp(opts);
            expect(r.status, r.stderr).toBe(0);
            expect(r.calls).toContain("pulumi up --stack dev --yes");
        }
    });
});
