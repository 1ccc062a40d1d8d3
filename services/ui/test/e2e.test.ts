import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandInModelApi, type ModelApiHandle } from "./support/model-api-standin.js";
import { fixtureModel, freePort, repoRoot, seedMlflow, startDataApi, startMlflow, startRealModelApi, startUi, type Proc } from "./support/processes.js";

/**
 * The UI end to end in headless Chromium, against real servers: MLflow (real server, versions
 * registered by the mlflow Python client), the data API (the real built process) and a model
 * API: either a real stand-in server of the same contract (test/support/model-api-standin.ts),
 * or the real services/model-api serving the `production` version it resolves in this MLflow
 * (each version then holds a real ONNX model). Switching is this one line; the test compares
 * the page with whatever the model API answers, so nothing else changes.
 */
const MODEL_API = (process.env.UI_E2E_MODEL_API ?? "real") as "stand-in" | "real";

async function startModelApi(): Promise<ModelApiHandle> {
    if (MODEL_API === "stand-in") return startStandInModelApi({ version: "3" });
    const real = await startRealModelApi(mlflow.url);
    return { url: real.url, close: () => real.stop() };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const artifacts = path.join(repoRoot, "test-results", "ui");
const docs = path.join(repoRoot, "services", "ui", "docs");
const updateDocs = process.env.UPDATE_UI_SCREENSHOTS === "1";

let mlflow: Awaited<ReturnType<typeof startMlflow>>;
let dataApi: Proc;
let modelApi: ModelApiHandle;
let noModelApi: ModelApiHandle;
let ui: Proc;
let uiNoModel: Proc;
let uiModelApiDown: Proc;
let browser: Browser;
let seeded: ReturnType<typeof seedMlflow>;
const loadTimes: Record<string, number> = {};

async function screenshot(page: Page, name: string) {
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
    if (updateDocs) fs.copyFileSync(path.join(artifacts, `${name}.png`), path.join(docs, `${name}.png`));
}

/** Opens a page in a fresh context and records how long it takes until `ready` is visible. */
async function open(base: string, route: string, readyTestId: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(`${base}/#/${route}`);
    await page.getByTestId(readyTestId).first().waitFor({ state: "visible", timeout: 15_000 });
    if (readyTestId !== "failure" && readyTestId !== "no-versions") loadTimes[route] = Math.min(loadTimes[route] ?? Infinity, Math.round(performance.now() - t0));
    return page;
}

beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (scripts/test.d/30-ui.sh does)`);
    const t0 = performance.now();
    [mlflow, dataApi, noModelApi] = await Promise.all([
        startMlflow(),
        startDataApi({ DATA_API_BATCHES: "5", DATA_API_BATCH_SIZE: "200", DATA_API_INTERVAL_SECONDS: "0", DATA_API_DIRTY_SHARE: "0.03" }),
        startStandInModelApi({ version: null }),
    ]);
    console.log(`e2e setup: MLflow and data API up in ${Math.round(performance.now() - t0)} ms`);
    const t1 = performance.now();
    seeded = seedMlflow(mlflow.venv, mlflow.url, "realtor-price", MODEL_API === "real" ? fixtureModel() : undefined);
    modelApi = await startModelApi();
    console.log(`e2e setup: 3 model versions registered and the ${MODEL_API} model API ready in ${Math.round(performance.now() - t1)} ms`);
    // What the ingest DAG would do: group 1 takes three batches, group 2 one.
    for (const q of ["group_number=1&day=Tuesday", "group_number=1&day=Tuesday", "group_number=1&day=Tuesday", "group_number=2&day=Wednesday"]) {
        const r = await fetch(`${dataApi.url}/data?${q}`);
        expect(r.status).toBe(200);
    }
    const closedPort = await freePort();
    [ui, uiNoModel, uiModelApiDown] = await Promise.all([
        startUi({ MODEL_API_URL: modelApi.url, MLFLOW_URL: mlflow.url, DATA_API_URL: dataApi.url }),
        // Nothing registered under this name yet, no model served: a platform before its first training run.
        startUi({ MODEL_API_URL: noModelApi.url, MLFLOW_URL: mlflow.url, DATA_API_URL: dataApi.url, MODEL_NAME: "not-trained-yet" }),
        // Every upstream down.
        startUi({ MODEL_API_URL: `http://127.0.0.1:${closedPort}`, MLFLOW_URL: `http://127.0.0.1:${closedPort}`, DATA_API_URL: `http://127.0.0.1:${closedPort}` }),
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
});

