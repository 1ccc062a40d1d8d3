import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "minio";
import { Manifest, parseManifest } from "./manifest";

/** One backup found in the bucket or in a local directory. */
export interface Listed {
    readonly id: string;
    readonly manifest?: Manifest;
    /** Why the manifest could not be read (an incomplete backup has none). */
    readonly problem?: string;
    readonly bytes: number;
}

export type Progress = (line: string) => void;

function human(bytes: number): string {
    const units = ["B", "KiB", "MiB", "GiB"];
    let v = bytes;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
        v /= 1024;
        u++;
    }
    return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
export { human };

async function objects(client: Client, bucket: string, prefix: string): Promise<{ name: string; size: number }[]> {
    const out: { name: string; size: number }[] = [];
    for await (const o of client.listObjectsV2(bucket, prefix, true)) {
        if (o.name) out.push({ name: o.name, size: o.size });
    }
    return out;
}

async function readObject(client: Client, bucket: string, name: string): Promise<string> {
    const stream = await client.getObject(bucket, name);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

/** The `backups` bucket, through an S3 endpoint (a port-forward to MinIO). */
export class BackupStore {
    constructor(
        private readonly client: Client,
        readonly bucket: string,
    ) {}

    /** Every backup in the bucket, newest first; incomplete ones carry a problem. */
    async list(): Promise<Listed[]> {
        const byId = new Map<string, { bytes: number; manifest: boolean }>();
        for (const o of await objects(this.client, this.bucket, "")) {
            const [id, ...rest] = o.name.split("/");
            if (!id) continue;
            const e = byId.get(id) ?? { bytes: 0, manifest: false };
            e.bytes += o.size;
            if (rest.join("/") === "manifest.json") e.manifest = true;
            byId.set(id, e);
        }
        const out: Listed[] = [];
        for (const [id, e] of byId) {
            if (!e.manifest) {
                out.push({ id, bytes: e.bytes, problem: "no manifest.json: incomplete (still running, or failed)" });
                continue;
            }
            try {
                out.push({ id, bytes: e.bytes, manifest: parseManifest(id, await readObject(this.client, this.bucket, `${id}/manifest.json`)) });
            } catch (err) {
                out.push({ id, bytes: e.bytes, problem: (err as Error).message });
            }
        }
        return sortNewestFirst(out);
    }

    /** Copies backup `id` into `dir/<id>/`, the manifest last. */
    async download(id: string, dir: string, progress: Progress): Promise<void> {
        const all = await objects(this.client, this.bucket, `${id}/`);
        if (!all.some((o) => o.name === `${id}/manifest.json`)) throw new Error(`backup '${id}' is not in bucket '${this.bucket}' (or has no manifest.json)`);
        const ordered = [...all.filter((o) => !o.name.endsWith("/manifest.json")), ...all.filter((o) => o.name.endsWith("/manifest.json"))];
        const total = ordered.reduce((s, o) => s + o.size, 0);
        let done = 0;
        for (const [i, o] of ordered.entries()) {
            const target = path.join(dir, o.name);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            await this.client.fGetObject(this.bucket, o.name, target);
            done += o.size;
            progress(`[${i + 1}/${ordered.length}] ${o.name} (${human(o.size)}; ${human(done)} of ${human(total)})`);
        }
    }

    /** Copies `dir/<id>/` into the bucket, the manifest last, so a half-done upload is never taken for a backup. */
    async upload(id: string, dir: string, progress: Progress): Promise<void> {
        const root = path.join(dir, id);
        const files = walk(root).map((f) => path.relative(root, f).split(path.sep).join("/"));
        if (!files.includes("manifest.json")) throw new Error(`${root} has no manifest.json: not a backup`);
        const ordered = [...files.filter((f) => f !== "manifest.json"), "manifest.json"];
        for (const [i, f] of ordered.entries()) {
            await this.client.fPutObject(this.bucket, `${id}/${f}`, path.join(root, f));
            progress(`[${i + 1}/${ordered.length}] ${id}/${f} (${human(fs.statSync(path.join(root, f)).size)})`);
        }
    }

    async manifest(id: string): Promise<Manifest> {
        return parseManifest(id, await readObject(this.client, this.bucket, `${id}/manifest.json`));
    }

    /**
     * Copies the artifacts of a backup back into their buckets, server-side (nothing passes
     * through this machine); objects the backup does not hold are left alone.
     */
    async restoreArtifacts(manifest: Manifest, progress: Progress): Promise<number> {
        let copied = 0;
        for (const [bucket, prefix] of Object.entries(manifest.artifacts)) {
            const from = `${manifest.id}/${prefix}`;
            const list = await objects(this.client, this.bucket, from);
            for (const [i, o] of list.entries()) {
                const key = o.name.slice(from.length);
                await this.client.copyObject(bucket, key, `/${this.bucket}/${o.name}`);
                copied++;
                if (i === list.length - 1 || (i + 1) % 20 === 0) progress(`artifacts: ${i + 1}/${list.length} objects copied back into bucket '${bucket}'`);
            }
        }
        return copied;
    }
}

function walk(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Backups kept in a local directory (`npm run backup` copies each one there), newest first. */
export function listLocal(dir: string): Listed[] {
    if (!fs.existsSync(dir)) return [];
    const out: Listed[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const bytes = walk(path.join(dir, e.name)).reduce((s, f) => s + fs.statSync(f).size, 0);
        const file = path.join(dir, e.name, "manifest.json");
        if (!fs.existsSync(file)) {
            out.push({ id: e.name, bytes, problem: "no manifest.json: incomplete" });
            continue;
        }
        try {
            out.push({ id: e.name, bytes, manifest: parseManifest(e.name, fs.readFileSync(file, "utf8")) });
        } catch (err) {
            out.push({ id: e.name, bytes, problem: (err as Error).message });
        }
    }
    return sortNewestFirst(out);
}

function sortNewestFirst(list: Listed[]): Listed[] {
    return list.sort((a, b) => (b.manifest?.createdAt ?? "").localeCompare(a.manifest?.createdAt ?? "") || a.id.localeCompare(b.id));
}
