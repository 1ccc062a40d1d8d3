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
