/**
 * The Python images' hash locks as data (tools/python/lock.sh writes them from the pin files)
 * and the rules the locks, the Dockerfiles that install them, the local bases and the test
 * venvs keep. As in dockerfile.ts, each check returns problems in words that name the file,
 * so the same functions run on the real files and, in python.check.ts, on broken ones.
 */
import { copies, finalStage, resolveInImage, runCommands, workdirAt, type ParsedDockerfile } from "./dockerfile";

/** Names compare as pip compares them: case-insensitive, runs of `-`, `_` and `.` alike. */
export const normName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, "-");

export interface LockEntry {
    /** Normalised (normName). */
    readonly name: string;
    readonly version: string;
    /** The environment marker after `;`, or null when the entry applies everywhere. */
    readonly marker: string | null;
    readonly hashes: readonly string[];
    /** 1-based line of the entry's first line. */
    readonly line: number;
}

export interface Lock {
    readonly label: string;
    readonly entries: readonly LockEntry[];
    /** What is not a hashed exact pin: each such line, named. */
    readonly problems: readonly string[];
}

/** Logical lines (backslash continuations joined) without comments, with their first line's number. */
function logicalLines(text: string): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    let current: { line: number; text: string } | undefined;
    text.split("\n").forEach((raw, i) => {
        const body = raw.replace(/(^|\s)#.*$/, "");
        const continued = /\\\s*$/.test(body);
        const piece = body.replace(/\\\s*$/, "").trim();
        if (current) current.text += ` ${piece}`;
        else if (piece !== "") current = { line: i + 1, text: piece };
        if (!continued && current) {
            out.push({ line: current.line, text: current.text.replace(/\s+/g, " ").trim() });
            current = undefined;
        }
    });
    if (current) out.push(current);
    return out;
}

const PIN = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.!+_-]+)\s*(?:;\s*(.+))?$/;
const HASH = /^--hash=sha256:([0-9a-f]{64})$/;

export function parseLock(label: string, text: string): Lock {
    const entries: LockEntry[] = [];
    const problems: string[] = [];
    for (const { line, text: l } of logicalLines(text)) {
        const [spec, ...options] = l.split(/\s+(?=--)/);
        const pin = PIN.exec(spec ?? "");
        if (!pin) {
            problems.push(`${label}:${line}: '${spec}' is not an exact pin (name==version)`);
            continue;
        }
        const hashes: string[] = [];
        for (const opt of options) {
            const h = HASH.exec(opt.trim());
            if (h) hashes.push(h[1]!);
            else problems.push(`${label}:${line}: ${pin[1]}==${pin[2]} has '${opt.trim()}', where only --hash=sha256:<64 hex> may follow a pin`);
        }
        if (hashes.length === 0) problems.push(`${label}:${line}: ${pin[1]}==${pin[2]} has no --hash`);
        entries.push({ name: normName(pin[1]!), version: pin[2]!, marker: pin[3]?.trim() ?? null, hashes, line });
    }
    if (entries.length === 0) problems.push(`${label}: no entries`);
    const byName = new Map<string, LockEntry[]>();
    for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    for (const [name, es] of byName) {
        if (es.length > 1 && es.some((e) => e.marker === null)) {
            problems.push(`${label}: ${name} is locked ${es.length} times, and not every entry has a marker that tells them apart`);
        }
    }
    return { label, entries, problems };
}

/** A human-edited pin file: `name==version` lines and comments, nothing else. */
export function parsePins(label: string, text: string): { pins: Map<string, { version: string; line: number }>; problems: string[] } {
    const pins = new Map<string, { version: string; line: number }>();
    const problems: string[] = [];
    for (const { line, text: l } of logicalLines(text)) {
        const pin = PIN.exec(l);
        if (!pin || pin[3] !== undefined) problems.push(`${label}:${line}: '${l}' is not an exact pin (name==version, no marker)`);
        else pins.set(normName(pin[1]!), { version: pin[2]!, line });
    }
    return { pins, problems };
}

/** Each pin of the pin files is in the lock at that version, as its only entry of that name. */
export function checkLockHasPins(lock: Lock, pinFiles: { label: string; text: string }[]): string[] {
    const problems: string[] = [];
    for (const file of pinFiles) {
        const { pins, problems: bad } = parsePins(file.label, file.text);
        problems.push(...bad);
        for (const [name, { version, line }] of pins) {
            const locked = lock.entries.filter((e) => e.name === name);
            const where = `${file.label}:${line} pins ${name}==${version}`;
            if (locked.length === 0) problems.push(`${where}, which ${lock.label} does not lock (run tools/python/lock.sh)`);
            else if (locked.length > 1 || locked[0]!.version !== version) {
                problems.push(`${where}, but ${lock.label} locks ${locked.map((e) => e.version + (e.marker ? ` ; ${e.marker}` : "")).join(", ")} (run tools/python/lock.sh)`);
            }
        }
    }
    return problems;
}