afterAll(async () => {
    if (Object.keys(loadTimes).length) {
        console.log(`page load, fresh browser context, until the page's data is shown (ms): ${Object.entries(loadTimes).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    }
    await browser?.close();
    await Promise.allSettled([ui?.stop(), uiNoModel?.stop(), uiModelApiDown?.stop(), dataApi?.stop(), mlflow?.stop(), modelApi?.close(), noModelApi?.close()]);
});

describe("Predict page", () => {
    it("fills the form, submits, and shows the price and model version the model API answers", async () => {
        const page = await open(ui.url, "predict", "predict-form");
        const form = page.getByTestId("predict-form");
        await form.locator('input[name="house_size"]').fill("2400");
        await form.locator('input[name="bed"]').fill("4");
        await form.locator('input[name="bath"]').fill("3");
        await form.locator('input[name="city"]').fill("Los Angeles");
        await form.locator('input[name="state"]').fill("California");
        await form.locator('input[name="zip_code"]').fill("90026");
        await form.locator('select[name="status"]').selectOption("sold");
        await form.getByRole("button", { name: "Predict price" }).click();
        await page.getByTestId("price").waitFor();

        // Ask the model API directly with the same listing: the page must show exactly its answer.
        const features = {
            status: "sold", house_size: 2400, acre_lot: 0.25, bed: 4, bath: 3, prev_sold_date: "2022-03-15",
            street: "123 elm st", city: "Los Angeles", state: "California", zip_code: "90026", brokered_by: 101,
        };
        const direct = (await (await fetch(`${modelApi.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ features }) })).json()) as {
            price: number;
            model: { name: string; version: string };
        };
        expect(direct.price).toBeGreaterThan(10_000);
        const shown = await page.getByTestId("price").textContent();
        expect(shown).toBe(direct.price.toLocaleString("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 }));
        expect(await page.getByTestId("model-version").textContent()).toBe(direct.model.version);
        // The real model API serves what the Models page marks production (the stand-in has a fixed version).
        if (MODEL_API === "real") expect(direct.model.version).toBe("2");
        expect(await page.getByTestId("model").textContent()).toContain(direct.model.name);
        await screenshot(page, "predict");
        await page.context().close();
    });

    it("shows a validation message next to a bad field and sends nothing", async () => {
        const page = await open(ui.url, "predict", "predict-form");
        let sent = 0;
        page.on("request", (r) => {
            if (r.url().includes("/api/predict")) sent++;
        });
        await page.locator('input[name="zip_code"]').fill("12ab");
        await page.locator('input[name="house_size"]').fill("-40");
        await page.getByRole("button", { name: "Predict price" }).click();
        await expect.poll(() => page.getByTestId("error-zip_code").textContent()).toBe("ZIP code must be 5 digits, e.g. 62704");
        expect(await page.getByTestId("error-house_size").textContent()).toBe("House size (sq ft) cannot be negative");
        expect(await page.locator('input[name="zip_code"]').getAttribute("aria-invalid")).toBe("true");
        expect(await page.getByTestId("prediction").count()).toBe(0);
        expect(sent).toBe(0);
        await screenshot(page, "predict-validation");
        await page.context().close();
    });

    it("shows the model API's 422 for a field only it checks (a sale date in the future) next to that field", async () => {
        const page = await open(ui.url, "predict", "predict-form");
        await page.locator('input[name="prev_sold_date"]').fill("2099-01-01");
        await page.getByRole("button", { name: "Predict price" }).click();
        await page.getByTestId("error-prev_sold_date").waitFor();
        expect(await page.getByTestId("error-prev_sold_date").textContent()).toMatch(/must be a real date YYYY-MM-DD between 1900-01-01 and \d{4}-\d{2}-\d{2} \(got "2099-01-01"\)/);
        expect(await page.getByTestId("failure").getAttribute("data-code")).toBe("INVALID_INPUT");
        expect(await page.getByTestId("failure").textContent()).toContain("Some fields need a fix");
        await page.context().close();
    });

    it("says there is no model yet, and what to do, when the model API answers 503", async () => {
        const page = await open(uiNoModel.url, "predict", "predict-form");
        await page.getByRole("button", { name: "Predict price" }).click();
        await page.getByTestId("failure").waitFor();
        expect(await page.getByTestId("failure").getAttribute("data-code")).toBe("NO_MODEL");
        const text = await page.getByTestId("failure").textContent();
        expect(text).toContain("No model yet");
        expect(text).toContain("Run the train DAG in Airflow");
        await screenshot(page, "predict-no-model");
        await page.context().close();
    });

    it("says the model API is down, and what to check, when nothing answers", async () => {
        const page = await open(uiModelApiDown.url, "predict", "predict-form");
        await page.getByRole("button", { name: "Predict price" }).click();
        await page.getByTestId("failure").waitFor();
        expect(await page.getByTestId("failure").getAttribute("data-code")).toBe("MODEL_API_UNREACHABLE");
        const text = await page.getByTestId("failure").textContent();
        expect(text).toContain("The model API is down");
        expect(text).toContain("connection refused");
        await page.context().close();
    });
});

