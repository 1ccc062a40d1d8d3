/** One sample of the Prometheus text format. */
export interface Sample {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
}

/** Parses the Prometheus text exposition format (what prom-client writes); comments are skipped. */
export function parsePrometheus(text: string): Sample[] {
    const out: Sample[] = [];
    for (const line of text.split("\n")) {
        if (!line || line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
        if (!m) continue;
        const labels: Record<string, string> = {};
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
        for (let l; (l = re.exec(m[3] ?? "")); ) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        const value = m[4] === "+Inf" ? Infinity : Number(m[4]);
        out.push({ name: m[1]!, labels, value });
    }
    return out;
}

export interface IngestSummary {
    groups: {
        group_number: number;
        day: string;
        current_batch: number;
        batches_served: number;
        batches: { batch_number: number; rows: number }[];
    }[];
    price: { buckets: { le: number | null; count: number }[]; count: number; sum: number };
}

/** What the Data page shows, from the data API's /metrics. */
export function summariseDataApiMetrics(text: string): IngestSummary {
    const samples = parsePrometheus(text);
    const groups = new Map<string, IngestSummary["groups"][number]>();
    const group = (l: Readonly<Record<string, string>>) => {
        const key = `${l.group_number}|${l.day}`;
        let g = groups.get(key);
        if (!g) {
            g = { group_number: Number(l.group_number), day: l.day ?? "", current_batch: 0, batches_served: 0, batches: [] };
            groups.set(key, g);
        }
        return g;
    };
    const cumulative: { le: number; count: number }[] = [];
    let count = 0;
    let sum = 0;
    for (const s of samples) {
        if (s.name === "data_api_current_batch") group(s.labels).current_batch = s.value;
        else if (s.name === "data_api_batches_served_total") group(s.labels).batches_served = s.value;
        else if (s.name === "data_api_batch_rows") group(s.labels).batches.push({ batch_number: Number(s.labels.batch_number), rows: s.value });
        else if (s.name === "data_api_listing_price_dollars_bucket") cumulative.push({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value });
        else if (s.name === "data_api_listing_price_dollars_count") count = s.value;
        else if (s.name === "data_api_listing_price_dollars_sum") sum = s.value;
    }
    cumulative.sort((a, b) => a.le - b.le);
    const buckets = cumulative.map((b, i) => ({ le: Number.isFinite(b.le) ? b.le : null, count: b.count - (i > 0 ? cumulative[i - 1]!.count : 0) }));
    const list = [...groups.values()].sort((a, b) => a.group_number - b.group_number || a.day.localeCompare(b.day));
    for (const g of list) g.batches.sort((a, b) => a.batch_number - b.batch_number);
    return { groups: list, price: { buckets, count, sum } };
}