/**
 * A base's constraints (what the local base image installs with) are the lock's versions: each
 * constraint is a lock entry, and each lock entry without a marker is a constraint (entries with
 * one belong to another Python than the base's, or to it: uv picked them for the base).
 */
export function checkConstraintsFromLock(lock: Lock, constraints: { label: string; text: string }): string[] {
    const { pins, problems } = parsePins(constraints.label, constraints.text);
    for (const [name, { version, line }] of pins) {
        if (!lock.entries.some((e) => e.name === name && e.version === version)) {
            problems.push(`${constraints.label}:${line}: ${name}==${version} is not in ${lock.label} (run tools/python/lock.sh)`);
        }
    }
    for (const e of lock.entries.filter((x) => x.marker === null)) {
        if (pins.get(e.name)?.version !== e.version) {
            problems.push(`${constraints.label} lacks ${e.name}==${e.version} of ${lock.label} (run tools/python/lock.sh)`);
        }
    }
    return problems;
}

/** Each `pip install` of a shell command (`pip`, `pip3`, `python -m pip`), as its argument words. */
export function pipInstalls(command: string): string[][] {
    return command
        .split(/&&|\|\||;|\|/)
        .map((part) => part.trim().split(/\s+/))
        .map((words) => (/^python[\d.]*$/.test(words[0] ?? "") && words[1] === "-m" && words[2] === "pip" ? words.slice(3) : /^pip[\d.]*$/.test(words[0] ?? "") ? words.slice(1) : []))
        .filter((words) => words[0] === "install")
        .map((words) => words.slice(1));
}

/**
 * The final stage COPYs the lock and installs exactly it: one `pip install` with --no-deps and
 * --require-hashes whose only argument is `-r` of the copied lock (no other requirement file,
 * no constraints, no package named on the command line).
 */
export function checkInstallsLock(df: ParsedDockerfile, lockPath: string): string[] {
    const stage = finalStage(df);
    const base = lockPath.split("/").pop()!;
    const copied = copies(stage).filter((c) => c.sources.includes(lockPath));
    if (copied.length === 0) return [`${df.label}: does not COPY ${lockPath}`];
    const dests = copied.map((c) => {
        const dest = resolveInImage(workdirAt(stage, c.ins), c.dest);
        return c.dest.endsWith("/") ? `${dest}/${base}` : dest;
    });
    const installs = runCommands(stage).flatMap(({ ins, command }) => pipInstalls(command).map((words) => ({ ins, words })));
    if (installs.length !== 1) return [`${df.label}: ${installs.length} pip install commands in the final stage, where the lock must be the one install`];
    const { ins, words } = installs[0]!;
    const problems: string[] = [];
    for (const flag of ["--no-deps", "--require-hashes"]) {
        if (!words.includes(flag)) problems.push(`${df.label}: pip install without ${flag}`);
    }
    const files: string[] = [];
    const rest: string[] = [];
    for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        const inline = /^(?:-r|--requirement)=?(.+)$/.exec(w);
        if (w === "-r" || w === "--requirement") files.push(words[++i] ?? "");
        else if (inline) files.push(inline[1]!);
        else if (/^(-c|--constraint|-e|--editable)/.test(w)) rest.push(w);
        else if (!w.startsWith("-")) rest.push(w);
    }
    const resolved = files.map((f) => resolveInImage(workdirAt(stage, ins), f));
    if (resolved.length !== 1 || !dests.includes(resolved[0]!)) {
        problems.push(`${df.label}: pip install reads ${resolved.join(", ") || "no -r file"}, where it must read only the copied lock (${dests.join(" or ")})`);
    }
    if (rest.length > 0) problems.push(`${df.label}: pip install is also given ${rest.join(" ")}: only the lock may name what is installed`);
    return problems;
}

/**
 * A test venv's file: `-r` exactly the pin files and `-c` CONSTRAINT (paths relative to it): the
 * lock, or the lock's versions without hashes where the venv adds packages the lock lacks.
 */
export function checkVenvUsesLock(venv: { label: string; text: string }, pinFiles: string[], constraint: string): string[] {
    const dir = venv.label.split("/").slice(0, -1).join("/");
    const repoPath = (p: string) => resolveInImage(`/${dir}`, p).slice(1);
    const lines = logicalLines(venv.text).map((l) => l.text);
    const includes = lines.filter((l) => /^-r\s/.test(l)).map((l) => repoPath(l.replace(/^-r\s+/, "")));
    const constraints = lines.filter((l) => /^-c\s/.test(l)).map((l) => repoPath(l.replace(/^-c\s+/, "")));
    const problems: string[] = [];
    if ([...includes].sort().join(",") !== [...pinFiles].sort().join(",")) {
        problems.push(`${venv.label}: -r ${includes.join(", ") || "nothing"}, where the image's pin files are ${pinFiles.join(", ")}`);
    }
    if (constraints.length !== 1 || constraints[0] !== constraint) {
        problems.push(`${venv.label}: -c ${constraints.join(", ") || "nothing"}, where it must be ${constraint}`);
    }
    return problems;
}
