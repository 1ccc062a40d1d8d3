import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import type { FastifyBaseLogger } from "fastify";
import { buildFeeds, parseFeatureSpec, readPrices, type FeatureSpec } from "./feature-spec";
import type { NormalisedListing } from "./listing";
import type { Metrics } from "./metrics";
import { MlflowClient } from "./mlflow";
import { readModelCache, sha256, writeModelCache } from "./model-cache";
import { assertSelfContained } from "./onnx-guard";

/** Model version tag holding the sha256 of model.onnx, set at registration (dags/include/registry.py). */
export const MODEL_SHA256_TAG = "model_sha256";

/** A loaded model: one ONNX session, its spec, and a count of runs still using it. */
export interface LoadedModel {
    readonly name: string;
    readonly version: string;
    readonly source: string;
    /** sha256 (hex) of the model.onnx bytes this session was made from. */
    readonly sha256: string;
    readonly loadedAt: Date;
    readonly spec: FeatureSpec;
    readonly session: ort.InferenceSession;
    inflight: number;
    retired: boolean;
}

export interface ModelManagerOptions {
    modelName: string;
    alias: string;
    /** Directory with model.onnx + feature_spec.json, or a model.onnx path: serve it, no MLflow. */
    localPath?: string;
    mlflow?: MlflowClient;
    /**
     * The last good model's directory (MODEL_CACHE_DIR): written after each load from MLflow,
     * served at start while MLflow cannot be reached.
     */
    cacheDir?: string;
    pollIntervalMs: number;
    /** Largest model.onnx accepted from a local path (MLflow downloads are capped by the client). */
    maxModelBytes: number;
    /** Backoff while no model is loaded yet (MLflow down at start). */
    retryInitialMs: number;
    retryMaxMs: number;
    intraOpThreads: number;
    metrics: Metrics;
    log: FastifyBaseLogger;
}

export type UpdateResult =
    | { status: "loaded"; version: string; previous?: string }
    | { status: "unchanged"; version: string }
    | { status: "failed"; error: string; version?: string };

export class NoModelError extends Error {
    readonly code = "NO_MODEL";
    constructor() {
        super("no model loaded yet");
    }
}

export class ModelManager {
    private current?: LoadedModel;
    private pending?: Promise<UpdateResult>;
    private again = false;
    private timer?: NodeJS.Timeout;
    private closed = false;
    /** A version that failed to load is not retried by polling (a hook forces a retry). */
    private failedVersion?: string;
    lastError?: string;

    constructor(private readonly opts: ModelManagerOptions) {}

    get model(): LoadedModel | undefined {
        return this.current;
    }

    /** Starts loading: the local file once, or MLflow with backoff until a model loads, then polling. */
    start(): void {
        if (this.opts.localPath) {
            void this.loadLocal(this.opts.localPath);
            return;
        }
        void this.initialLoop();
    }

    private async initialLoop(): Promise<void> {
        let delay = this.opts.retryInitialMs;
        let triedCache = false;
        while (!this.closed && !this.current) {
            const r = await this.update(true);
            if (this.current || this.closed) break;
            // MLflow unreachable (or its version unloadable): serve the last good model meanwhile;
            // polling swaps to the alias's version once MLflow answers.
            if (this.opts.cacheDir && !triedCache) {
                triedCache = true;
                if ((await this.loadCache(this.opts.cacheDir)).status === "loaded") break;
            }
            this.opts.log.warn({ event: "model_initial_load_retry", retryInMs: delay, error: r.status === "failed" ? r.error : undefined }, "no model yet; retrying");
            await this.sleep(delay);
            delay = Math.min(delay * 2, this.opts.retryMaxMs);
        }
        this.schedulePoll();
    }

    private schedulePoll(): void {
        if (this.closed || this.opts.pollIntervalMs <= 0) return;
        this.timer = setTimeout(async () => {
            await this.update(false);
            this.schedulePoll();
        }, this.opts.pollIntervalMs);
        this.timer.unref();
    }

