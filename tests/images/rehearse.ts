/**
 * A rehearsal of a Node Dockerfile without a Docker engine: each stage's filesystem is a
 * directory, the instructions our Dockerfiles use are carried out on it, and the final stage's
 * CMD is started from it as the image's USER. What it proves is what the image will hold and
 * whether that runs: the node_modules an `npm ci --omit=dev` leaves, copied the way the
 * Dockerfile copies them, next to the dist/ the build stage produced.
 *
 * What stands in for the image:
 *   - the base image's filesystem: nothing; node is the host's (its major version is checked
 *     against the pinned image by the caller) and `npm` is NPM_CLI, the npm that Node 20's
 *     images ship, so install scripts and placement follow that npm, not the host's;
 *   - the build context: the repository as a clean checkout has it (tracked files plus new,
 *     not ignored ones, less a .dockerignore's exclusions), so nothing a developer built or
 *     installed locally leaks in;
 *   - absolute paths: WORKDIR, COPY destinations and `COPY --from` sources map under the
 *     stage's root; in RUN lines every word that starts with `/` is rewritten the same way
 *     (our RUN lines are npm, mkdir, chown and chmod; anything else is refused, not guessed);
 *   - RUN runs as root (the image's build user) through `sh -c`, with the stage's ENV and ARGs,
 *     PATH, HOME under the stage root and the shared npm cache (so no network for cached tarballs);
 *   - the CMD runs under `setpriv` as the USER's uid:gid with the stage's ENV; the caller only
 *     overrides where to listen and where state goes.
 * Instructions outside that subset fail the rehearsal with the line that has them.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Cmd, Env, Run, Volume, type Instruction } from "dockerfile-ast";
import { copies, execForm, lineOf, normalisePosix, resolveInImage, stageByRef, type CopySpec, type ParsedDockerfile, type Stage } from "./dockerfile";

export interface RehearsalSetup {
    /** The build context: the repository root. */
    readonly contextDir: string;
    /** A fresh directory for the stage roots and logs. */
    readonly workDir: string;
    /** npm-cli.js of the npm to run in RUN lines. */
    readonly npmCli: string;
    /** npm cache directory shared with the host's installs. */
    readonly npmCache: string;
    /** File to append started pids to (the shell's trap stops them if the test process dies). */
    readonly pidFile?: string;
    readonly log?: (line: string) => void;
}

export interface StageResult {
    readonly stage: Stage;
    readonly key: string;
    /** The directory that stands for this stage's `/`. */
    readonly root: string;
    /** ENV as set by the stage (what a container of it starts with). */
    readonly env: Readonly<Record<string, string>>;
    readonly workdir: string;
    readonly user: string | null;
    readonly cmd: readonly string[] | null;
    readonly expose: readonly string[];
    readonly volumes: readonly string[];
    /** Seconds the stage took (0 when reused from an identical stage of this rehearsal). */
    readonly seconds: number;
}

const SUPPORTED_RUN_PROGRAMS = new Set(["npm", "mkdir", "chown", "chmod"]);
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Host path of an image path inside a stage root. */
export function inStage(root: string, imagePath: string): string {
    return path.join(root, normalisePosix(imagePath));
}

