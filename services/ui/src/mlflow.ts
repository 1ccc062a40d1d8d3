/** The registered model's versions as the Models page shows them, from MLflow's REST API. */
export interface ModelVersionView {
    version: string;
    status: string;
    created: number;
    run_id: string | null;
    run_name: string | null;
    aliases: string[];
    metrics: Record<string, number>;
}

export interface ModelsView {
    name: string;
    alias: string;
    /** Version that holds the production alias, or null when none does yet. */
    production: string | null;
    versions: ModelVersionView[];
}

export class UpstreamError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

interface MlflowVersion {
    version: string;
    status?: string;
    creation_timestamp?: string | number;
    run_id?: string;
    aliases?: string[];
}

/** MLflow's login (its auth app asks every API request for one). */
export interface MlflowLogin {
    readonly username: string;
    readonly password: string;
}

/** The Authorization header of HTTP basic auth, or none without a login. */
export function authHeaders(login: MlflowLogin | undefined): Record<string, string> {
    return login ? { authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}` } : {};
}

/** What to say when MLflow refuses the UI's login: the status alone does not tell a person where to look. */
function upstreamMessage(status: number, body: any): string {
    const refused = status === 401 ? " (MLflow refused the UI's login: check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)" : status === 403 ? " (the UI's MLflow user may not read this)" : "";
    return `MLflow answered ${status}: ${body?.message ?? "no message"}${refused}`;
}

async function getJson(url: string, timeoutMs: number, login?: MlflowLogin): Promise<{ status: number; body: any }> {
    const res = await fetch(url, { headers: authHeaders(login), signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: any;
    try {
        body = JSON.parse(text);
    } catch {
        body = { message: text.slice(0, 200) };
    }
    return { status: res.status, body };
}

export async function fetchModels(mlflowUrl: string, name: string, alias: string, timeoutMs: number, login?: MlflowLogin): Promise<ModelsView> {
    const api = `${mlflowUrl}/api/2.0/mlflow`;
    // The registered model (for its aliases) and the version list are independent: ask for both at once.
    const listVersions = async (): Promise<MlflowVersion[]> => {
        const versions: MlflowVersion[] = [];
        let pageToken: string | undefined;
        do {
            const q = new URLSearchParams({ filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: "200" });
            if (pageToken) q.set("page_token", pageToken);
            const r = await getJson(`${api}/model-versions/search?${q}`, timeoutMs, login);
            if (r.status !== 200) throw new UpstreamError(r.status, upstreamMessage(r.status, r.body));
            versions.push(...((r.body.model_versions as MlflowVersion[] | undefined) ?? []));
            pageToken = r.body.next_page_token || undefined;
        } while (pageToken);
        return versions;
    };
    const [rm, versions] = await Promise.all([getJson(`${api}/registered-models/get?name=${encodeURIComponent(name)}`, timeoutMs, login), listVersions()]);
    if (rm.status === 404 || rm.body?.error_code === "RESOURCE_DOES_NOT_EXIST") return { name, alias, production: null, versions: [] };
    if (rm.status !== 200) throw new UpstreamError(rm.status, upstreamMessage(rm.status, rm.body));
    const production: string | null =
        (rm.body.registered_model?.aliases as { alias: string; version: string }[] | undefined)?.find((a) => a.alias === alias)?.version ?? null;

    const runs = new Map<string, { name: string | null; metrics: Record<string, number> }>();
    await Promise.all(
        [...new Set(versions.map((v) => v.run_id).filter((id): id is string => !!id))].map(async (runId) => {
            const r = await getJson(`${api}/runs/get?run_id=${encodeURIComponent(runId)}`, timeoutMs, login);
            if (r.status !== 200) return; // a deleted run leaves the version without metrics, not the page without versions
            const metrics: Record<string, number> = {};
            for (const m of (r.body.run?.data?.metrics as { key: string; value: number }[] | undefined) ?? []) metrics[m.key] = m.value;
            runs.set(runId, { name: r.body.run?.info?.run_name ?? null, metrics });
        }),
    );

    return {
        name,
        alias,
        production,
        versions: versions
            .map((v) => ({
                version: String(v.version),
                status: v.status ?? "UNKNOWN",
                created: Number(v.creation_timestamp ?? 0),
                run_id: v.run_id ?? null,
                run_name: v.run_id ? (runs.get(v.run_id)?.name ?? null) : null,
                aliases: v.aliases ?? [],
                metrics: v.run_id ? (runs.get(v.run_id)?.metrics ?? {}) : {},
            }))
            .sort((a, b) => Number(a.version) - Number(b.version)),
    };
}
