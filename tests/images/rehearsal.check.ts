/**
 * Each Node Dockerfile rehearsed as plain processes (rehearse.ts says what stands in for what):
 * its stages built into directories, then the final stage's CMD started as the image's USER
 * with the image's ENV, listening on a free loopback port. The service must answer its health
 * endpoint and the probes below. That proves the final stage holds what the service needs at
 * run time: the production node_modules exactly as `npm ci --omit=dev` placed them and as the
 * Dockerfile copies them, the built dist/, the config files, and writable state where it writes.
 * A mutant of each Dockerfile without its node_modules must fail to start, so the rehearsal
 * can tell.
 *
 * Needs: IMAGES_NPM_CLI (npm-cli.js of the npm Node 20's images ship), IMAGES_NPM_CACHE,
 * optional IMAGES_PIDS (file the shell's trap reads to stop leftovers), IMAGES_KEEP=1 to keep
 * the stage directories and RUN logs for a look afterwards. Runs as root.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copies, finalStage, imagePin, parseDockerfile, type ParsedDockerfile } from "./dockerfile";
import { dockerignore, inStage, Rehearsal, rewriteAbsolutePaths, waitForAnswer, type StageResult } from "./rehearse";
import { freePort } from "../support/ports";

const ROOT = path.resolve(__dirname, "../..");


interface Probe {
    readonly path: string;
    readonly status: number;
    /** What the body must contain. */
    readonly body: RegExp;
}

interface ServiceUnderTest {
    readonly dockerfile: string;
    /** Env names of the listen address (only these, and `extraEnv`, override the image's ENV). */
    readonly hostVar: string;
    readonly portVar: string;
    /** The port the service listens on when the image's ENV does not say (its code's default). */
    readonly defaultPort: number;
    readonly extraEnv: (final: StageResult, deadPort: number) => Record<string, string>;
    readonly probes: readonly Probe[];
    /** Checks after the probes, on the rehearsed filesystem. */
    readonly after?: (final: StageResult) => void;
}

const SERVICES: readonly ServiceUnderTest[] = [
    {
        dockerfile: "services/model-api/Dockerfile",
        hostVar: "HOST",
        portVar: "PORT",
        defaultPort: 8989,
        // No model: MLflow on a port nothing listens on (services/model-api/README.md: /health 200,
        // /ready 503 until a model loads). onnxruntime-node's native binding loads at import all the same.
        extraEnv: (_final, deadPort) => ({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${deadPort}`, MODEL_RETRY_INITIAL_MS: "60000", MODEL_RETRY_MAX_MS: "60000" }),
        probes: [
            { path: "/health", status: 200, body: /"status"/ },
            { path: "/ready", status: 503, body: /"status":"not_ready".*MLflow unreachable/ },
            // @fastify/swagger-ui's own static files (served through its @fastify/static).
            { path: "/docs/static/index.html", status: 200, body: /swagger/i },
            { path: "/metrics", status: 200, body: /model_api_/ },
        ],
    },
    {
        dockerfile: "services/data-api/Dockerfile",
        hostVar: "DATA_API_HOST",
        portVar: "DATA_API_PORT",
        defaultPort: 8000,
        // The state file stays where the image's ENV puts it, under the stage root: the directory
        // the Dockerfile creates and hands to uid 1000 must be writable by the CMD's user.
        extraEnv: (final) => ({ DATA_API_STATE_FILE: inStage(final.root, final.env.DATA_API_STATE_FILE ?? "/nonexistent/state.json") }),
        probes: [
            { path: "/health", status: 200, body: /"status":"OK"/ },
            { path: "/data?group_number=1&day=Tuesday", status: 200, body: /"batch_number":1/ },
            { path: "/openapi.json", status: 200, body: /"openapi"/ },
        ],
        after: (final) => {
            const file = inStage(final.root, final.env.DATA_API_STATE_FILE ?? "/nonexistent/state.json");
            expect(fs.existsSync(file), `services/data-api/Dockerfile: the service wrote no state to ${final.env.DATA_API_STATE_FILE}`).toBe(true);
            expect(fs.statSync(file).uid, `services/data-api/Dockerfile: ${final.env.DATA_API_STATE_FILE} not written by the image's USER`).toBe(1000);
        },
    },
    {
        dockerfile: "services/ui/Dockerfile",
        hostVar: "UI_HOST",
        portVar: "UI_PORT",
        defaultPort: 8501,
        extraEnv: () => ({}),
        probes: [
            { path: "/health", status: 200, body: /"status":"OK"/ },
            // The Vite bundle, served by @fastify/static from dist/web.
            { path: "/", status: 200, body: /<script[^>]+type="module"/ },
        ],
    },
];

const npmCli = process.env.IMAGES_NPM_CLI;
const npmCache = process.env.IMAGES_NPM_CACHE;
let workDir: string;
let rehearsal: Rehearsal;

beforeAll(() => {
    if (!npmCli || !fs.existsSync(npmCli)) throw new Error("IMAGES_NPM_CLI must name npm-cli.js of the images' npm (scripts/test.d/70-images.sh provides it)");
    if (!npmCache) throw new Error("IMAGES_NPM_CACHE must name the npm cache directory");
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "images-rehearsal-"));
    // Node resolves modules by walking up from the file: nothing above the stage roots may hold
    // a node_modules or a config/, or a missing package could be found there instead of failing.
    for (let d = path.dirname(workDir); ; d = path.dirname(d)) {
        for (const leak of ["node_modules", "config"]) {
            expect(fs.existsSync(path.join(d, leak)), `${path.join(d, leak)} exists above the rehearsal's stage roots`).toBe(false);
        }
        if (d === path.dirname(d)) break;
    }
    rehearsal = new Rehearsal({
        contextDir: ROOT,
        workDir,
        npmCli,
        npmCache,
        pidFile: process.env.IMAGES_PIDS,
        log: (line) => console.log(`[images] ${line}`),
    });
});

