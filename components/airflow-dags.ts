import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AirflowConfig } from "../config/airflow";
import { container, plainEnv, secretEnv, SecretKeyRef } from "./shared";

/** Where Airflow looks for DAG files inside its containers. */
export const DAGS_MOUNT = "/opt/airflow/dags";
const GIT_ROOT = DAGS_MOUNT;
const GIT_LINK = "repo";
/** A ConfigMap holds at most 1 MiB; leave room for metadata. */
const CONFIGMAP_LIMIT = 1_000_000;

/** DAG files for the `local` source: relative path -> contents. */
export type DagFiles = Readonly<Record<string, string>>;

/**
 * Reads the repository's DAG folder for the `local` source: Python files, the JSON data
 * they load and .airflowignore, without tests and caches. Called by index.ts (wiring), not by components.
 */
export function readDagFiles(dir: string): DagFiles {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (!["tests", "__pycache__", ".pytest_cache"].includes(entry.name)) walk(child);
            } else if (/\.(py|json|sql)$/.test(entry.name) || entry.name === ".airflowignore") {
                out[child] = fs.readFileSync(path.join(dir, child), "utf8");
            }
        }
    };
    walk("");
    return out;
}

/**
 * The files the `local` source ships. A ConfigMap volume keeps its files in a timestamped
 * `..<date>` directory that `..data` links to, and Airflow walks the DAG folder following links:
 * it meets that directory twice and stops parsing with "Detected recursive loop when walking DAG
 * directory" (found on the real node). The `.airflowignore` (glob syntax, Airflow's default)
 * leaves the volume's own `..*` entries out; a repository's own ignore rules are kept first.
 */
export function localSourceFiles(files: DagFiles): DagFiles {
    const own = files[".airflowignore"];
    const rule = "# The ConfigMap volume's own entries (..data, ..<timestamp>), walked twice otherwise.\n..*\n";
    return { ...files, ".airflowignore": own ? `${own.trimEnd()}\n${rule}` : rule };
}

/** ConfigMap keys cannot hold '/', so nested paths are flattened and restored by volume items. */
export function configMapKey(relPath: string): string {
    return relPath.replace(/\//g, "__");
}

export interface DagSource {
    /** Volumes the pod needs for DAGs. */
    readonly volumes: k8s.types.input.core.v1.Volume[];
    /** The mount Airflow containers use. */
    readonly mount: k8s.types.input.core.v1.VolumeMount;
    /** `[core] dags_folder`. */
    readonly dagsFolder: string;
    /** Sidecars for pods that parse or run DAGs (git-sync), empty for the local source. */
    readonly sidecars: k8s.types.input.core.v1.Container[];
}

export interface DagSourceArgs {
    readonly config: AirflowConfig["dags"];
    /** The `local` source's ConfigMap name. */
    readonly configMapName?: pulumi.Input<string>;
    readonly files?: DagFiles;
    /** git-sync HTTPS password/token, when the repository needs one. */
    readonly gitPassword?: SecretKeyRef;
}

/** Volumes, mount and sidecars for the configured DAG source. */
export function dagSource(args: DagSourceArgs): DagSource {
    const { config } = args;
    if (config.source === "local") {
        if (!args.configMapName || !args.files) {
            throw new Error("the local DAG source needs the ConfigMap name and the DAG files");
        }
        return {
            volumes: [
                {
                    name: "dags",
                    configMap: {
                        name: args.configMapName,
                        items: Object.keys(args.files)
                            .sort()
                            .map((p) => ({ key: configMapKey(p), path: p })),
                    },
                },
            ],
            mount: { name: "dags", mountPath: DAGS_MOUNT, readOnly: true },
            dagsFolder: DAGS_MOUNT,
            sidecars: [],
        };
    }
    const git = config.git;
    if (!git.repo) {
        throw new Error("'airflow.dags.git.repo' is required when 'airflow.dags.source' is 'git'");
    }
    if (git.username && !args.gitPassword) {
        // git-sync exits at start on a username without a password (config/image-contracts.ts).
        throw new Error("'airflow.dags.git.username' needs the secret config 'gitSyncPassword': git-sync refuses a username without a password");
    }
    const credentials = git.username
        ? [plainEnv("GITSYNC_USERNAME", git.username), ...(args.gitPassword ? [secretEnv("GITSYNC_PASSWORD", args.gitPassword)] : [])]
        : [];
    return {
        volumes: [
            { name: "dags", emptyDir: {} },
            { name: "git-tmp", emptyDir: {} },
        ],
        mount: { name: "dags", mountPath: DAGS_MOUNT, readOnly: true },
        dagsFolder: [DAGS_MOUNT, GIT_LINK, git.subPath].filter(Boolean).join("/"),
        sidecars: [
            container({
                name: "git-sync",
                image: git.image,
                resources: git.resources,
                // git-sync v4 reads GITSYNC_* variables; the link is swapped atomically after each sync.
                env: [
                    plainEnv("GITSYNC_REPO", git.repo),
                    plainEnv("GITSYNC_REF", git.ref),
                    plainEnv("GITSYNC_ROOT", GIT_ROOT),
                    plainEnv("GITSYNC_LINK", GIT_LINK),
                    plainEnv("GITSYNC_PERIOD", git.period),
                    plainEnv("GITSYNC_DEPTH", "1"),
                    plainEnv("HOME", "/tmp"),
                    ...credentials,
                ],
                volumeMounts: [
                    { name: "dags", mountPath: GIT_ROOT },
                    { name: "git-tmp", mountPath: "/tmp" },
                ],
            }),
        ],
    };
}

/** The ConfigMap of the `local` source; fails early when the DAGs outgrow a ConfigMap. */
export function dagConfigMapData(files: DagFiles): Record<string, string> {
    const data: Record<string, string> = {};
    let size = 0;
    for (const [p, content] of Object.entries(files)) {
        data[configMapKey(p)] = content;
        size += Buffer.byteLength(content);
    }
    if (size > CONFIGMAP_LIMIT) {
        throw new Error(`the DAG files are ${size} bytes, more than a ConfigMap holds (1 MiB): use 'airflow.dags.source: git'`);
    }
    if (Object.keys(data).length === 0) {
        throw new Error("the local DAG source found no DAG files");
    }
    return data;
}
