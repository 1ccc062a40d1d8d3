/** One row of the US real-estate listings schema (design.md). Missing values are null. */
export interface Listing {
    brokered_by: number | null;
    status: string | null;
    price: number | null;
    bed: number | null;
    bath: number | null;
    acre_lot: number | null;
    street: string | null;
    city: string | null;
    state: string | null;
    /** A string from the generator; from the CSV, a number when the file has one (the listings file writes 601.0), as pandas would serve it. */
    zip_code: string | number | null;
    house_size: number | null;
    prev_sold_date: string | null;
}

export const LISTING_FIELDS = [
    "brokered_by", "status", "price", "bed", "bath", "acre_lot",
    "street", "city", "state", "zip_code", "house_size", "prev_sold_date",
] as const satisfies readonly (keyof Listing)[];

export const NUMERIC_FIELDS = new Set<keyof Listing>(["brokered_by", "price", "bed", "bath", "acre_lot", "house_size"]);

const nullableNumber = { type: ["number", "null"] } as const;
const nullableString = { type: ["string", "null"] } as const;

/** JSON schema of a listing, used for the response schema of GET /data. */
export const listingJsonSchema = {
    type: "object",
    required: [...LISTING_FIELDS],
    properties: {
        brokered_by: nullableNumber,
        status: nullableString,
        price: nullableNumber,
        bed: nullableNumber,
        bath: nullableNumber,
        acre_lot: nullableNumber,
        street: nullableString,
        city: nullableString,
        state: nullableString,
        zip_code: { type: ["string", "number", "null"] },
        house_size: nullableNumber,
        prev_sold_date: nullableString,
    },
} as const;
