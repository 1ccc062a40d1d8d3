import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { findConfigFile, ListingNormaliser, loadListingDefinition } from "../src/listing";

/** config/listing-vectors.json: the shared test vectors the Python cleaning step checks too. */
const vectors = JSON.parse(fs.readFileSync(findConfigFile("listing-vectors.json"), "utf8")) as {
    referenceDate: string;
    status: [unknown, string | null][];
    strings: [unknown, string | null][];
    zip_code: [unknown, string | null][];
    prev_sold_date: [unknown, string | null][];
};
const n = new ListingNormaliser(loadListingDefinition());

describe("listing normalisation against config/listing-vectors.json", () => {
    it("has vectors for every rule", () => {
        expect(vectors.status.length).toBeGreaterThan(0);
        expect(vectors.strings.length).toBeGreaterThan(0);
        expect(vectors.zip_code.length).toBeGreaterThan(0);
        expect(vectors.prev_sold_date.length).toBeGreaterThan(0);
    });
    it.each(vectors.status)("status %j -> %j", (input, expected) => expect(n.status(input)).toBe(expected));
    it.each(vectors.strings)("string %j -> %j", (input, expected) => expect(n.string(input)).toBe(expected));
    it.each(vectors.zip_code)("zip_code %j -> %j", (input, expected) => expect(n.zip(input)).toBe(expected));
    it.each(vectors.prev_sold_date)("prev_sold_date %j -> %j", (input, expected) => expect(n.date(input, vectors.referenceDate)).toBe(expected));
});

describe("listing validation", () => {
    const today = "2026-11-27";
    it("normalises a full listing and ignores price and unknown fields", () => {
        const r = n.listing({ status: "For Sale", state: " ILLINOIS ", city: "New   York", zip_code: 2108, bed: 3, prev_sold_date: "2022-03-15T10:00:00", price: 1, extra: "x" }, "features", today);
        expect(r.errors).toEqual([]);
        expect(r.value).toEqual({
            brokered_by: null, status: "for_sale", bed: 3, bath: null, acre_lot: null, street: null, city: "new york", state: "illinois",
            zip_code: "02108", house_size: null, prev_sold_date: "2022-03-15",
        });
    });
    it("names every bad field at once", () => {
        const r = n.listing({ status: "pending", bed: -1, bath: "two", house_size: true, zip_code: "abcde", prev_sold_date: "2030-01-01", city: 5 }, "features", today);
        expect(r.value).toBeUndefined();
        expect(r.errors.map((e) => e.field).sort()).toEqual(
            ["features.bath", "features.bed", "features.city", "features.house_size", "features.prev_sold_date", "features.state", "features.status", "features.zip_code"],
        );
        expect(r.errors.find((e) => e.field === "features.bed")!.message).toBe("must be >= 0 (got -1)");
        expect(r.errors.find((e) => e.field === "features.state")!.message).toBe("is required");
    });
    it("rejects a listing that is not an object", () => {
        expect(n.listing([1], "instances[0]", today).errors).toEqual([{ field: "instances[0]", message: "must be an object of listing fields" }]);
    });
});

describe("strings Postgres cannot store, and the length bound (config/listing.json strings.maxLength)", () => {
    const today = "2026-11-27";
    const max = loadListingDefinition().strings.maxLength!;
    const base = { status: "sold", state: "illinois" };

    it("is set", () => expect(max).toBe(200));
    it.each([
        ["a".repeat(max), "a".repeat(max)],
        ["a".repeat(max + 1), null],
        [`  ${"A".repeat(max)}  `, "a".repeat(max)],
        ["\u{1F3E0}".repeat(max), "\u{1F3E0}".repeat(max)],
        ["elm\u0000st", null],
        ["elm\uD800st", null],
        ["elm\uDC00", null],
    ])("string %j -> %j (the same table as dags/tests/test_listing.py)", (input, expected) => expect(n.string(input)).toBe(expected));

    it.each([
        ["street", "elm\u0000st", "must not contain the NUL character (U+0000)"],
        ["city", "spring\uD800field", "must be valid Unicode text (unpaired surrogate U+D800)"],
        ["state", "\uDFFFillinois", "must be valid Unicode text (unpaired surrogate U+DFFF)"],
        ["street", "x".repeat(max + 1), `must be at most ${max} characters (got ${max + 1})`],
        ["city", "\u{1F3E0}".repeat(max + 1), `must be at most ${max} characters (got ${max + 1})`],
    ])("%s = %j: 422 naming the field: %s", (field, value, message) => {
        const r = n.listing({ ...base, [field]: value }, "instances[3]", today);
        expect(r.value).toBeUndefined();
        expect(r.errors).toEqual([{ field: `instances[3].${field}`, message }]);
    });

    it("a NUL in status fails the category check, naming the field", () => {
        expect(n.listing({ ...base, status: "sold\u0000" }, "features", today).errors.map((e) => e.field)).toEqual(["features.status"]);
    });
});
