/**
 * The last good model on a local volume (MODEL_CACHE_DIR): written after every model loaded
 * from MLflow, read at start when MLflow cannot be reached, so a restarted container keeps
 * serving through an MLflow outage. Files: model.onnx, feature_spec.json and meta.json (name,
 * version, the sha256 of both files); meta.json is renamed into place last, so a reader sees
 * either the previous complete set or the new one.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface CachedModel {
    readonly name: string;
    readonly version: string;
    readonly onnx: Buffer;
    readonly specText: string;
}

interface Meta {
    readonly name: string;
    readonly version: string;
    readonly modelSha256: string;
    readonly specSha256: string;
    readonly savedAt: string;
}

/** Hex sha256, as recorded in meta.json and in the `model_sha256` version tag. */
export const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Writes the model into `dir` (created if missing); throws on a write error. */
export function writeModelCache(dir: string, model: CachedModel): void {
    fs.mkdirSync(dir, { recursive: true });
    const meta: Meta = { name: model.name, version: model.version, modelSha256: sha256(model.onnx), specSha256: sha256(model.specText), savedAt: new Date().toISOString() };
    const put = (file: string, data: Buffer | string) => {
        const tmp = path.join(dir, `.${file}.${process.pid}.tmp`);
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, path.join(dir, file));
    };
    // meta.json first moves out of the way, so a crash between the files leaves no set whose
    // meta.json names files it does not describe.
    fs.rmSync(path.join(dir, "meta.json"), { force: true });
    put("model.onnx", model.onnx);
    put("feature_spec.json", model.specText);
    put("meta.json", JSON.stringify(meta, null, 2));
}

/**
 * The cached model of `name`, or why there is none usable: no cache, another model's, or
 * files that do not match their recorded sha256 (a partial write, or tampering).
 */
export function readModelCache(dir: string, name: string, maxBytes: number): CachedModel | { readonly unusable: string } {
    const metaPath = path.join(dir, "meta.json");
    if (!fs.existsSync(metaPath)) return { unusable: `no cached model in ${dir}` };
    let meta: Meta;
    try {
        meta = JSON.parse(fs.readFileSync(metaPath, "utf8")) as Meta;
    } catch (err) {
        return { unusable: `${metaPath} is not valid JSON: ${(err as Error).message}` };
    }
    if (meta.name !== name) return { unusable: `the cached model is '${meta.name}', not '${name}'` };
    const modelPath = path.join(dir, "model.onnx");
    try {
        const size = fs.statSync(modelPath).size;
        if (size > maxBytes) return { unusable: `${modelPath} is larger than the ${maxBytes}-byte limit (MODEL_MAX_BYTES)` };
        const onnx = fs.readFileSync(modelPath);
        const specText = fs.readFileSync(path.join(dir, "feature_spec.json"), "utf8");
        if (sha256(onnx) !== meta.modelSha256) return { unusable: `${modelPath} does not match the sha256 in meta.json` };
        if (sha256(specText) !== meta.specSha256) return { unusable: `feature_spec.json does not match the sha256 in meta.json` };
        return { name: meta.name, version: String(meta.version), onnx, specText };
    } catch (err) {
        return { unusable: `cannot read the cached model: ${(err as Error).message}` };
    }
}
