import { useState } from "preact/hooks";
import { ApiFailure, predict, usd, type Prediction } from "../api";

type Kind = "number" | "text" | "zip" | "date" | "status";
interface FieldDef {
    name: string;
    label: string;
    kind: Kind;
    required?: boolean;
    step?: string;
}

// The listing fields (config/listing.json) minus the price, in the order a person fills them in.
const FIELDS: FieldDef[] = [
    { name: "status", label: "Status", kind: "status", required: true },
    { name: "house_size", label: "House size (sq ft)", kind: "number", step: "1" },
    { name: "acre_lot", label: "Lot (acres)", kind: "number", step: "0.01" },
    { name: "bed", label: "Bedrooms", kind: "number", step: "1" },
    { name: "bath", label: "Bathrooms", kind: "number", step: "0.5" },
    { name: "prev_sold_date", label: "Previously sold", kind: "date" },
    { name: "street", label: "Street", kind: "text" },
    { name: "city", label: "City", kind: "text" },
    { name: "state", label: "State", kind: "text", required: true },
    { name: "zip_code", label: "ZIP code", kind: "zip" },
    { name: "brokered_by", label: "Broker id", kind: "number", step: "1" },
];

// The first payload of the old FastAPI server's users (design.md).
const DEFAULTS: Record<string, string> = {
    brokered_by: "101", status: "for_sale", bed: "3", bath: "2", acre_lot: "0.25", street: "123 elm st",
    city: "springfield", state: "illinois", zip_code: "62704", house_size: "1500", prev_sold_date: "2022-03-15",
};

/** Checks a person can be told about before anything is sent; the model API checks everything again. */
function validate(values: Record<string, string>): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const f of FIELDS) {
        const v = (values[f.name] ?? "").trim();
        if (v === "") {
            if (f.required) errors[f.name] = `${f.label} is required`;
            continue;
        }
        if (f.kind === "number") {
            const n = Number(v);
            if (!Number.isFinite(n)) errors[f.name] = `${f.label} must be a number`;
            else if (n < 0) errors[f.name] = `${f.label} cannot be negative`;
        }
        if (f.kind === "zip" && !/^\d{5}$/.test(v)) errors[f.name] = "ZIP code must be 5 digits, e.g. 62704";
    }
    return errors;
}

function toFeatures(values: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of FIELDS) {
        const v = (values[f.name] ?? "").trim();
        out[f.name] = v === "" ? null : f.kind === "number" ? Number(v) : v;
    }
    return out;
}

export function PredictPage() {
    const [values, setValues] = useState<Record<string, string>>(DEFAULTS);
    const [errors, setErrors] = useState<Record<string, string>>({});
    const [failure, setFailure] = useState<ApiFailure | null>(null);
    const [result, setResult] = useState<Prediction | null>(null);
    const [busy, setBusy] = useState(false);

    const set = (name: string, value: string) => {
        setValues({ ...values, [name]: value });
        if (errors[name]) {
            const { [name]: _, ...rest } = errors;
            setErrors(rest);
        }
    };

    async function submit(e: Event) {
        e.preventDefault();
        setFailure(null);
        setResult(null);
        const local = validate(values);
        setErrors(local);
        if (Object.keys(local).length) return;
        setBusy(true);
        try {
            setResult(await predict(toFeatures(values)));
        } catch (err) {
            const f = err instanceof ApiFailure ? err : new ApiFailure(0, "ERROR", String(err));
            if (f.errors.length) {
                // The model API names fields as features.<name>; show each message next to its field.
                const byField: Record<string, string> = {};
                for (const fe of f.errors) byField[fe.field.replace(/^features\./, "")] = `${fe.message}`;
                setErrors(byField);
            }
            setFailure(f);
        } finally {
            setBusy(false);
        }
    }

    return (
        <>
            <h1>Predict a listing's price</h1>
            {failure && <FailureBanner failure={failure} />}
            <div class="card">
                <form class="listing" onSubmit={submit} noValidate data-testid="predict-form">
                    {FIELDS.map((f) => (
                        <label key={f.name}>
                            {f.label}
                            {f.kind === "status" ? (
                                <select name={f.name} value={values[f.name]} onChange={(e) => set(f.name, (e.target as HTMLSelectElement).value)}>
                                    <option value="for_sale">for sale</option>
                                    <option value="sold">sold</option>
                                    <option value="ready_to_build">ready to build</option>
                                </select>
                            ) : (
                                <TextInput
                                    name={f.name}
                                    kind={f.kind}
                                    value={values[f.name] ?? ""}
                                    error={errors[f.name]}
                                    onInput={(v) => set(f.name, v)}
                                />
                            )}
                            {errors[f.name] && (
                                <p class="field-error" id={`err-${f.name}`} data-testid={`error-${f.name}`} role="alert">
                                    {errors[f.name]}
                                </p>
                            )}
                        </label>
                    ))}
                    <div class="actions">
                        <button type="submit" disabled={busy}>{busy ? "Predicting…" : "Predict price"}</button>
                    </div>
                </form>
            </div>
            {result && (
                <div class="card result" data-testid="prediction">
                    <span class="price" data-testid="price">{usd(result.price)}</span>
                    <span class="muted" data-testid="model">
                        model <strong>{result.model.name}</strong> version <strong data-testid="model-version">{result.model.version}</strong>
                    </span>
                </div>
            )}
        </>
    );
}

function FailureBanner({ failure }: { failure: ApiFailure }) {
    const title =
        failure.code === "MODEL_API_UNREACHABLE"
            ? "The model API is down"
            : failure.code === "NO_MODEL"
              ? "No model yet"
              : failure.errors.length
                ? "Some fields need a fix"
                : "The prediction failed";
    return (
        <div class={failure.code === "NO_MODEL" ? "alert warn" : "alert"} role="alert" data-testid="failure" data-code={failure.code}>
            <strong>{title}</strong>
            {failure.errors.length ? "See the messages next to the fields below." : failure.message}
        </div>
    );
}

function TextInput(props: { name: string; kind: Kind; value: string; error?: string; onInput: (v: string) => void }) {
    const common = {
        name: props.name,
        value: props.value,
        "aria-invalid": props.error ? ("true" as const) : undefined,
        "aria-describedby": props.error ? `err-${props.name}` : undefined,
        onInput: (e: Event) => props.onInput((e.target as HTMLInputElement).value),
    };
    if (props.kind === "date") return <input type="date" {...common} />;
    return <input type="text" inputMode={props.kind === "number" ? "decimal" : props.kind === "zip" ? "numeric" : undefined} {...common} />;
}
