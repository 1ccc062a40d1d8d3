import { describe, expect, it } from "vitest";
import { generateListings } from "../src/generator.js";
import type { Listing } from "../src/listing.js";

/**
 * ZIP code prefixes (first three digits) per state, from the USPS's ranges. Written out here,
 * independently of the generator's city table, so a wrong ZIP in that table fails the test.
 */
const ZIP3: Record<string, [number, number][]> = {
    California: [[900, 961]], "New York": [[100, 149]], Massachusetts: [[10, 27]], Washington: [[980, 994]],
    Colorado: [[800, 816]], Arizona: [[850, 865]], Florida: [[320, 349]], "North Carolina": [[270, 289]],
    Illinois: [[600, 629]], Georgia: [[300, 319], [398, 399]], Texas: [[750, 799], [885, 885]],
    Pennsylvania: [[150, 196]], Michigan: [[480, 499]], Ohio: [[430, 459]],
};
const TODAY = new Date().toISOString().slice(0, 10);

/** Independent of the generator: is this a row the cleaning step must drop? */
function isDirty(r: Listing): boolean {
    const negative = (["price", "bed", "bath", "acre_lot", "house_size", "brokered_by"] as const).some((f) => typeof r[f] === "number" && r[f]! < 0);
    if (negative || r.price === null || r.price === 0 || !r.state) return true;
    if (r.prev_sold_date !== null) {
        const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(r.prev_sold_date);
        if (!m) return true;
        const d = new Date(`${r.prev_sold_date}T00:00:00Z`);
        if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== r.prev_sold_date) return true;
        if (r.prev_sold_date > TODAY || r.prev_sold_date < "1900-01-01") return true;
    }
    return false;
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
};
function pearson(x: number[], y: number[]): number {
    const mx = x.reduce((a, b) => a + b, 0) / x.length;
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    let sxy = 0, sxx = 0, syy = 0;
    for (let i = 0; i < x.length; i++) {
        sxy += (x[i]! - mx) * (y[i]! - my);
        sxx += (x[i]! - mx) ** 2;
        syy += (y[i]! - my) ** 2;
    }
    return sxy / Math.sqrt(sxx * syy);
}

const N = 20_000;
const rows = generateListings(N, { seed: 1234, dirtyShare: 0.05 });
const clean = rows.filter((r) => !isDirty(r));

describe("generator: determinism", () => {
    it("same seed, same data; another seed, other data", () => {
        expect(generateListings(500, { seed: 99, dirtyShare: 0.05 })).toEqual(generateListings(500, { seed: 99, dirtyShare: 0.05 }));
        const other = generateListings(500, { seed: 100, dirtyShare: 0.05 });
        const same = generateListings(500, { seed: 99, dirtyShare: 0.05 });
        const equalRows = other.filter((r, i) => JSON.stringify(r) === JSON.stringify(same[i])).length;
        expect(equalRows).toBe(0);
    });
});

describe("generator: dirty rows", () => {
    it.each([0, 0.02, 0.05, 0.2])("the share of rows a cleaning step must drop is the configured %f (within 4 standard errors)", (share) => {
        const n = 20_000;
        const dirty = generateListings(n, { seed: 5, dirtyShare: share }).filter(isDirty).length / n;
        const se = Math.sqrt((share * (1 - share)) / n);
        expect(Math.abs(dirty - share)).toBeLessThanOrEqual(4 * se + 1e-9);
    });

    it("has every kind of defect: negatives, missing values, impossible and future dates", () => {
        const dirty = rows.filter(isDirty);
        expect(dirty.some((r) => (r.price ?? 0) < 0)).toBe(true);
        expect(dirty.some((r) => r.price === null)).toBe(true);
        expect(dirty.some((r) => (r.house_size ?? 0) < 0)).toBe(true);
        expect(dirty.some((r) => (r.bed ?? 0) < 0)).toBe(true);
        expect(dirty.some((r) => r.state === null)).toBe(true);
        expect(dirty.some((r) => r.prev_sold_date !== null && r.prev_sold_date > TODAY)).toBe(true);
        expect(dirty.some((r) => r.prev_sold_date !== null && Number.isNaN(Date.parse(`${r.prev_sold_date}T00:00:00Z`)))).toBe(true);
    });
});

