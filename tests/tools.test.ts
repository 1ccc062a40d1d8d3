/**
 * The build recipes' cold path, checked without building. A warm cache skips every build
 * command, so a recipe can be broken for months and only a new machine finds out (a
 * two-module `go install` did exactly that). Here each recipe's commands run offline:
 * `go install -n` with GOPROXY=off and an empty module cache fails at the module lookup when
 * the command is well-formed, and earlier, with another message, when it is not.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const HELPER = path.join(ROOT, "tools/lib/go-install.sh");

/** Every tools/NAME/build.sh that builds through the shared helpers (go install, or go build in a wrapper module). */
const GO_RECIPES = fs
    .readdirSync(path.join(ROOT, "tools"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(ROOT, "tools", d.name, "build.sh")))
    .map((d) => `tools/${d.name}/build.sh`)
    .filter((f) => /\bgo_(install_cached|build_wrapped) /.test(fs.readFileSync(path.join(ROOT, f), "utf8")));

function runCheck(args: string[], script?: string) {
    const cmd = script
        ? ["bash", [path.join(ROOT, script)]]
        : ["bash", ["-c", `. "${HELPER}"; go_install_cached check "$0" "$@"`, path.join(ROOT, ".never-built"), ...args]];
    const r = spawnSync(cmd[0] as string, cmd[1] as string[], {
        env: { ...process.env, MLOPS_GO_INSTALL_CHECK: "1", MLOPS_CACHE_DIR: path.join(ROOT, ".never-built") },
        encoding: "utf8",
    });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("go install recipes (offline check of the cold path)", () => {
    it("finds the recipes that use the helper", () => {
        expect(GO_RECIPES).toEqual(expect.arrayContaining(["tools/minio/build.sh", "tools/prometheus/build.sh", "tools/statsd-exporter/build.sh"]));
    });

    it.each(GO_RECIPES)("%s: every go install command is well-formed and pinned", (script) => {
        const r = runCheck([], script);
        expect(r.status, r.stderr).toBe(0);
        const oks = r.stderr.split("\n").filter((l) => /: ok: go (install|get) /.test(l));
        expect(oks.length, r.stderr).toBeGreaterThan(0);
        // The check never builds: nothing may be printed on stdout (that is the bin dir).
        expect(r.stdout).toBe("");
        expect(fs.existsSync(path.join(ROOT, ".never-built"))).toBe(false);
    });

    it("names each module of the MinIO recipe in its own command", () => {
        const r = runCheck([], "tools/minio/build.sh");
        expect(r.stderr).toMatch(/ok: go install github\.com\/minio\/minio@v0\.0\.0-\d{14}-[0-9a-f]{12}\n/);
        expect(r.stderr).toMatch(/ok: go install github\.com\/minio\/mc@v0\.0\.0-\d{14}-[0-9a-f]{12}\n/);
    });

    it("builds Prometheus through a wrapper module (its go.mod has a replace line), both commands at the module version of the release", () => {
        const r = runCheck([], "tools/prometheus/build.sh");
        expect(r.stderr).toContain("ok: go get github.com/prometheus/prometheus/cmd/prometheus@v0.305.0 (wrapper module)\n");
        expect(r.stderr).toContain("ok: go get github.com/prometheus/prometheus/cmd/promtool@v0.305.0 (wrapper module)\n");
    });

    it.each([
        ["a floating version", "github.com/minio/minio@latest", /not MODULE@vX\.Y\.Z/],
        ["no version", "github.com/minio/minio", /not MODULE@vX\.Y\.Z/],
        ["a path go refuses (caught by go itself)", "github.com/minio/minio/..@v1.0.0", /malformed: .*clean package path/],
    ])("rejects %s", (_what, arg, message) => {
        const r = runCheck([arg]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(message);
    });
});

describe("toolchain pins (tools/versions.env)", () => {
    const env = fs.readFileSync(path.join(ROOT, "tools/versions.env"), "utf8");
    const pins = [...env.matchAll(/^([A-Z0-9_]+_VERSION)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);

    it("has the pins build-toolchain.sh reads", () => {
        expect(pins.map(([k]) => k).sort()).toEqual(
            [
                "ETCD_VERSION",
                "KUBERNETES_VERSION",
                "KWOK_VERSION",
                "PULUMI_K8S_MODULE_VERSION",
                "PULUMI_K8S_PLUGIN_VERSION",
                "PULUMI_K8S_SDK_VERSION",
                "PULUMI_LANGUAGE_NODEJS_SDK_VERSION",
                "PULUMI_VERSION",
            ].sort(),
        );
    });

    it.each(pins)("%s=%s is an exact version", (key, value) => {
        const re = key === "PULUMI_K8S_PLUGIN_VERSION" ? /^\d+\.\d+\.\d+$/ : /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
        expect(value).toMatch(re);
    });
});

describe("shell scripts parse (bash -n)", () => {
    const walk = (dir: string): string[] =>
        fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) =>
            d.isDirectory() ? walk(`${dir}/${d.name}`) : d.name.endsWith(".sh") ? [`${dir}/${d.name}`] : [],
        );
    const scripts = [".ci/run", ...["scripts", "tools", "bench"].flatMap(walk)];

    it.each(scripts)("%s", (script) => {
        const r = spawnSync("bash", ["-n", path.join(ROOT, script)], { encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
    });
});