afterAll(() => {
    if (workDir && !process.env.IMAGES_KEEP) fs.rmSync(workDir, { recursive: true, force: true });
});

/** The Dockerfile's text with the given final-stage COPY lines removed. */
function withoutCopies(df: ParsedDockerfile, drop: (src: string) => boolean): string {
    const lines = df.text.split("\n");
    const gone = new Set<number>();
    for (const c of copies(finalStage(df))) {
        if (!c.sources.some(drop)) continue;
        const r = c.ins.getRange();
        for (let l = r.start.line; l <= r.end.line; l++) gone.add(l);
    }
    if (gone.size === 0) throw new Error(`${df.label}: no final-stage COPY matched the mutant's filter`);
    return lines.filter((_l, i) => !gone.has(i)).join("\n");
}

async function startAndProbe(svc: ServiceUnderTest, final: StageResult): Promise<{ port: number; stop: () => Promise<void>; answers: Record<string, { status: number; body: string }> }> {
    const port = await freePort();
    const deadPort = await freePort();
    const proc = rehearsal.start(final, { [svc.hostVar]: "127.0.0.1", [svc.portVar]: String(port), ...svc.extraEnv(final, deadPort) });
    const answers: Record<string, { status: number; body: string }> = {};
    try {
        await waitForAnswer(`http://127.0.0.1:${port}/health`, proc);
        for (const probe of svc.probes) {
            const res = await fetch(`http://127.0.0.1:${port}${probe.path}`, { signal: AbortSignal.timeout(10_000) });
            answers[probe.path] = { status: res.status, body: await res.text() };
        }
    } catch (err) {
        await proc.stop();
        throw err;
    }
    return { port, stop: () => proc.stop(), answers };
}

