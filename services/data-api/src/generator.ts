import { STATES, STREET_NAMES, STREET_SUFFIXES, type StateInfo } from "./geo.js";
import type { Listing } from "./listing.js";
import { Rng } from "./random.js";

export interface GeneratorOptions {
    readonly seed: number;
    /** Share of rows with at least one defect the cleaning step must catch, in [0, 1]. */
    readonly dirtyShare: number;
    /**
     * Latest possible prev_sold_date. Fixed rather than "today" so that the same seed gives the
     * same data on any day; it lies in the past, so every clean date is before today.
     */
    readonly latestSoldDate?: string;
}

const DEFAULT_LATEST_SOLD = "2025-06-30";
const EARLIEST_SOLD = Date.UTC(1990, 0, 1);
const DAY_MS = 86_400_000;

// Weights roughly follow the listings file (many Florida/Texas/California rows).
const STATE_WEIGHTS = new Map<string, number>([
    ["California", 3], ["Texas", 3], ["Florida", 3], ["New York", 2], ["Illinois", 2], ["Pennsylvania", 2], ["Ohio", 2],
    ["Georgia", 1.5], ["North Carolina", 1.5], ["Michigan", 1.5], ["Arizona", 1.5], ["Washington", 1.5], ["Colorado", 1], ["Massachusetts", 1],
]);
const TOTAL_WEIGHT = [...STATE_WEIGHTS.values()].reduce((a, b) => a + b, 0);

function pickState(rng: Rng): StateInfo {
    let r = rng.next() * TOTAL_WEIGHT;
    for (const s of STATES) {
        r -= STATE_WEIGHTS.get(s.name) ?? 1;
        if (r <= 0) return s;
    }
    return STATES[STATES.length - 1]!;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** One clean, realistic listing. */
function cleanListing(rng: Rng, latestSoldMs: number): Listing {
    const state = pickState(rng);
    const city = rng.pick(Object.keys(state.cities));
    const zip = rng.pick(state.cities[city]!);
    const r = rng.next();
    const status = r < 0.62 ? "for_sale" : r < 0.95 ? "sold" : "ready_to_build";

    const houseSize = Math.round(Math.min(12_000, Math.max(450, rng.logNormal(1750, 0.38))));
    const bed = Math.min(8, Math.max(1, Math.round(houseSize / 600 + 0.6 * rng.normal())));
    const bath = Math.min(7, Math.max(1, Math.round(2 * (bed * 0.65 + 0.5 * rng.normal())) / 2));
    const acreLot = round(Math.min(40, Math.max(0.02, rng.logNormal(0.2, 1.0))), 2);

    // Price: the state's level per square foot, more for extra rooms, plus land; log-normal noise.
    const rooms = 1 + 0.05 * (bed - 3) + 0.07 * (bath - 2);
    const land = acreLot * state.pricePerSqft * 600;
    const price = Math.round((state.pricePerSqft * houseSize * rooms + land) * rng.logNormal(1, 0.22) / 100) * 100;

    const soldMs = rng.next() < 0.72 ? EARLIEST_SOLD + Math.floor(rng.next() * ((latestSoldMs - EARLIEST_SOLD) / DAY_MS)) * DAY_MS : null;
    return {
        brokered_by: rng.next() < 0.98 ? rng.int(1, 110_000) : null,
        status,
        price,
        bed,
        bath,
        acre_lot: acreLot,
        street: `${rng.int(1, 9999)} ${rng.pick(STREET_NAMES)} ${rng.pick(STREET_SUFFIXES)}`,
        city,
        state: state.name,
        zip_code: zip,
        house_size: houseSize,
        prev_sold_date: soldMs === null ? null : isoDate(soldMs),
    };
}

/** The defects the cleaning step has to catch; each dirty row gets exactly one. */
export const DEFECTS = ["negative_price", "missing_price", "negative_house_size", "negative_bed", "missing_state", "impossible_date", "future_date"] as const;
export type Defect = (typeof DEFECTS)[number];

function makeDirty(row: Listing, defect: Defect, rng: Rng): Listing {
    switch (defect) {
        case "negative_price":
            return { ...row, price: -Math.abs(row.price ?? 100_000) };
        case "missing_price":
            return { ...row, price: null };
        case "negative_house_size":
            return { ...row, house_size: -Math.abs(row.house_size ?? 1000) };
        case "negative_bed":
            return { ...row, bed: -rng.int(1, 3) };
        case "missing_state":
            return { ...row, state: null };
        case "impossible_date":
            return { ...row, prev_sold_date: rng.pick(["2021-02-30", "2019-13-01", "2020-04-31", "0000-00-00"]) };
        case "future_date":
            return { ...row, prev_sold_date: `${rng.int(2090, 2099)}-0${rng.int(1, 9)}-1${rng.int(0, 9)}` };
    }
}

/** `count` listings from `seed`: deterministic, realistic, with about `dirtyShare` of them dirty. */
export function generateListings(count: number, opts: GeneratorOptions): Listing[] {
    const rng = new Rng(opts.seed);
    const latestSoldMs = Date.parse(`${opts.latestSoldDate ?? DEFAULT_LATEST_SOLD}T00:00:00Z`);
    const rows: Listing[] = new Array(count);
    for (let i = 0; i < count; i++) {
        const row = cleanListing(rng, latestSoldMs);
        rows[i] = rng.next() < opts.dirtyShare ? makeDirty(row, rng.pick(DEFECTS), rng) : row;
    }
    return rows;
}
