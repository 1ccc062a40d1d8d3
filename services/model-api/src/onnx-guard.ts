import { Reader } from "protobufjs/minimal";

/**
 * A model is untrusted input. ONNX lets a tensor keep its data outside the model file
 * (`data_location: EXTERNAL`, `external_data: {location: <path>}`), and ONNX Runtime follows
 * such a path on the serving machine: a crafted model.onnx could read any file the process can
 * and return it as "weights". Our models always embed their tensors, so any external reference
 * is refused before a session is created.
 *
 * This walks the protobuf wire format (protobufjs's Reader) through every place a TensorProto
 * can sit, per onnx.proto: graph initializers and sparse initializers, node attributes (tensor,
 * tensors, sparse tensors) and their subgraphs (If/Loop/Scan bodies), functions, training info.
 */

type Kind = "model" | "graph" | "node" | "attribute" | "tensor" | "sparse" | "function" | "training" | "entry";

/** For each message kind: field number -> kind of the embedded message at that field. */
const CHILDREN: Record<Kind, Readonly<Record<number, Kind>>> = {
    model: { 7: "graph", 20: "training", 25: "function" }, // ModelProto.graph, training_info, functions
    training: { 1: "graph", 2: "graph" }, // TrainingInfoProto.initialization, algorithm
    graph: { 1: "node", 5: "tensor", 15: "sparse" }, // GraphProto.node, initializer, sparse_initializer
    function: { 7: "node" }, // FunctionProto.node
    node: { 5: "attribute" }, // NodeProto.attribute
    attribute: { 5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse" }, // t, g, tensors, graphs, sparse_tensor(s)
    sparse: { 1: "tensor", 2: "tensor" }, // SparseTensorProto.values, indices
    tensor: { 13: "entry" }, // TensorProto.external_data
    entry: {},
};
const TENSOR_NAME = 8;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const LENGTH_DELIMITED = 2;
const MAX_DEPTH = 64;

export class UntrustedModelError extends Error {}

/** Every tensor of `model` whose data is stored outside it, as `tensor 'name' -> location`. Throws on a malformed model. */
export function externalDataReferences(model: Uint8Array): string[] {
    const found: string[] = [];
    walk(model, "model", 0, found);
    return found;
}

/** Refuses a model that references external data. */
export function assertSelfContained(model: Uint8Array): void {
    const refs = externalDataReferences(model);
    if (refs.length > 0) {
        throw new UntrustedModelError(`model refused: ${refs.length} tensor(s) reference data outside the model file (${refs.slice(0, 3).join("; ")})`);
    }
}

function walk(buf: Uint8Array, kind: Kind, depth: number, found: string[]): Record<string, string> {
    if (depth > MAX_DEPTH) throw new UntrustedModelError("model refused: messages nested too deeply");
    const reader = Reader.create(buf);
    let name = "";
    let external = false;
    const entry: Record<string, string> = {};
    const locations: string[] = [];
    while (reader.pos < reader.len) {
        const tag = reader.uint32();
        const field = tag >>> 3;
        const wire = tag & 7;
        const child = CHILDREN[kind][field];
        if (wire === LENGTH_DELIMITED && child) {
            const sub = walk(reader.bytes(), child, depth + 1, found);
            if (child === "entry" && sub.key === "location") locations.push(sub.value ?? "");
            if (child === "entry") external = true;
        } else if (kind === "tensor" && field === TENSOR_NAME && wire === LENGTH_DELIMITED) {
            name = reader.string();
        } else if (kind === "tensor" && field === TENSOR_DATA_LOCATION && wire === 0) {
            // Read unconditionally: `external ||= reader.int32()` would skip the read and desync.
            const location = reader.int32();
            if (location === DATA_LOCATION_EXTERNAL) external = true;
        } else if (kind === "entry" && (field === ENTRY_KEY || field === ENTRY_VALUE) && wire === LENGTH_DELIMITED) {
            entry[field === ENTRY_KEY ? "key" : "value"] = reader.string();
        } else {
            reader.skipType(wire);
        }
    }
    if (kind === "tensor" && external) found.push(`tensor '${name}' -> ${locations.length ? `'${locations.join("', '")}'` : "external data"}`);
    return entry;
}
