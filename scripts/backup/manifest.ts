import { z } from "zod";
import { MANIFEST_FORMAT } from "../../components/backup";

/** `<id>/manifest.json`, as the backup's dump step writes it (components/backup.ts). */
export const manifestSchema = z.object({
    format: z.number().int(),
    id: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Job name"),
    kind: z.enum(["full", "pre-migrate"]),
    createdAt: z.string(),
    postgresServerVersionNum: z.number().int(),
    versions: z.record(z.string(), z.string()),
    databases: z.array(z.object({ name: z.string(), file: z.string(), bytes: z.number().int(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).min(1),
    artifacts: z.record(z.string(), z.string()),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** Parses a manifest; the error names the backup and what is wrong. */
export function parseManifest(id: string, text: string): Manifest {
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (err) {
        throw new Error(`backup '${id}': manifest.json is not JSON (${(err as Error).message})`);
    }
    const format = (json as { format?: unknown }).format;
    if (format !== MANIFEST_FORMAT) {
        throw new Error(`backup '${id}': manifest format ${String(format)} is not ${MANIFEST_FORMAT}, the one this version of the platform reads`);
    }
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) {
        throw new Error(`backup '${id}': manifest.json is not valid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    if (parsed.data.id !== id) throw new Error(`backup '${id}': its manifest names another backup ('${parsed.data.id}')`);
    return parsed.data;
}

/** The major version of a Postgres image tag (`17.12-trixie` -> 17) or of server_version_num (170012 -> 17). */
export function postgresMajor(version: string | number): number {
    if (typeof version === "number") return Math.floor(version / 10000);
    const m = /^(\d+)/.exec(version);
    if (!m) throw new Error(`cannot read a Postgres major version from '${version}'`);
    return Number(m[1]);
}

/**
 * Why a backup cannot be restored into a platform running `current` image versions; empty when
 * it can. Postgres: a dump restores into the same or a newer major, never an older one. MLflow
 * and Airflow: their schema is the one their version migrated to, so the version must match
 * (restore into the version that wrote the backup, then upgrade: the migrate Jobs back up first).
 */
export function incompatibilities(manifest: Manifest, current: Readonly<Record<string, string>>): string[] {
    const problems: string[] = [];
    const pgBackup = postgresMajor(manifest.postgresServerVersionNum);
    if (current.postgres !== undefined && postgresMajor(current.postgres) < pgBackup) {
        problems.push(`it was taken from PostgreSQL ${pgBackup}, and this platform runs PostgreSQL ${postgresMajor(current.postgres)} (postgres.image ${current.postgres}): a dump restores into the same or a newer major only`);
    }
    for (const app of ["mlflow", "airflow"]) {
        const was = manifest.versions[app];
        const now = current[app];
        const restores = manifest.databases.some((d) => d.name === app);
        if (restores && was !== undefined && now !== undefined && was !== now) {
            problems.push(`it holds the ${app} database of ${app} ${was}, and this platform runs ${app} ${now}: set ${app}.image to the ${was} image, 'pulumi up', restore, then upgrade again`);
        }
    }
    return problems;
}
