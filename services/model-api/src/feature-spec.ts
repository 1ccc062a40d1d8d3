import * as ort from "onnxruntime-node";
import type { NormalisedListing } from "./listing";

/**
 * The training/serving contract (config/feature-spec.example.json): one [N,1] ONNX input
 * per entry, built from a normalised listing field; the only transforms allowed outside
 * the graph are the ones named here.
 */
export interface FeatureSpec {
    schema_version: 1;
    model_name: string;
    inputs: { name: string; dtype: "float32" | "string"; from: string; transform: "none" | "year" }[];
    output: { name: string; dtype: "float32"; transform: "none" | "expm1" };
}

/** Parses and checks a feature_spec.json; throws naming the first bad entry. */
export function parseFeatureSpec(text: string): FeatureSpec {
    const spec = JSON.parse(text) as FeatureSpec;
    if (spec.schema_version !== 1) throw new Error(`feature spec: schema_version must be 1 (got ${String(spec.schema_version)})`);
    if (!Array.isArray(spec.inputs) || spec.inputs.length === 0) throw new Error("feature spec: 'inputs' must be a non-empty list");
    spec.inputs.forEach((i, k) => {
        if (typeof i.name !== "string" || typeof i.from !== "string") throw new Error(`feature spec: inputs[${k}] needs 'name' and 'from'`);
        if (i.dtype !== "float32" && i.dtype !== "string") throw new Error(`feature spec: inputs[${k}].dtype must be float32 or string (got ${String(i.dtype)})`);
        if (i.transform !== "none" && i.transform !== "year") throw new Error(`feature spec: inputs[${k}].transform must be none or year (got ${String(i.transform)})`);
    });
    if (!spec.output || typeof spec.output.name !== "string") throw new Error("feature spec: 'output.name' is required");
    if (spec.output.transform !== "none" && spec.output.transform !== "expm1") {
        throw new Error(`feature spec: output.transform must be none or expm1 (got ${String(spec.output.transform)})`);
    }
    return spec;
}

/** Builds the ONNX feeds for a batch of normalised listings. */
export function buildFeeds(spec: FeatureSpec, rows: NormalisedListing[]): Record<string, ort.Tensor> {
    const n = rows.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of spec.inputs) {
        if (input.dtype === "float32") {
            const data = new Float32Array(n);
            for (let r = 0; r < n; r++) {
                const v = rows[r]![input.from];
                if (input.transform === "year") {
                    data[r] = typeof v === "string" ? Number(v.slice(0, 4)) : NaN;
                } else {
                    data[r] = typeof v === "number" ? v : NaN;
                }
            }
            feeds[input.name] = new ort.Tensor("float32", data, [n, 1]);
        } else {
            const data: string[] = new Array(n);
            for (let r = 0; r < n; r++) {
                const v = rows[r]![input.from];
                data[r] = v === null || v === undefined ? "" : String(v);
            }
            feeds[input.name] = new ort.Tensor("string", data, [n, 1]);
        }
    }
    return feeds;
}

/** Reads the output tensor into prices, applying the spec's output transform. */
export function readPrices(spec: FeatureSpec, output: ort.Tensor): number[] {
    const data = output.data as Float32Array;
    const prices = new Array<number>(data.length);
    for (let i = 0; i < data.length; i++) {
        prices[i] = spec.output.transform === "expm1" ? Math.expm1(data[i]!) : data[i]!;
    }
    return prices;
}