describe("generator: realism of the clean rows", () => {
    it("every ZIP code belongs to the listing's state, and each city keeps to one state", () => {
        const cityState = new Map<string, Set<string>>();
        for (const r of clean) {
            expect(r.zip_code).toMatch(/^\d{5}$/);
            const zip3 = Number(String(r.zip_code).slice(0, 3));
            const ranges = ZIP3[r.state!];
            expect(ranges, `state ${r.state}`).toBeDefined();
            expect(ranges!.some(([lo, hi]) => zip3 >= lo && zip3 <= hi), `${r.zip_code} in ${r.state}`).toBe(true);
            const key = `${r.city}|${r.zip_code}`;
            if (!cityState.has(key)) cityState.set(key, new Set());
            cityState.get(key)!.add(r.state!);
        }
        for (const states of cityState.values()) expect(states.size).toBe(1);
        expect(new Set(clean.map((r) => r.state)).size).toBe(14);
    });

    it("price levels differ by state: California's median price per square foot is over twice Ohio's", () => {
        const ppsf = (s: string) => median(clean.filter((r) => r.state === s).map((r) => r.price! / r.house_size!));
        expect(ppsf("California") / ppsf("Ohio")).toBeGreaterThan(2);
        expect(ppsf("New York")).toBeGreaterThan(ppsf("Texas"));
    });

    it("price rises with house_size (log-log correlation > 0.6), bed, bath and acre_lot", () => {
        expect(pearson(clean.map((r) => Math.log(r.house_size!)), clean.map((r) => Math.log(r.price!)))).toBeGreaterThan(0.6);
        const medPrice = (f: (r: Listing) => boolean) => median(clean.filter(f).map((r) => r.price!));
        expect(medPrice((r) => r.bed! >= 4)).toBeGreaterThan(1.3 * medPrice((r) => r.bed! <= 2));
        expect(medPrice((r) => r.bath! >= 3)).toBeGreaterThan(1.3 * medPrice((r) => r.bath! <= 1.5));
        // acre_lot: compare within one state and size band so the land effect is not hidden by the rest
        const band = clean.filter((r) => r.state === "California" && r.house_size! >= 1500 && r.house_size! <= 2000);
        const acres = band.map((r) => r.acre_lot!).sort((a, b) => a - b);
        const q1 = acres[Math.floor(acres.length / 4)]!, q3 = acres[Math.floor((3 * acres.length) / 4)]!;
        expect(median(band.filter((r) => r.acre_lot! >= q3).map((r) => r.price!))).toBeGreaterThan(median(band.filter((r) => r.acre_lot! <= q1).map((r) => r.price!)));
    });

    it("realistic ranges: prices 20k-50M, sizes, rooms, lots; statuses for_sale, sold, ready_to_build in plausible shares", () => {
        for (const r of clean) {
            expect(r.price).toBeGreaterThanOrEqual(20_000);
            expect(r.price).toBeLessThanOrEqual(50_000_000);
            expect(r.house_size).toBeGreaterThanOrEqual(300);
            expect(r.bed).toBeGreaterThanOrEqual(1);
            expect(r.bath).toBeGreaterThanOrEqual(1);
            expect(r.acre_lot).toBeGreaterThan(0);
        }
        const medianPrice = median(clean.map((r) => r.price!));
        expect(medianPrice).toBeGreaterThan(200_000);
        expect(medianPrice).toBeLessThan(900_000);
        const share = (s: string) => clean.filter((r) => r.status === s).length / clean.length;
        expect(new Set(clean.map((r) => r.status))).toEqual(new Set(["for_sale", "sold", "ready_to_build"]));
        expect(share("for_sale")).toBeGreaterThan(0.5);
        expect(share("sold")).toBeGreaterThan(0.2);
        expect(share("ready_to_build")).toBeGreaterThan(0.01);
    });

    it("prev_sold_date: real calendar dates before today, missing for some rows", () => {
        const dated = clean.filter((r) => r.prev_sold_date !== null);
        expect(dated.length / clean.length).toBeGreaterThan(0.5);
        expect(dated.length).toBeLessThan(clean.length);
        for (const r of dated) expect(r.prev_sold_date! < TODAY).toBe(true);
    });
});
