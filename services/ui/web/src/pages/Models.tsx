import { useEffect, useState } from "preact/hooks";
import { ApiFailure, models, type Models } from "../api";
import { BarChart } from "../charts";

const fmt = (v: number | undefined, digits = 0) => (v === undefined ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

export function ModelsPage() {
    const [view, setView] = useState<Models | null>(null);
    const [failure, setFailure] = useState<ApiFailure | null>(null);
    useEffect(() => {
        models().then(setView, (e) => setFailure(e instanceof ApiFailure ? e : new ApiFailure(0, "ERROR", String(e))));
    }, []);

    if (failure) return <Failure title="Cannot list the models" failure={failure} />;
    if (!view) return <p class="muted">Loading models…</p>;
    return (
        <>
            <h1>
                Models: <code>{view.name}</code>
            </h1>
            {view.versions.length === 0 ? (
                <div class="alert warn" data-testid="no-versions">
                    <strong>No registered versions yet</strong>Run the train DAG in Airflow; each run that trains registers a version here.
                </div>
            ) : (
                <>
                    <div class="card">
                        <table data-testid="versions">
                            <thead>
                                <tr>
                                    <th>version</th><th>run</th><th>registered</th>
                                    <th class="num">MAE</th><th class="num">RMSE</th><th class="num">R²</th><th class="num">MAPE</th><th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {view.versions.map((v) => (
                                    <tr key={v.version} data-testid={`version-${v.version}`}>
                                        <td>v{v.version}</td>
                                        <td>{v.run_name ?? "–"}</td>
                                        <td>{v.created ? new Date(v.created).toISOString().slice(0, 16).replace("T", " ") : "–"}</td>
                                        <td class="num" data-testid="mae">{fmt(v.metrics.mae)}</td>
                                        <td class="num">{fmt(v.metrics.rmse)}</td>
                                        <td class="num">{fmt(v.metrics.r2, 3)}</td>
                                        <td class="num">{fmt(v.metrics.mape, 3)}</td>
                                        <td>{v.version === view.production && <span class="badge" data-testid="production">{view.alias}</span>}</td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                        {view.production === null && <p class="muted">No version has the alias '{view.alias}' yet.</p>}
                    </div>
                    <div class="card">
                        <BarChart
                            testId="mae-chart"
                            title="Mean absolute error by version (lower is better; production highlighted)"
                            bars={view.versions.filter((v) => v.metrics.mae !== undefined).map((v) => ({ label: `v${v.version}`, value: v.metrics.mae!, highlight: v.version === view.production }))}
                            format={(x) => `$${Math.round(x / 1000)}k`}
                        />
                    </div>
                </>
            )}
        </>
    );
}

export function Failure({ title, failure }: { title: string; failure: ApiFailure }) {
    return (
        <div class="alert" role="alert" data-testid="failure" data-code={failure.code}>
            <strong>{title}</strong>
            {failure.message}
        </div>
    );
}