    private sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            this.timer = setTimeout(resolve, ms);
            this.timer.unref();
        });
    }

    /** The last good model from the cache directory, if there is a usable one. */
    private async loadCache(dir: string): Promise<UpdateResult> {
        const cached = readModelCache(dir, this.opts.modelName, this.opts.maxModelBytes);
        if ("unusable" in cached) {
            this.opts.log.warn({ event: "model_cache_unusable", reason: cached.unusable }, "no last good model to serve");
            return { status: "failed", error: cached.unusable };
        }
        try {
            const r = await this.swapIn(cached.onnx, parseFeatureSpec(cached.specText), cached.version, `cache:${dir}`, "cache");
            this.opts.log.warn({ event: "model_served_from_cache", version: cached.version }, "MLflow unreachable: serving the last good model until it answers");
            return r;
        } catch (err) {
            return this.failed("cache", err, cached.version);
        }
    }

    async loadLocal(p: string): Promise<UpdateResult> {
        const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, "model.onnx") : p;
        try {
            const size = fs.statSync(file).size;
            if (size > this.opts.maxModelBytes) throw new Error(`${file} is larger than the ${this.opts.maxModelBytes}-byte limit (MODEL_MAX_BYTES): ${size} bytes; refused`);
            const onnx = fs.readFileSync(file);
            const spec = parseFeatureSpec(fs.readFileSync(path.join(path.dirname(file), "feature_spec.json"), "utf8"));
            return await this.swapIn(onnx, spec, "local", `file:${file}`, "local");
        } catch (err) {
            return this.failed("local", err, "local");
        }
    }

    /**
     * Checks the alias and swaps to its version when it changed. Concurrent calls share the
     * running check; a call that arrives during a check causes one more check afterwards, so
     * a hook fired just after the alias moved is never lost.
     */
    update(force: boolean): Promise<UpdateResult> {
        if (this.opts.localPath) return this.loadLocal(this.opts.localPath);
        if (this.pending) {
            this.again = true;
            return this.pending;
        }
        this.pending = (async () => {
            let r: UpdateResult;
            do {
                this.again = false;
                r = await this.checkMlflow(force);
            } while (this.again && !this.closed);
            return r;
        })().finally(() => {
            this.pending = undefined;
        });
        return this.pending;
    }

    private async checkMlflow(force: boolean): Promise<UpdateResult> {
        const client = this.opts.mlflow!;
        let version: string | undefined;
        try {
            const ref = await client.resolveAlias(this.opts.modelName, this.opts.alias);
            version = ref.version;
            if (this.current && this.current.version === version) return { status: "unchanged", version };
            if (!force && this.failedVersion === version) return { status: "failed", version, error: this.lastError ?? "failed before" };
            const expected = ref.tags[MODEL_SHA256_TAG];
            if (!expected) throw new Error(`version ${version} has no '${MODEL_SHA256_TAG}' tag (registered without a checksum); refused`);
            const uri = await client.downloadUri(this.opts.modelName, version);
            const [onnx, specText] = await Promise.all([client.downloadArtifact(uri, "model.onnx"), client.downloadArtifact(uri, "feature_spec.json")]);
            // Before ONNX Runtime sees it: the bytes registered, not whatever the store now holds.
            const actual = sha256(onnx);
            if (actual !== expected) throw new Error(`version ${version}: model.onnx does not match its '${MODEL_SHA256_TAG}' tag (sha256 ${actual}, registered ${expected}); refused`);
            const spec = parseFeatureSpec(specText.toString("utf8"));
            const r = await this.swapIn(onnx, spec, version, uri, "mlflow");
            if (this.opts.cacheDir) this.saveCache(this.opts.cacheDir, onnx, specText.toString("utf8"), version);
            return r;
        } catch (err) {
            if (version) this.failedVersion = version;
            return this.failed("mlflow", err, version);
        }
    }

    /** Keeps the model just loaded as the last good one; a failure costs only the cache. */
    private saveCache(dir: string, onnx: Buffer, specText: string, version: string): void {
        try {
            writeModelCache(dir, { name: this.opts.modelName, version, onnx, specText });
        } catch (err) {
            this.opts.log.warn({ event: "model_cache_write_failed", dir, error: (err as Error).message }, "could not keep the last good model");
        }
    }

    private failed(source: string, err: unknown, version?: string): UpdateResult {
        const error = (err as Error).message ?? String(err);
        this.lastError = error;
        this.opts.metrics.modelLoadFailures.inc({ source });
        this.opts.log.error({ event: "model_load_failed", source, version, error, serving: this.current?.version ?? null }, "model load failed; keeping the current model");
        return { status: "failed", error, version };
    }

    /** Loads the new session completely (and runs it once) before it replaces the old one. */
    private async swapIn(onnx: Buffer, spec: FeatureSpec, version: string, source: string, kind: string): Promise<UpdateResult> {
        // Before ONNX Runtime sees it: a model may not reach outside its own bytes.
        assertSelfContained(onnx);
        const session = await ort.InferenceSession.create(onnx, {
            intraOpNumThreads: this.opts.intraOpThreads,
            interOpNumThreads: 1,
            executionMode: "sequential",
            graphOptimizationLevel: "all",
        });
        try {
            for (const input of spec.inputs) {
                if (!session.inputNames.includes(input.name)) throw new Error(`model has no input '${input.name}' named by feature_spec.json (inputs: ${session.inputNames.join(", ")})`);
            }
            if (!session.outputNames.includes(spec.output.name)) throw new Error(`model has no output '${spec.output.name}' (outputs: ${session.outputNames.join(", ")})`);
            const probe = await session.run(buildFeeds(spec, [{}]), [spec.output.name]);
            const prices = readPrices(spec, probe[spec.output.name]!);
            if (prices.length !== 1) throw new Error(`model returned ${prices.length} values for 1 row`);
        } catch (err) {
            await session.release().catch(() => undefined);
            throw err;
        }
        const next: LoadedModel = { name: this.opts.modelName, version, source, sha256: sha256(onnx), loadedAt: new Date(), spec, session, inflight: 0, retired: false };
        const previous = this.current;
        this.current = next; // the swap: new requests take `next`; running ones keep their reference
        this.failedVersion = undefined;
        this.lastError = undefined;
        if (previous) this.retire(previous);
        const numeric = Number(version);
        this.opts.metrics.modelVersion.set({ model_name: this.opts.modelName }, Number.isFinite(numeric) ? numeric : 0);
        this.opts.metrics.modelLoads.inc({ source: kind });
        this.opts.log.info({ event: "model_loaded", version, previous: previous?.version ?? null, source }, "model loaded");
        return { status: "loaded", version, previous: previous?.version };
    }

    private retire(m: LoadedModel): void {
        m.retired = true;
        if (m.inflight === 0) void m.session.release().catch(() => undefined);
    }

    /** Runs a batch on the current model; the model stays alive until this run finishes. */
    async predict(rows: NormalisedListing[]): Promise<{ prices: number[]; model: LoadedModel }> {
        const model = this.current;
        if (!model) throw new NoModelError();
        model.inflight++;
        try {
            const out = await model.session.run(buildFeeds(model.spec, rows), [model.spec.output.name]);
            return { prices: readPrices(model.spec, out[model.spec.output.name]!), model };
        } finally {
            model.inflight--;
            if (model.retired && model.inflight === 0) void model.session.release().catch(() => undefined);
        }
    }

    async close(): Promise<void> {
        this.closed = true;
        if (this.timer) clearTimeout(this.timer);
        await this.pending?.catch(() => undefined);
        if (this.current) this.retire(this.current);
        this.current = undefined;
    }
}
