import { useEffect, useState } from "preact/hooks";
import { ApiFailure, data, usd, type DataSummary } from "../api";
import { BarChart } from "../charts";
import { Failure } from "./Models";

const short = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);

export function DataPage() {
    const [view, setView] = useState<DataSummary | null>(null);
    const [failure, setFailure] = useState<ApiFailure | null>(null);
    useEffect(() => {
        data().then(setView, (e) => setFailure(e instanceof ApiFailure ? e : new ApiFailure(0, "ERROR", String(e))));
    }, []);

    if (failure) return <Failure title="Cannot read the ingest statistics" failure={failure} />;
    if (!view) return <p class="muted">Loading…</p>;
    const buckets = view.price.buckets;
    return (
        <>
            <h1>Data served for ingestion</h1>
            <div class="card">
                {view.groups.length === 0 ? (
                    <p class="muted" data-testid="no-batches">No batch has been served yet: the ingest DAG has not run.</p>
                ) : (
                    <table data-testid="groups">
                        <thead>
                            <tr><th>group</th><th>day</th><th class="num">current batch</th><th class="num">requests served</th><th>rows per batch</th></tr>
                        </thead>
                        <tbody>
                            {view.groups.map((g) => (
                                <tr key={`${g.group_number}-${g.day}`} data-testid={`group-${g.group_number}-${g.day}`}>
                                    <td>{g.group_number}</td>
                                    <td>{g.day}</td>
                                    <td class="num" data-testid="current-batch">{g.current_batch}</td>
                                    <td class="num">{g.batches_served}</td>
                                    <td data-testid="rows">{g.batches.map((b) => `#${b.batch_number}: ${b.rows}`).join(", ")}</td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                )}
            </div>
            <div class="card">
                <BarChart
                    testId="price-chart"
                    title={`Price distribution of the ${view.price.count.toLocaleString("en-US")} listings served${view.price.count ? ` (mean ${usd(view.price.sum / view.price.count)})` : ""}`}
                    bars={buckets.map((b, i) => ({
                        label: b.le === null ? `> ${short(buckets[i - 1]?.le ?? 0)}` : `≤ ${short(b.le)}`,
                        value: b.count,
                    }))}
                />
            </div>
        </>
    );
}
