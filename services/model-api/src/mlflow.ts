/**
 * The little of MLflow's REST API the model API needs: resolve a registered model's alias,
 * find the version's artifact location, download files through the artifact proxy
 * (`mlflow server --serve-artifacts`). No object-store credentials here.
 */
export interface MlflowClientOptions {
    trackingUri: string;
    timeoutMs: number;
    downloadTimeoutMs: number;
    /** Largest artifact accepted; a larger one is refused before it is buffered whole (MODEL_MAX_BYTES). */
    maxDownloadBytes: number;
    /** Optional basic-auth or bearer credentials (MLflow's own env names). */
    username?: string;
    password?: string;
    token?: string;
}

export interface ModelVersionRef {
    name: string;
    version: string;
    runId?: string;
    source?: string;
    /** The version's tags (e.g. `model_sha256`, recorded at registration). */
    tags: Record<string, string>;
}

export class MlflowError extends Error {
    constructor(message: string, readonly status?: number) {
        super(message);
        this.name = "MlflowError";
    }
}

export class MlflowClient {
    private readonly base: string;

    constructor(private readonly opts: MlflowClientOptions) {
        this.base = opts.trackingUri.replace(/\/+$/, "");
    }

    private headers(): Record<string, string> {
        if (this.opts.token) return { authorization: `Bearer ${this.opts.token}` };
        if (this.opts.username) {
            return { authorization: `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ""}`).toString("base64")}` };
        }
        return {};
    }

    private async get(path: string, timeoutMs = this.opts.timeoutMs): Promise<Response> {
        let res: Response;
        try {
            res = await fetch(`${this.base}${path}`, { headers: this.headers(), signal: AbortSignal.timeout(timeoutMs) });
        } catch (err) {
            throw new MlflowError(`MLflow unreachable at ${this.base}: ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`);
        }
        if (!res.ok) {
            const body = await res.text().catch(() => "");
            // MLflow's auth app: the status alone does not say where to look.
            const hint =
                res.status === 401
                    ? " (MLflow refused the login: check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
                    : res.status === 403
                      ? " (the MLflow user may not read this)"
                      : "";
            throw new MlflowError(`MLflow GET ${path.split("?")[0]} -> ${res.status}: ${body.slice(0, 300)}${hint}`, res.status);
        }
        return res;
    }

    async resolveAlias(name: string, alias: string): Promise<ModelVersionRef> {
        const q = new URLSearchParams({ name, alias });
        const res = await this.get(`/api/2.0/mlflow/registered-models/alias?${q}`);
        const body = (await res.json()) as { model_version?: { name: string; version: string; run_id?: string; source?: string; tags?: { key: string; value: string }[] } };
        const mv = body.model_version;
        if (!mv?.version) throw new MlflowError(`MLflow: alias '${alias}' of '${name}' has no model version`);
        const tags = Object.fromEntries((mv.tags ?? []).map((t) => [t.key, t.value]));
        return { name: mv.name, version: String(mv.version), runId: mv.run_id, source: mv.source, tags };
    }

    /** MLflow 3: model-versions/get-download-uri, the version's real artifact location. */
    async downloadUri(name: string, version: string): Promise<string> {
        const q = new URLSearchParams({ name, version });
        const res = await this.get(`/api/2.0/mlflow/model-versions/get-download-uri?${q}`);
        const body = (await res.json()) as { artifact_uri?: string };
        if (!body.artifact_uri) throw new MlflowError(`MLflow: no artifact_uri for ${name} version ${version}`);
        return body.artifact_uri;
    }

    /** Path of an artifact URI inside the proxy: `mlflow-artifacts:/a/b` or `mlflow-artifacts://host/a/b` -> `a/b`. */
    static proxyPath(artifactUri: string): string {
        const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
        if (!m) {
            throw new MlflowError(
                `artifact location '${artifactUri}' is not served by the MLflow artifact proxy (expected mlflow-artifacts:/...; run the server with --serve-artifacts)`,
            );
        }
        return m[1]!.replace(/\/+$/, "");
    }

    /**
     * Downloads one artifact, refusing it as soon as it exceeds `maxDownloadBytes` (by its
     * Content-Length, or while streaming when the proxy sends none): an oversized or endless
     * artifact never lands in memory whole.
     */
    async downloadArtifact(artifactUri: string, file: string): Promise<Buffer> {
        const p = `${MlflowClient.proxyPath(artifactUri)}/${file}`.split("/").map(encodeURIComponent).join("/");
        const res = await this.get(`/api/2.0/mlflow-artifacts/artifacts/${p}`, this.opts.downloadTimeoutMs);
        const max = this.opts.maxDownloadBytes;
        const tooLarge = (n: string) => new MlflowError(`MLflow: ${file} is larger than the ${max}-byte limit (MODEL_MAX_BYTES): ${n}; refused`);
        const declared = Number(res.headers.get("content-length") ?? NaN);
        if (Number.isFinite(declared) && declared > max) {
            await res.body?.cancel().catch(() => undefined);
            throw tooLarge(`Content-Length ${declared}`);
        }
        const chunks: Uint8Array[] = [];
        let total = 0;
        try {
            const reader = res.body!.getReader();
            for (;;) {
                const { done, value } = await reader.read();
                if (done) break;
                total += value.byteLength;
                if (total > max) {
                    await reader.cancel().catch(() => undefined);
                    throw tooLarge(`more than ${max} bytes streamed`);
                }
                chunks.push(value);
            }
        } catch (err) {
            if (err instanceof MlflowError) throw err;
            throw new MlflowError(`MLflow: download of ${file} failed: ${(err as Error).message}`);
        }
        return Buffer.concat(chunks, total);
    }
}