describe("the build context", () => {
    it("is a clean checkout: nothing installed or built locally (node_modules, dist/) is in it", () => {
        const files = rehearsal.contextFiles();
        expect(files, "the repository's own files are missing from the context").toContain("package-lock.json");
        expect(files).toContain("services/ui/package.json");
        const local = files.filter((f) => /(^|\/)(node_modules|dist)\//.test(f));
        expect(local, "locally built or installed files would reach the image builds").toEqual([]);
    });
});

describe("the interpreter", () => {
    it("rewrites absolute paths in RUN words to the stage root, and nothing else", () => {
        expect(rewriteAbsolutePaths("mkdir -p /var/lib/data-api && chown 1000:1000 /var/lib/data-api", "/r")).toBe("mkdir -p /r/var/lib/data-api && chown 1000:1000 /r/var/lib/data-api");
        expect(rewriteAbsolutePaths("npm ci --omit=dev --prefix=/app -w services/x", "/r")).toBe("npm ci --omit=dev --prefix=/r/app -w services/x");
        expect(rewriteAbsolutePaths('chmod 0755 "/srv"', "/r")).toBe('chmod 0755 "/r/srv"');
    });
    it("reads a .dockerignore the way Docker does (dirs, globs, **, exceptions, last match wins)", () => {
        const ignored = dockerignore("# local state\nnode_modules\n**/dist\n/services/*/test\n*.md\n!README.md\nbench/\n");
        const cases: [string, boolean][] = [
            ["node_modules/fastify/package.json", true],
            ["services/ui/node_modules/x", false], // `node_modules` names the context root's only
            ["services/ui/dist/server.js", true],
            ["services/ui/test/e2e.ts", true],
            ["services/ui/src/test/x.ts", false],
            ["CHANGES.md", true],
            ["README.md", false],
            ["services/ui/README.md", false], // *.md is root-level only; README.md alone is re-included
            ["bench/run.sh", true],
            ["package-lock.json", false],
        ];
        for (const [rel, want] of cases) expect(ignored(rel), rel).toBe(want);
    });
    it.each([
        ["a RUN program it does not run on the host", "RUN apt-get install -y curl", /RUN uses 'apt-get'/],
        ["an instruction outside the subset", "HEALTHCHECK CMD node -e 1", /HEALTHCHECK is outside the subset/],
        ["a COPY of something a clean checkout lacks", "COPY services/ui/dist ./dist", /not in the build context/],
        ["a COPY --from of a path the stage lacks", "COPY --from=first /nope ./x", /not found in stage 'first'/],
    ])("fails on %s", async (_name, line, message) => {
        const df = parseDockerfile("interpreter-case", `FROM docker.io/library/node:20.20.2-bookworm-slim AS first\nWORKDIR /app\nFROM docker.io/library/node:20.20.2-bookworm-slim\nWORKDIR /app\n${line}\n`);
        await expect(rehearsal.build(df)).rejects.toThrow(message);
    });
});

describe.each(SERVICES)("$dockerfile", (svc) => {
    const df = parseDockerfile(svc.dockerfile, fs.readFileSync(path.join(ROOT, svc.dockerfile), "utf8"));
    let stages: StageResult[] | undefined;
    const final = (): StageResult => {
        expect(stages, `${svc.dockerfile}: the stages did not build (see the first test)`).toBeDefined();
        return stages![stages!.length - 1]!;
    };

    it("rehearses on a node of the pinned image's major version", () => {
        const { tag } = imagePin(finalStage(df).image);
        const major = /^(\d+)/.exec(tag ?? "")?.[1];
        expect(major, `${svc.dockerfile}: base image tag '${tag}' names no Node version`).toBeDefined();
        expect(process.versions.node.split(".")[0], `${svc.dockerfile}: the image runs Node ${tag}, this rehearsal node ${process.versions.node}`).toBe(major);
    });

    it("builds every stage (COPY, RUN npm ci / build / mkdir / chown) from a clean-checkout context", async () => {
        stages = await rehearsal.build(df);
        const f = final();
        expect(f.cmd, `${svc.dockerfile}: the final stage has no CMD`).not.toBeNull();
        const entry = inStage(f.root, path.posix.join(f.workdir, f.cmd![1]!));
        expect(fs.existsSync(entry), `${svc.dockerfile}: CMD runs ${f.cmd![1]} but the final stage has no ${path.posix.join(f.workdir, f.cmd![1]!)}`).toBe(true);
    }, 900_000);

    it("EXPOSEs the port its ENV makes it listen on", () => {
        const f = final();
        const listens = f.env[svc.portVar] ?? String(svc.defaultPort);
        expect(f.expose, `${svc.dockerfile}: EXPOSE ${f.expose.join(" ")} but ${svc.portVar}=${listens}`).toEqual([listens]);
    });

    it("starts its CMD as the image's USER and answers /health and its probes", async () => {
        const f = final();
        expect(f.user, `${svc.dockerfile}: no USER to run as`).toMatch(/^[1-9]\d*:[1-9]\d*$/);
        const run = await startAndProbe(svc, f);
        try {
            for (const probe of svc.probes) {
                const got = run.answers[probe.path]!;
                expect(got.status, `${svc.dockerfile}: GET ${probe.path} -> ${got.status}: ${got.body.slice(0, 300)}`).toBe(probe.status);
                expect(got.body, `${svc.dockerfile}: GET ${probe.path} body`).toMatch(probe.body);
            }
            svc.after?.(f);
        } finally {
            await run.stop();
        }
    });

    it("leaves the code read-only to the image's USER", () => {
        const f = final();
        const entryDir = path.posix.dirname(path.posix.join(f.workdir, f.cmd![1]!));
        for (const dir of [f.workdir, entryDir, path.posix.join(f.workdir, "node_modules")]) {
            const probe = rehearsal.runAs(f, f.user, [process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(path.join(inStage(f.root, dir), ".write-probe"))}, "x")`]);
            expect(probe.code, `${svc.dockerfile}: uid ${f.user} can write to ${dir}`).not.toBe(0);
            expect(probe.output, `${svc.dockerfile}: writing to ${dir} failed for another reason`).toMatch(/EACCES/);
        }
    });

    // Mutants: the Dockerfile without all its node_modules, and without each workspace-local
    // node_modules on its own (the ui's @fastify/static lives there). Each must fail to start,
    // or the rehearsal could not tell a missing runtime dependency.
    const mutants: { name: string; drop: (src: string) => boolean; local?: string }[] = [
        { name: "no node_modules", drop: (s) => /(^|\/)node_modules\/?$/.test(s) },
        ...copies(finalStage(df))
            .flatMap((c) => c.sources)
            .filter((s) => /\/services\/[^/]+\/node_modules\/?$/.test(s))
            .map((s) => ({ name: `no ${s}`, drop: (x: string) => x === s, local: s })),
    ];
    it.each(mutants)("does not start as a mutant with $name (the rehearsal can fail)", async ({ name, drop, local }) => {
        final();
        const mutant = parseDockerfile(`${svc.dockerfile} (mutant: ${name})`, withoutCopies(df, drop));
        const mutantStages = await rehearsal.build(mutant);
        // Only the final stage differs, so the build stages were reused, not rebuilt.
        expect(mutantStages.slice(0, -1).map((s) => s.key)).toEqual(stages!.slice(0, -1).map((s) => s.key));
        const last = mutantStages[mutantStages.length - 1]!;
        const port = await freePort();
        const proc = rehearsal.start(last, { [svc.hostVar]: "127.0.0.1", [svc.portVar]: String(port), ...svc.extraEnv(last, await freePort()) });
        try {
            const code = await Promise.race([proc.exited(), new Promise<"running">((r) => setTimeout(() => r("running"), 30_000))]);
            expect(code, `${svc.dockerfile} mutant with ${name} is still running:\n${proc.output().slice(-2000)}`).not.toBe("running");
            expect(code).not.toBe(0);
            expect(proc.output()).toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (package|module)/);
            if (local) {
                // It fails for want of a package that only the workspace-local node_modules holds.
                const deps = stages!.find((s) => copies(finalStage(df)).some((c) => c.sources.includes(local) && c.from?.toLowerCase() === s.stage.name))!;
                const dir = inStage(deps.root, local);
                const names = fs.readdirSync(dir).flatMap((n) => (n.startsWith("@") ? fs.readdirSync(path.join(dir, n)).map((m) => `${n}/${m}`) : n.startsWith(".") ? [] : [n]));
                const missing = /Cannot find (?:package|module) '([^']+)'/.exec(proc.output())?.[1];
                expect(names, `${svc.dockerfile} mutant with ${name} failed on '${missing}', not on a package of ${local}`).toContain(missing);
            }
        } finally {
            await proc.stop();
        }
    }, 300_000);
});
