import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../program";
import { minioBinDir, resolveEnv } from "./processes";

export interface PodStepsOptions {
    /** Secret values by `<secret>/<key>`. */
    readonly secrets: Record<string, string>;
    /** Turns a cluster value (a Service address, a port) into its local counterpart. */
    readonly rewrite: (value: string) => string;
    /** Mount path in the pod -> a local directory; arguments and values under it are moved there. */
    readonly mounts?: Record<string, string>;
    /** Files of ConfigMap volumes, by volume name, written into the local directory of their mount. */
    readonly configMaps?: Record<string, Record<string, string>>;
    /** Values the pod would get from the downward API (e.g. BACKUP_ID). */
    readonly fieldValues?: Record<string, string>;
    /** Directories put first on PATH (e.g. the Postgres client binaries). */
    readonly path?: readonly string[];
    readonly home: string;
}

export interface PodStepsResult {
    readonly status: number;
    /** The step that failed, when one did. */
    readonly failed?: string;
    /** Every step's output, each under a `--- <name>` line. */
    readonly output: string;
}

/**
 * Runs the containers of a rendered pod one after the other on this machine, as the kubelet
 * runs init containers and then the (single) container: env from the rendered env (Secrets from
 * `secrets`), $(VAR) in the command expanded from it, `mc` from the MinIO build, anything else
 * from PATH. Stops at the first failing step.
 */
export function runPodSteps(pod: any, opts: PodStepsOptions): PodStepsResult {
    const mounts = Object.entries(opts.mounts ?? {}).sort((a, b) => b[0].length - a[0].length);
    const local = (v: string) => {
        for (const [from, to] of mounts) if (v === from || v.startsWith(`${from}/`)) return to + v.slice(from.length);
        return v;
    };
    for (const v of pod.volumes ?? []) {
        const files = v.configMap ? opts.configMaps?.[v.name] : undefined;
        if (!files) continue;
        for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
            const m = (c.volumeMounts ?? []).find((vm: any) => vm.name === v.name);
            if (!m) continue;
            const dir = local(m.mountPath);
            fs.mkdirSync(dir, { recursive: true });
            for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
        }
    }
    let output = "";
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const env = resolveEnv(c.env ?? [], opts.secrets, (v) => local(opts.rewrite(v)));
        for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) env[e.name] = opts.fieldValues?.[e.name] ?? "";
        const args = (c.command as string[]).map((a) => local(a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => env[n] ?? m)));
        const [cmd, ...rest] = args;
        const program = cmd === "mc" ? path.join(minioBinDir(), "mc") : cmd!;
        const r = spawnSync(program, rest, {
            encoding: "utf8",
            env: { PATH: [...(opts.path ?? []), process.env.PATH].join(":"), HOME: opts.home, ...env },
            timeout: 120_000,
        });
        output += `--- ${c.name}\n${r.stdout}${r.stderr}`;
        if (r.status !== 0) return { status: r.status ?? -1, failed: c.name, output };
    }
    return { status: 0, output };
}

/**
 * `container` with its command, one of our Node services' built programs as the image runs it
 * (`node services/<service>/dist/[src/]<program>.js`), changed to run that program's TypeScript
 * source with tsx: the unit and real tiers build nothing. Throws for any other command.
 */
export function fromSource(container: any): any {
    const [node, built, ...rest] = container.command as string[];
    const m = node === "node" && built !== undefined ? /^(services\/[a-z-]+)\/dist\/(src\/)?([a-z-]+)\.js$/.exec(built) : null;
    if (!m) throw new Error(`fromSource: '${(container.command as string[]).join(" ")}' is not a built program of one of our services`);
    const source = path.join(ROOT, m[1]!, "src", `${m[3]}.ts`);
    if (!fs.existsSync(source)) throw new Error(`fromSource: ${source} does not exist`);
    return { ...container, command: [process.execPath, "--import", "tsx", source, ...rest] };
}
