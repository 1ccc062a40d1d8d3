import { generateListings } from "./generator.js";
import type { Listing } from "./listing.js";
import { hashSeed, Rng } from "./random.js";

/**
 * The rows of each (group_number, day), split into `batches` equal batches. Groups and days
 * get different rows (a different seed, or a different sample of the CSV); the same
 * configuration always gives the same rows, so a restarted process serves the same batches.
 */
export class Dataset {
    private readonly cache = new Map<string, Listing[]>();

    constructor(
        private readonly opts: {
            readonly seed: number;
            readonly dirtyShare: number;
            readonly batches: number;
            readonly batchSize: number;
            /** When set, batches are drawn from these rows instead of the generator. */
            readonly csvRows?: readonly Listing[];
        },
    ) {}

    get source(): "csv" | "generator" {
        return this.opts.csvRows ? "csv" : "generator";
    }

    private rowsFor(group: number, day: string): Listing[] {
        const key = `${group}|${day}`;
        let rows = this.cache.get(key);
        if (!rows) {
            const seed = hashSeed(this.opts.seed, group, day);
            const total = this.opts.batches * this.opts.batchSize;
            rows = this.opts.csvRows ? sample(this.opts.csvRows, total, seed) : generateListings(total, { seed, dirtyShare: this.opts.dirtyShare });
            this.cache.set(key, rows);
        }
        return rows;
    }

    /** Batch `batchNumber` (1-based) of (group, day). */
    batch(group: number, day: string, batchNumber: number): Listing[] {
        const rows = this.rowsFor(group, day);
        const size = Math.ceil(rows.length / this.opts.batches);
        return rows.slice((batchNumber - 1) * size, batchNumber * size);
    }
}

/** `n` distinct rows (all of them if there are fewer) in a seeded random order. */
function sample(rows: readonly Listing[], n: number, seed: number): Listing[] {
    const idx = Array.from(rows.keys());
    const rng = new Rng(seed);
    const take = Math.min(n, idx.length);
    for (let i = 0; i < take; i++) {
        const j = i + Math.floor(rng.next() * (idx.length - i));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, take).map((i) => rows[i]!);
}