/** Rewrites words that are absolute paths (`/x`, `--opt=/x`, `"/x"`) to the stage root. */
export function rewriteAbsolutePaths(command: string, root: string): string {
    return command.replace(/(^|[\s=])(['"]?)\/(?=[^\s/])/g, (_m, lead: string, quote: string) => `${lead}${quote}${root}/`);
}

/**
 * A .dockerignore as a predicate over context-relative paths, after Docker's rules: `#`
 * comments, patterns relative to the context root, `*` and `?` within one path segment, `**`
 * across segments, `!` re-includes, the last matching line wins, and a pattern that matches a
 * directory excludes what is under it.
 */
export function dockerignore(text: string): (rel: string) => boolean {
    const rules = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => {
            const negate = l.startsWith("!");
            const pattern = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, "").replace(/\/+$/, "");
            return { negate, re: globToRegExp(pattern) };
        });
    return (rel) => {
        const candidates: string[] = [];
        for (let p = rel; p && p !== "."; p = path.posix.dirname(p)) candidates.push(p);
        let excluded = false;
        for (const rule of rules) if (candidates.some((c) => rule.re.test(c))) excluded = !rule.negate;
        return excluded;
    };
}

function globToRegExp(glob: string): RegExp {
    let re = "";
    for (let i = 0; i < glob.length; i++) {
        const c = glob[i]!;
        if (c === "*" && glob[i + 1] === "*") {
            i++;
            if (glob[i + 1] === "/") {
                i++;
                re += "(?:.*/)?";
            } else re += ".*";
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else if (c === "[") {
            const end = glob.indexOf("]", i);
            if (end < 0) re += "\\[";
            else {
                re += `[${glob.slice(i + 1, end).replace(/^!/, "^")}]`;
                i = end;
            }
        } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
}

export class Rehearsal {
    private readonly stages = new Map<string, StageResult>();
    private contextFileSet: Set<string> | undefined;
    private contextDirSet: Set<string> | undefined;
    private readonly binDir: string;
    private counter = 0;

    constructor(private readonly setup: RehearsalSetup) {
        if (process.getuid?.() !== 0) throw new Error("the rehearsal runs RUN lines as the image's root (chown) and the CMD as its USER: run it as root");
        fs.chmodSync(setup.workDir, 0o755); // mkdtemp makes it 0700; the image's USER must reach the stage roots
        this.binDir = path.join(setup.workDir, "bin");
        fs.mkdirSync(this.binDir, { recursive: true });
        fs.writeFileSync(path.join(this.binDir, "npm"), `#!/bin/sh\nexec "${process.execPath}" "${setup.npmCli}" "$@"\n`, { mode: 0o755 });
    }

    private log(line: string): void {
        this.setup.log?.(line);
    }

    /**
     * Tracked files plus untracked, not git-ignored ones: what a clean checkout (CI's build)
     * sends, less what a .dockerignore at the context root excludes.
     */
    private contextView(): { files: Set<string>; dirs: Set<string> } {
        if (!this.contextFileSet || !this.contextDirSet) {
            const out = spawnSync("git", ["-C", this.setup.contextDir, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" });
            if (out.status !== 0) throw new Error(`git ls-files failed: ${out.stderr}`);
            const ignoreFile = path.join(this.setup.contextDir, ".dockerignore");
            const ignored = fs.existsSync(ignoreFile) ? dockerignore(fs.readFileSync(ignoreFile, "utf8")) : () => false;
            const files = new Set(out.stdout.split("\0").filter((f) => f && !ignored(f) && fs.existsSync(path.join(this.setup.contextDir, f))));
            const dirs = new Set<string>([""]);
            for (const f of files) for (let d = path.posix.dirname(f); d !== "."; d = path.posix.dirname(d)) dirs.add(d);
            this.contextFileSet = files;
            this.contextDirSet = dirs;
        }
        return { files: this.contextFileSet, dirs: this.contextDirSet };
    }

    /** The build context's files, relative to the repository root. */
    contextFiles(): string[] {
        return [...this.contextView().files];
    }

    /** Rehearses every stage in order; stages identical to one already rehearsed here are reused. */
    async build(df: ParsedDockerfile, opts: { buildArgs?: Record<string, string> } = {}): Promise<StageResult[]> {
        const results: StageResult[] = [];
        for (const stage of df.stages) results.push(await this.buildStage(df, stage, results, opts.buildArgs ?? {}));
        return results;
    }

    private stageKey(df: ParsedDockerfile, stage: Stage, done: StageResult[], buildArgs: Record<string, string>): string {
        const deps = copies(stage)
            .filter((c) => c.from !== null)
            .map((c) => done[stageByRef(df, c.from!, stage.index)?.index ?? -1]?.key ?? `missing:${c.from}`);
        const base = stageByRef(df, stage.image, stage.index);
        return createHash("sha256")
            .update(JSON.stringify([stage.image, base ? done[base.index]?.key : null, stage.instructions.map((i) => i.toString()), deps, buildArgs]))
            .digest("hex")
            .slice(0, 16);
    }

    private async buildStage(df: ParsedDockerfile, stage: Stage, done: StageResult[], buildArgs: Record<string, string>): Promise<StageResult> {
        const key = this.stageKey(df, stage, done, buildArgs);
        const reused = this.stages.get(key);
        const label = `${df.label} stage ${stage.name ?? stage.index}`;
        if (reused) {
            this.log(`${label}: identical to a stage already rehearsed, reused`);
            return { ...reused, stage, seconds: 0 };
        }
        const t0 = Date.now();
        const root = path.join(this.setup.workDir, `stage-${++this.counter}-${stage.name ?? "final"}`);
        let env: Record<string, string> = {};
        const args: Record<string, string> = {};
        let workdir = "/";
        let user: string | null = null;
        const parent = stageByRef(df, stage.image, stage.index);
        if (parent) {
            const p = done[parent.index]!;
            fs.cpSync(p.root, root, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
            env = { ...p.env };
            workdir = p.workdir;
            user = p.user;
        } else {
            fs.mkdirSync(root, { recursive: true });
        }
        let cmd: string[] | null = null;
        const expose: string[] = [];
        const volumes: string[] = [];
        const copySpecs = new Map(copies(stage).map((c) => [c.ins as Instruction, c]));

        for (const ins of stage.instructions) {
            const where = `${df.label}:${lineOf(ins)}`;
            const kw = ins.getKeyword();
            const words = ins.getExpandedArguments().map((a) => a.getValue());
            if (words.some((w) => w.includes("$")) && kw !== "RUN") throw new Error(`${where}: '${ins.toString()}' uses a variable this rehearsal does not expand`);
            switch (kw) {
                case "ARG": {
                    const [name, ...rest] = (words[0] ?? "").split("=");
                    const value = buildArgs[name!] ?? (rest.length ? rest.join("=") : undefined);
                    if (value !== undefined) args[name!] = value;
                    break;
                }
                case "ENV":
                    for (const p of (ins as Env).getProperties()) env[p.getName()] = p.getUnescapedValue() ?? "";
                    break;
                case "WORKDIR":
                    workdir = resolveInImage(workdir, words[0] ?? "/");
                    fs.mkdirSync(inStage(root, workdir), { recursive: true });
                    break;
                case "COPY":
                    this.copy(df, stage, copySpecs.get(ins)!, root, workdir, done);
                    break;
                case "RUN":
                    await this.run(where, ins, root, workdir, user, { ...args, ...env });
                    break;
                case "USER":
                    user = words[0] ?? null;
                    break;
                case "EXPOSE":
                    expose.push(...words);
                    break;
                case "VOLUME": {
                    const paths = (ins instanceof Volume ? execForm(ins) : null) ?? words;
                    for (const v of paths) {
                        volumes.push(v);
                        fs.mkdirSync(inStage(root, v), { recursive: true });
                    }
                    break;
                }
                case "CMD":
                    cmd = execForm(ins as Cmd) ?? ["/bin/sh", "-c", ins.getArgumentsContent() ?? ""];
                    break;
                default:
                    throw new Error(`${where}: ${kw} is outside the subset this rehearsal interprets (ARG, ENV, WORKDIR, COPY, RUN, USER, EXPOSE, VOLUME, CMD)`);
            }
        }
        const result: StageResult = { stage, key, root, env, workdir, user, cmd, expose, volumes, seconds: (Date.now() - t0) / 1000 };
        this.stages.set(key, result);
        this.log(`${label}: rehearsed in ${result.seconds.toFixed(1)} s`);
        return result;
    }

    private copy(df: ParsedDockerfile, stage: Stage, spec: CopySpec, root: string, workdir: string, done: StageResult[]): void {
        const where = `${df.label}:${lineOf(spec.ins)}`;
        let fromRoot: string | null = null;
        if (spec.from !== null) {
            const src = stageByRef(df, spec.from, stage.index);
            if (!src) throw new Error(`${where}: COPY --from=${spec.from} names no earlier stage`);
            fromRoot = done[src.index]!.root;
        }
        const destImage = resolveInImage(workdir, spec.dest);
        const dest = inStage(root, destImage);
        const destIsDir = spec.dest.endsWith("/") || spec.sources.length > 1 || (fs.existsSync(dest) && fs.statSync(dest).isDirectory());
        const view = fromRoot === null ? this.contextView() : null;
        const owner = spec.chown === null ? null : parseOwner(where, spec.chown);
        for (const source of spec.sources) {
            if (/[*?[]/.test(source)) throw new Error(`${where}: wildcard source '${source}' is outside what this rehearsal interprets`);
            let src: string;
            if (fromRoot !== null) {
                src = inStage(fromRoot, source.startsWith("/") ? source : `/${source}`);
            } else {
                const rel = path.posix.normalize(source).replace(/^\.?\/+/, "").replace(/\/+$/, "");
                if (rel.startsWith("..")) throw new Error(`${where}: '${source}' is outside the build context`);
                if (rel !== "" && !view!.files.has(rel) && !view!.dirs.has(rel)) {
                    throw new Error(`${where}: COPY failed: '${source}' is not in the build context (a clean checkout of the repository)`);
                }
                src = path.join(this.setup.contextDir, rel);
            }
            if (!fs.existsSync(src) && !isSymlink(src)) {
                throw new Error(`${where}: COPY failed: '${source}' not found in ${fromRoot === null ? "the build context" : `stage '${spec.from}'`}`);
            }
            const isDir = fs.statSync(src).isDirectory();
            // Docker copies a directory's contents into the destination, a file into it (dir) or as it.
            const target = isDir ? dest : destIsDir ? path.join(dest, path.basename(src)) : dest;
            fs.mkdirSync(isDir ? target : path.dirname(target), { recursive: true });
            fs.cpSync(src, target, {
                recursive: true,
                verbatimSymlinks: true,
                preserveTimestamps: true,
                filter: view ? (from: string) => inContext(view, path.relative(this.setup.contextDir, from)) : undefined,
            });
            if (owner) chownTree(target, owner.uid, owner.gid);
        }
    }

    private async run(where: string, ins: Instruction, root: string, workdir: string, user: string | null, env: Record<string, string>): Promise<void> {
        if (ins instanceof Run && execForm(ins)) throw new Error(`${where}: exec-form RUN is outside what this rehearsal interprets`);
        const command = (ins.getArgumentsContent() ?? "").replace(/\\\n/g, " ").trim();
        for (const part of command.split(/&&|\|\||;|\|/)) {
            const program = part.trim().split(/\s+/)[0] ?? "";
            if (!SUPPORTED_RUN_PROGRAMS.has(program)) {
                throw new Error(`${where}: RUN uses '${program}', which this rehearsal does not run on the host (it runs ${[...SUPPORTED_RUN_PROGRAMS].join(", ")})`);
            }
        }
        const rewritten = rewriteAbsolutePaths(command, root);
        const cwd = inStage(root, workdir);
        fs.mkdirSync(cwd, { recursive: true });
        const home = inStage(root, "/root");
        fs.mkdirSync(home, { recursive: true });
        const fullEnv: Record<string, string> = {
            ...env,
            PATH: `${this.binDir}:${path.dirname(process.execPath)}:${BASE_PATH}`,
            HOME: home,
            npm_config_cache: this.setup.npmCache,
            npm_config_prefer_offline: "true",
            npm_config_update_notifier: "false",
        };
        const logFile = path.join(this.setup.workDir, `run-${++this.counter}.log`);
        this.log(`${where}: RUN ${command}`);
        const t0 = Date.now();
        const argv = asUser(user, ["sh", "-c", rewritten]);
        const res = await runToEnd(argv, { cwd, env: fullEnv, logFile, timeoutMs: 600_000 });
        this.log(`${where}: exit ${res.code} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        if (res.code !== 0) throw new Error(`${where}: RUN '${command}' failed (exit ${res.code}):\n${res.output.slice(-4000)}`);
    }

    /**
     * Starts the stage's CMD as its USER from its WORKDIR with its ENV plus `overrides`.
     * The image's `node` is the host's node binary.
     */
    start(result: StageResult, overrides: Record<string, string>): Started {
        if (!result.cmd) throw new Error(`stage ${result.stage.name ?? result.stage.index}: no CMD`);
        const [program, ...rest] = result.cmd;
        if (program !== "node") throw new Error(`CMD starts '${program}'; the rehearsal only stands in for node`);
        const home = inStage(result.root, "/home/node");
        fs.mkdirSync(home, { recursive: true });
        const env = { ...result.env, PATH: `${path.dirname(process.execPath)}:${BASE_PATH}`, HOME: home, ...overrides };
        const argv = asUser(result.user, [process.execPath, ...rest]);
        const child = spawn(argv[0]!, argv.slice(1), { cwd: inStage(result.root, result.workdir), env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        if (this.setup.pidFile && child.pid) fs.appendFileSync(this.setup.pidFile, `${child.pid}\n`);
        return started(child);
    }

    /** Runs a one-off command inside a stage as `user` (e.g. a write probe as the image's USER). */
    runAs(result: StageResult, user: string | null, argv: string[]): { code: number | null; output: string } {
        const full = asUser(user, argv);
        const res = spawnSync(full[0]!, full.slice(1), { cwd: inStage(result.root, result.workdir), encoding: "utf8", env: { PATH: `${path.dirname(process.execPath)}:${BASE_PATH}` } });
        return { code: res.status, output: `${res.stdout}${res.stderr}` };
    }
}

function isSymlink(p: string): boolean {
    try {
        return fs.lstatSync(p).isSymbolicLink();
    } catch {
        return false;
    }
}

function inContext(view: { files: Set<string>; dirs: Set<string> }, rel: string): boolean {
    const r = rel.split(path.sep).join("/");
    return r === "" || view.files.has(r) || view.dirs.has(r);
}

/** `--chown` values: numeric uid[:gid], or root (the only name these images' Dockerfiles use). */
function parseOwner(where: string, value: string): { uid: number; gid: number } {
    const names: Record<string, number> = { root: 0, node: 1000 }; // the node image's /etc/passwd and /etc/group
    const [u, g] = value.split(":");
    const id = (s: string | undefined): number => {
        if (s === undefined || s === "") return NaN;
        if (/^\d+$/.test(s)) return Number(s);
        if (s in names) return names[s]!;
        throw new Error(`${where}: --chown=${value} names '${s}', which this rehearsal cannot resolve`);
    };
    const uid = id(u);
    return { uid, gid: g === undefined ? uid : id(g) };
}

function chownTree(p: string, uid: number, gid: number): void {
    fs.lchownSync(p, uid, gid);
    if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid, gid);
}

/** The image's USER as `setpriv` arguments (we run as root; null or root means as we are). */
function asUser(user: string | null, argv: string[]): string[] {
    if (user === null || user === "root" || user === "0" || user === "0:0") return argv;
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) throw new Error(`USER '${user}' is not numeric; the rehearsal cannot map a user name`);
    return ["setpriv", `--reuid=${m[1]}`, `--regid=${m[2] ?? m[1]}`, "--clear-groups", "--", ...argv];
}

function runToEnd(argv: string[], opts: { cwd: string; env: Record<string, string>; logFile: string; timeoutMs: number }): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        const log = fs.createWriteStream(opts.logFile);
        const take = (d: Buffer) => {
            log.write(d);
            output = (output + d.toString()).slice(-50_000);
        };
        child.stdout.on("data", take);
        child.stderr.on("data", take);
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
        child.on("error", reject);
        child.on("close", (code) => {
            clearTimeout(timer);
            log.end();
            resolve({ code, output });
        });
    });
}

export interface Started {
    readonly child: ChildProcess;
    output(): string;
    /** Resolves with the exit code once the process ended. */
    exited(): Promise<number | null>;
    stop(): Promise<void>;
}

function started(child: ChildProcess): Started {
    let out = "";
    child.stdout!.on("data", (d) => (out = (out + d).slice(-20_000)));
    child.stderr!.on("data", (d) => (out = (out + d).slice(-20_000)));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return {
        child,
        output: () => out,
        exited: () => exit,
        stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            try {
                process.kill(-child.pid!, "SIGTERM");
            } catch {
                return;
            }
            const t = setTimeout(() => {
                try {
                    process.kill(-child.pid!, "SIGKILL");
                } catch {
                    /* gone */
                }
            }, 10_000);
            await exit;
            clearTimeout(t);
        },
    };
}

/** Polls `url` until it answers, failing early with the process's output if it exits first. */
export async function waitForAnswer(url: string, proc: Started, timeoutMs = 30_000): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
            throw new Error(`exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${url} answered:\n${proc.output().slice(-3000)}`);
        }
        try {
            return await fetch(url, { signal: AbortSignal.timeout(2000) });
        } catch (err) {
            last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${url} did not answer within ${timeoutMs} ms (last: ${last}):\n${proc.output().slice(-3000)}`);
}