describe("Models page", () => {
    it("lists the versions registered in MLflow with their metrics, marks production, and charts MAE", async () => {
        const page = await open(ui.url, "models", "versions");
        const rows = page.locator('[data-testid^="version-"]');
        expect(await rows.count()).toBe(seeded.length);
        for (const v of seeded) {
            const row = page.getByTestId(`version-${v.version}`);
            expect(await row.getByTestId("mae").textContent()).toBe(v.metrics.mae!.toLocaleString("en-US", { maximumFractionDigits: 0 }));
            expect(await row.textContent()).toContain(v.run_name);
        }
        expect(await page.getByTestId("version-2").getByTestId("production").textContent()).toBe("production");
        expect(await page.getByTestId("production").count()).toBe(1);
        expect(await page.getByTestId("mae-chart-bar").count()).toBe(seeded.length);
        expect(await page.locator(".bar.hl").count()).toBe(1);
        await screenshot(page, "models");
        await page.context().close();
    });
});

describe("Models page, before training and with MLflow down", () => {
    it("says no version is registered yet and what produces one", async () => {
        const page = await open(uiNoModel.url, "models", "no-versions");
        expect(await page.getByTestId("no-versions").textContent()).toContain("Run the train DAG in Airflow");
        await page.context().close();
    });

    it("says MLflow is not answering", async () => {
        const page = await open(uiModelApiDown.url, "models", "failure");
        expect(await page.getByTestId("failure").getAttribute("data-code")).toBe("MLFLOW_UNREACHABLE");
        expect(await page.getByTestId("failure").textContent()).toContain("MLflow is not answering (connection refused)");
        await page.context().close();
    });
});

describe("Data page", () => {
    it("says the data API is not answering", async () => {
        const page = await open(uiModelApiDown.url, "data", "failure");
        expect(await page.getByTestId("failure").getAttribute("data-code")).toBe("DATA_API_UNREACHABLE");
        expect(await page.getByTestId("failure").textContent()).toContain("The data API is not answering (connection refused)");
        await page.context().close();
    });

    it("shows batches and rows per batch per group, and the price distribution, from the data API's metrics", async () => {
        const page = await open(ui.url, "data", "groups");
        const g1 = page.getByTestId("group-1-Tuesday");
        expect(await g1.getByTestId("current-batch").textContent()).toBe("3");
        expect(await g1.getByTestId("rows").textContent()).toBe("#1: 200, #2: 200, #3: 200");
        expect(await page.getByTestId("group-2-Wednesday").getByTestId("current-batch").textContent()).toBe("1");

        const metrics = await (await fetch(`${dataApi.url}/metrics`)).text();
        const count = Number(/^data_api_listing_price_dollars_count (\d+)/m.exec(metrics)![1]);
        expect(count).toBeGreaterThan(700); // 800 rows served, a few dirty ones have no or a negative price
        expect(await page.getByTestId("price-chart").locator("figcaption").textContent()).toContain(`${count} listings served`);
        expect(await page.getByTestId("price-chart-bar").count()).toBe(12);
        await screenshot(page, "data");
        await page.context().close();
    });
});

describe("UI server API", () => {
    it("/api/models mirrors MLflow's registry; /api/predict passes the model API's 422 on; /api/nope is a 404 with a code", async () => {
        const models = (await (await fetch(`${ui.url}/api/models`)).json()) as { production: string; versions: { version: string; metrics: Record<string, number> }[] };
        expect(models.production).toBe("2");
        expect(models.versions.map((v) => [v.version, v.metrics])).toEqual(seeded.map((v) => [v.version, v.metrics]));
        const bad = await fetch(`${ui.url}/api/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ features: { status: "pending", state: "" } }) });
        expect(bad.status).toBe(422);
        const body = (await bad.json()) as { code: string; errors: { field: string }[] };
        expect(body.code).toBe("INVALID_INPUT");
        expect(body.errors.map((e) => e.field).sort()).toEqual(["features.state", "features.status"]);
        const missing = await fetch(`${ui.url}/api/nope`);
        expect(missing.status).toBe(404);
        expect(((await missing.json()) as { code: string }).code).toBe("NOT_FOUND");
    });
});
