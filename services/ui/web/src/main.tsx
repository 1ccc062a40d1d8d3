import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { DataPage } from "./pages/Data";
import { ModelsPage } from "./pages/Models";
import { PredictPage } from "./pages/Predict";
import "./style.css";

const pages = { predict: "Predict", models: "Models", data: "Data" } as const;
type Page = keyof typeof pages;
const current = (): Page => {
    const p = location.hash.replace(/^#\/?/, "");
    return p in pages ? (p as Page) : "predict";
};

function App() {
    const [page, setPage] = useState<Page>(current());
    useEffect(() => {
        const on = () => setPage(current());
        addEventListener("hashchange", on);
        return () => removeEventListener("hashchange", on);
    }, []);
    return (
        <>
            <header>
                <span class="brand">House prices</span>
                <nav>
                    {(Object.keys(pages) as Page[]).map((p) => (
                        <a href={`#/${p}`} class={p === page ? "active" : ""} aria-current={p === page ? "page" : undefined}>
                            {pages[p]}
                        </a>
                    ))}
                </nav>
            </header>
            <main>{page === "predict" ? <PredictPage /> : page === "models" ? <ModelsPage /> : <DataPage />}</main>
        </>
    );
}

render(<App />, document.getElementById("app")!);
