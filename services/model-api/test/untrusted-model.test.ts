import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { assertSelfContained, externalDataReferences, UntrustedModelError } from "../src/onnx-guard";
import { json, metricValue, post, provided, SEED_PAYLOADS, startApp, waitFor } from "./support/helpers";

/**
 * A model is untrusted input: it must not reach outside its own bytes (ONNX external data would
 * make ONNX Runtime read files of the serving machine), nor be larger than MODEL_MAX_BYTES.
 * The models are real ONNX files written by the onnx library (test/fixtures/untrusted_models.py).
 */
describe("the ONNX guard", () => {
    const untrusted = provided("untrusted");
    const fixtures = provided("fixtures");
    const read = (p: string) => fs.readFileSync(p);

    it("finds nothing to refuse in the real fixture models", () => {
        for (const v of [fixtures.v1, fixtures.v2]) {
            expect(externalDataReferences(read(path.join(v, "model.onnx")))).toEqual([]);
            expect(() => assertSelfContained(read(path.join(v, "model.onnx")))).not.toThrow();
        }
    });

    it("names every tensor stored outside the file, with its location (the crafted one included)", () => {
        const refs = externalDataReferences(read(path.join(untrusted, "external/model.onnx")));
        expect(refs).toContain("tensor 'leak' -> '/etc/hostname'");
        // onnx moved the model's own tensors to weights.bin as well.
        expect(refs.filter((r) => r.endsWith("-> 'weights.bin'")).length).toBeGreaterThan(0);
        expect(() => assertSelfContained(read(path.join(untrusted, "external/model.onnx")))).toThrow(UntrustedModelError);
        expect(() => assertSelfContained(read(path.join(untrusted, "external/model.onnx")))).toThrow(
            /^model refused: \d+ tensor\(s\) reference data outside the model file/,
        );
    });

    it("finds a reference hidden in a subgraph (an If node's branch)", () => {
        expect(externalDataReferences(read(path.join(untrusted, "nested/model.onnx")))).toEqual(["tensor 'hidden' -> '../../etc/passwd'"]);
    });

    it("fails on bytes that are not a model instead of passing them on", () => {
        expect(() => externalDataReferences(Buffer.from([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow();
    });
});

describe("model-api given an untrusted local model", () => {
    async function loadFailure(env: Record<string, string>, name: string) {
        const { app, url } = await startApp(env, name);
        try {
            await waitFor("load failure", async () => (await metricValue(url, "model_api_model_load_failures_total", { source: "local" })) === 1);
            const ready = await fetch(`${url}/ready`);
            const predict = await post(`${url}/predict`, SEED_PAYLOADS[0]);
            return { ready: ready.status, reason: (await json(ready)).reason as string, predict: predict.status, code: predict.body.code };
        } finally {
            await app.close();
        }
    }

    it("refuses a model with external data: not ready, 503 NO_MODEL, the reason names the tensor", async () => {
        const r = await loadFailure({ MODEL_PATH: path.join(provided("untrusted"), "external") }, "untrusted-external");
        expect(r).toMatchObject({ ready: 503, predict: 503, code: "NO_MODEL" });
        expect(r.reason).toContain("tensor 'leak' -> '/etc/hostname'");
    });

    it("refuses a model above MODEL_MAX_BYTES before reading it", async () => {
        const size = fs.statSync(path.join(provided("fixtures").v1, "model.onnx")).size;
        expect(size).toBeGreaterThan(4096);
        const r = await loadFailure({ MODEL_PATH: provided("fixtures").v1, MODEL_MAX_BYTES: "4096" }, "untrusted-size");
        expect(r).toMatchObject({ ready: 503, predict: 503 });
        expect(r.reason).toContain(`is larger than the 4096-byte limit (MODEL_MAX_BYTES): ${size} bytes; refused`);
    });

    it("serves the same model when the limit allows it", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mapi-cap-"));
        try {
            for (const f of ["model.onnx", "feature_spec.json"]) fs.copyFileSync(path.join(provided("fixtures").v1, f), path.join(dir, f));
            const size = fs.statSync(path.join(dir, "model.onnx")).size;
            const { app, url } = await startApp({ MODEL_PATH: dir, MODEL_MAX_BYTES: String(size) }, "untrusted-size-ok");
            try {
                await waitFor("ready", async () => (await fetch(`${url}/ready`)).status === 200);
                expect((await post(`${url}/predict`, SEED_PAYLOADS[0])).status).toBe(200);
            } finally {
                await app.close();
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
