/**
 * The Node services' Dockerfiles as data (parsed by dockerfile-ast, the parser behind the
 * Docker language server) and the static contract every one of them must keep. Each check
 * returns the problems it finds, in words that name the Dockerfile, so the same functions are
 * run on the real Dockerfiles and, in contract.check.ts, on small broken ones that must fail.
 */
import { Cmd, Copy, DockerfileParser, Env, From, Instruction, JSONInstruction, type Dockerfile } from "dockerfile-ast";
import { validate } from "dockerfile-utils";

export interface Stage {
    /** 0-based position among the FROMs. */
    readonly index: number;
    /** The `AS` name, lower-cased as Docker compares it; null for an unnamed stage. */
    readonly name: string | null;
    readonly from: From;
    /** The base image with ARG defaults substituted (dockerfile-ast resolves them). */
    readonly image: string;
    /** The instructions after this FROM, up to the next one. */
    readonly instructions: readonly Instruction[];
}

export interface ParsedDockerfile {
    /** How problems name the file, e.g. services/ui/Dockerfile. */
    readonly label: string;
    readonly text: string;
    readonly ast: Dockerfile;
    readonly stages: readonly Stage[];
}

export function parseDockerfile(label: string, text: string): ParsedDockerfile {
    const ast = DockerfileParser.parse(text);
    const stages: Stage[] = [];
    let current: { from: From; instructions: Instruction[] } | undefined;
    const close = () => {
        if (!current) return;
        const expanded = current.from.getExpandedArguments()[0]?.getValue() ?? "";
        stages.push({
            index: stages.length,
            name: current.from.getBuildStage()?.toLowerCase() ?? null,
            from: current.from,
            image: expanded,
            instructions: current.instructions,
        });
    };
    for (const ins of ast.getInstructions()) {
        if (ins instanceof From) {
            close();
            current = { from: ins, instructions: [] };
        } else if (current) {
            current.instructions.push(ins);
        }
    }
    close();
    return { label, text, ast, stages };
}

/** 1-based line of an instruction, for messages. */
export function lineOf(ins: Instruction): number {
    return ins.getRange().start.line + 1;
}

export function finalStage(df: ParsedDockerfile): Stage {
    const last = df.stages[df.stages.length - 1];
    if (!last) throw new Error(`${df.label}: no FROM, so no stage at all`);
    return last;
}

export function stageByRef(df: ParsedDockerfile, ref: string, before: number): Stage | undefined {
    const lower = ref.toLowerCase();
    if (/^\d+$/.test(lower)) return Number(lower) < before ? df.stages[Number(lower)] : undefined;
    return df.stages.slice(0, before).find((s) => s.name === lower);
}

/** The exec-form argument list of a CMD/ENTRYPOINT/RUN, or null for shell form. */
export function execForm(ins: JSONInstruction): string[] | null {
    const json = ins.getJSONStrings();
    return ins.getOpeningBracket() && json.length > 0 ? json.map((a) => a.getJSONValue()) : null;
}

/** RUN instructions' shell text (continuation lines joined by dockerfile-ast). */
export function runCommands(stage: Stage): { ins: Instruction; command: string }[] {
    return stage.instructions
        .filter((i) => i.getKeyword() === "RUN")
        .map((ins) => ({ ins, command: (ins.getArgumentsContent() ?? "").replace(/\s+/g, " ").trim() }));
}

/** Each `npm ci` / `npm install` / `npm i` in a shell command, as its own argument list. */
export function npmInstalls(command: string): string[][] {
    return command
        .split(/&&|\|\||;|\|/)
        .map((part) => part.trim().split(/\s+/))
        .filter((words) => words[0] === "npm" && ["ci", "install", "i", "clean-install"].includes(words[1] ?? ""));
}

const omitsDev = (words: string[]) => words.some((w) => w === "--omit=dev" || w === "--production" || w === "--only=production");

