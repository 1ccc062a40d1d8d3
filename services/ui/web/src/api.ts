/** Calls to the UI server's /api routes; every failure becomes an ApiFailure the pages can show. */
export interface FieldError {
    field: string;
    message: string;
}

export class ApiFailure extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly errors: FieldError[] = [],
    ) {
        super(message);
    }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
    let res: Response;
    try {
        res = await fetch(path, init);
    } catch {
        throw new ApiFailure(0, "UI_SERVER_UNREACHABLE", "The UI server is not answering. Check your connection and reload the page.");
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new ApiFailure(res.status, body.code ?? "ERROR", body.message ?? body.detail ?? `request failed (${res.status})`, body.errors ?? []);
    return body as T;
}

export interface Prediction {
    price: number;
    model: { name: string; version: string };
}
export const predict = (features: Record<string, unknown>) =>
    call<Prediction>("/api/predict", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ features }) });

export interface ModelVersion {
    version: string;
    status: string;
    created: number;
    run_id: string | null;
    run_name: string | null;
    aliases: string[];
    metrics: Record<string, number>;
}
export interface Models {
    name: string;
    alias: string;
    production: string | null;
    versions: ModelVersion[];
}
export const models = () => call<Models>("/api/models");

export interface DataSummary {
    groups: { group_number: number; day: string; current_batch: number; batches_served: number; batches: { batch_number: number; rows: number }[] }[];
    price: { buckets: { le: number | null; count: number }[]; count: number; sum: number };
}
export const data = () => call<DataSummary>("/api/data");

export const usd = (n: number) => n.toLocaleString("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