/** The `-w`/`--workspace` values of one npm command line. */
export function workspacesOf(words: string[]): string[] {
    const out: string[] = [];
    words.forEach((w, i) => {
        if ((w === "-w" || w === "--workspace") && words[i + 1]) out.push(words[i + 1]!);
        const m = /^--workspace=(.+)$/.exec(w);
        if (m) out.push(m[1]!);
    });
    return out.map((w) => w.replace(/\/+$/, ""));
}

export interface CopySpec {
    readonly ins: Copy;
    readonly from: string | null;
    readonly chown: string | null;
    readonly sources: string[];
    readonly dest: string;
}

export function copies(stage: Stage): CopySpec[] {
    return stage.instructions
        .filter((i): i is Copy => i instanceof Copy)
        .map((ins) => {
            const flag = (name: string) => ins.getFlags().find((f) => f.getName() === name)?.getValue() ?? null;
            const json = ins.getJSONStrings();
            const args = json.length > 0 ? json.map((a) => a.getJSONValue()) : ins.getExpandedArguments().map((a) => a.getValue());
            return { ins, from: flag("from"), chown: flag("chown"), sources: args.slice(0, -1), dest: args[args.length - 1] ?? "" };
        });
}

/** WORKDIR in force at each instruction of a stage (the base image's is `/`). */
export function workdirAt(stage: Stage, ins: Instruction): string {
    let wd = "/";
    for (const i of stage.instructions) {
        if (i === ins) break;
        if (i.getKeyword() === "WORKDIR") {
            const arg = i.getExpandedArguments()[0]?.getValue() ?? "/";
            wd = arg.startsWith("/") ? arg : `${wd.replace(/\/$/, "")}/${arg}`;
        }
    }
    return normalisePosix(wd);
}

export function normalisePosix(p: string): string {
    const parts: string[] = [];
    for (const seg of p.split("/")) {
        if (seg === "" || seg === ".") continue;
        if (seg === "..") parts.pop();
        else parts.push(seg);
    }
    return `/${parts.join("/")}`;
}

/** Resolves a COPY destination or path argument against the WORKDIR, the way Docker does. */
export function resolveInImage(workdir: string, p: string): string {
    return normalisePosix(p.startsWith("/") ? p : `${workdir}/${p}`);
}

// ----------------------------------------------------------------------------------------
// The contract. Each returns problems; an empty list means the rule holds.

export function checkLint(df: ParsedDockerfile): string[] {
    // Severity 1 is an error in the Language Server Protocol's DiagnosticSeverity.
    return validate(df.text)
        .filter((d) => d.severity === 1)
        .map((d) => `${df.label}:${d.range.start.line + 1}: ${d.message}`);
}

export function checkMultiStage(df: ParsedDockerfile): string[] {
    return df.stages.length >= 2 ? [] : [`${df.label}: ${df.stages.length} stage(s); a build stage and a runtime stage are expected, so build tools stay out of the image`];
}

/** The tag of an image reference, or null; a digest pin counts as pinned. */
export function imagePin(ref: string): { tag: string | null; digest: string | null } {
    const at = ref.indexOf("@");
    const digest = at >= 0 ? ref.slice(at + 1) : null;
    const name = at >= 0 ? ref.slice(0, at) : ref;
    const lastSegment = name.slice(name.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    return { tag: colon >= 0 ? lastSegment.slice(colon + 1) : null, digest };
}

export function checkPinnedBases(df: ParsedDockerfile): string[] {
    const problems: string[] = [];
    for (const stage of df.stages) {
        const where = `${df.label}:${lineOf(stage.from)}`;
        const ref = stage.image;
        if (!ref || ref.includes("$")) {
            problems.push(`${where}: FROM '${stage.from.getImage()}' does not resolve to an image (an ARG without a default?)`);
            continue;
        }
        if (stageByRef(df, ref, stage.index)) continue; // FROM an earlier stage: pinned by that stage
        const { tag, digest } = imagePin(ref);
        if (digest) continue;
        if (tag === null) problems.push(`${where}: FROM '${ref}' has no tag, so it means whatever 'latest' is on build day`);
        else if (tag === "latest") problems.push(`${where}: FROM '${ref}' uses 'latest'; pin a version`);
        else if (!/\d/.test(tag)) problems.push(`${where}: FROM '${ref}' tag '${tag}' names no version`);
    }
    return problems;
}

export function checkNonRootUser(df: ParsedDockerfile): string[] {
    const users = finalStage(df).instructions.filter((i) => i.getKeyword() === "USER");
    const last = users[users.length - 1];
    if (!last) return [`${df.label}: the final stage has no USER, so the container runs as root`];
    const value = last.getExpandedArguments()[0]?.getValue() ?? "";
    const m = /^(\d+):(\d+)$/.exec(value);
    if (!m) return [`${df.label}:${lineOf(last)}: USER '${value}' is not a numeric uid:gid, so Kubernetes' runAsNonRoot cannot verify it`];
    if (Number(m[1]) === 0 || Number(m[2]) === 0) return [`${df.label}:${lineOf(last)}: USER '${value}' is root (uid or gid 0)`];
    return [];
}

export function checkExecFormCmd(df: ParsedDockerfile): string[] {
    const final = finalStage(df);
    const problems: string[] = [];
    const entrypoints = final.instructions.filter((i) => i.getKeyword() === "ENTRYPOINT");
    if (entrypoints.length) problems.push(`${df.label}:${lineOf(entrypoints[0]!)}: ENTRYPOINT in the final stage (the image is run by its CMD alone)`);
    const cmds = final.instructions.filter((i) => i.getKeyword() === "CMD");
    const cmd = cmds[cmds.length - 1];
    if (!cmd) return [...problems, `${df.label}: the final stage has no CMD`];
    if (!(cmd instanceof Cmd) || !execForm(cmd)) {
        problems.push(`${df.label}:${lineOf(cmd)}: CMD is shell form ('${cmd.getArgumentsContent()}'), so /bin/sh is PID 1 and SIGTERM never reaches node; use ["node", ...]`);
    }
    return problems;
}

/** The stage the final stage's node_modules come from, and how that stage installs them. */
export function productionDepsSource(df: ParsedDockerfile): { copy: CopySpec; stage: Stage } | string {
    const final = finalStage(df);
    const copy = copies(final).find((c) => c.from !== null && c.sources.some((s) => /(^|\/)node_modules\/?$/.test(s)));
    if (!copy) return `${df.label}: the final stage copies no node_modules from another stage`;
    const stage = stageByRef(df, copy.from!, final.index);
    if (!stage) return `${df.label}:${lineOf(copy.ins)}: COPY --from=${copy.from} names no earlier stage`;
    return { copy, stage };
}

export function checkProductionDeps(df: ParsedDockerfile): string[] {
    const problems: string[] = [];
    const final = finalStage(df);
    for (const { ins, command } of runCommands(final)) {
        for (const words of npmInstalls(command)) {
            if (!omitsDev(words)) problems.push(`${df.label}:${lineOf(ins)}: the final stage runs '${words.join(" ")}', which installs devDependencies into the image`);
        }
    }
    const src = productionDepsSource(df);
    if (typeof src === "string") return [...problems, src];
    const installs = runCommands(src.stage).flatMap(({ ins, command }) => npmInstalls(command).map((words) => ({ ins, words })));
    if (installs.length === 0) problems.push(`${df.label}: stage '${src.stage.name ?? src.stage.index}' (the final stage's node_modules) runs no npm ci`);
    for (const { ins, words } of installs) {
        if (!omitsDev(words)) problems.push(`${df.label}:${lineOf(ins)}: stage '${src.stage.name ?? src.stage.index}' provides the final node_modules but runs '${words.join(" ")}' without --omit=dev`);
    }
    return problems;
}

export function checkLockfileFirst(df: ParsedDockerfile): string[] {
    const problems: string[] = [];
    for (const stage of df.stages) {
        for (const { ins, command } of runCommands(stage)) {
            for (const words of npmInstalls(command)) {
                const wd = workdirAt(stage, ins);
                const before = copies(stage).filter((c) => lineOf(c.ins) < lineOf(ins));
                const lockCopied = before.some(
                    (c) =>
                        c.from === null &&
                        c.sources.some((s) => s.replace(/^\.\//, "") === "package-lock.json") &&
                        [wd, `${wd}/package-lock.json`].includes(resolveInImage(workdirAt(stage, c.ins), c.dest)),
                );
                if (!lockCopied) {
                    problems.push(`${df.label}:${lineOf(ins)}: '${words.join(" ")}' runs in ${wd} before package-lock.json is copied there, so the install is not the locked one`);
                }
                if (words[1] !== "ci" && words[1] !== "clean-install") {
                    problems.push(`${df.label}:${lineOf(ins)}: '${words.join(" ")}' may rewrite the lockfile; use npm ci`);
                }
            }
        }
    }
    return problems;
}

/**
 * onnxruntime-node's postinstall downloads binaries unless ONNXRUNTIME_NODE_INSTALL=skip: a
 * stage that lets install scripts run must set it (the CPU binaries ship in the package).
 */
export function checkInstallScriptsSafe(df: ParsedDockerfile): string[] {
    const problems: string[] = [];
    for (const stage of df.stages) {
        const envs = stage.instructions.filter((i): i is Env => i instanceof Env);
        for (const { ins, command } of runCommands(stage)) {
            for (const words of npmInstalls(command)) {
                if (words.includes("--ignore-scripts")) continue;
                const skip = envs.some(
                    (e) =>
                        lineOf(e) < lineOf(ins) &&
                        e.getProperties().some((p) => p.getName() === "ONNXRUNTIME_NODE_INSTALL" && p.getValue() === "skip"),
                );
                if (!skip) problems.push(`${df.label}:${lineOf(ins)}: '${words.join(" ")}' runs install scripts without ENV ONNXRUNTIME_NODE_INSTALL=skip (onnxruntime-node's postinstall would download)`);
            }
        }
    }
    return problems;
}

/**
 * npm places a workspace's dependency under services/<ws>/node_modules when the root already
 * holds another version of it (the lockfile says where). The final stage must copy those too,
 * or the service resolves the root's version, or nothing.
 */
export function checkWorkspaceNodeModules(df: ParsedDockerfile, lockfile: { packages: Record<string, { dev?: boolean; devOptional?: boolean }> }): string[] {
    const src = productionDepsSource(df);
    if (typeof src === "string") return [src];
    const installs = runCommands(src.stage).flatMap(({ ins, command }) => npmInstalls(command).map((words) => ({ ins, words })));
    const problems: string[] = [];
    const final = finalStage(df);
    for (const { ins, words } of installs) {
        const wd = workdirAt(src.stage, ins);
        for (const ws of workspacesOf(words)) {
            const nested = Object.entries(lockfile.packages).filter(([key, entry]) => key.startsWith(`${ws}/node_modules/`) && !entry.dev);
            if (nested.length === 0) continue;
            const wanted = resolveInImage(wd, `${ws}/node_modules`);
            const copied = copies(final).some(
                (c) => c.from !== null && stageByRef(df, c.from, final.index) === src.stage && c.sources.some((s) => resolveInImage(wd, s) === wanted),
            );
            if (!copied) {
                problems.push(
                    `${df.label}: the lockfile puts ${nested.length} production package(s) under ${ws}/node_modules (${nested
                        .slice(0, 3)
                        .map(([k]) => k.slice(`${ws}/node_modules/`.length))
                        .join(", ")}${nested.length > 3 ? ", ..." : ""}), but the final stage does not copy ${wanted} from stage '${src.stage.name ?? src.stage.index}'`,
                );
            }
        }
    }
    return problems;
}
