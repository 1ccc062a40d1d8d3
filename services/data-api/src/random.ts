/** Small seeded PRNG (mulberry32) and helpers: same seed, same sequence, on every platform. */
export class Rng {
    private s: number;
    constructor(seed: number) {
        this.s = seed >>> 0;
    }
    next(): number {
        this.s = (this.s + 0x6d2b79f5) >>> 0;
        let t = this.s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    int(min: number, max: number): number {
        return min + Math.floor(this.next() * (max - min + 1));
    }
    pick<T>(items: readonly T[]): T {
        return items[Math.floor(this.next() * items.length)]!;
    }
    normal(): number {
        const u = 1 - this.next();
        const v = this.next();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
    logNormal(median: number, sigma: number): number {
        return median * Math.exp(sigma * this.normal());
    }
}

/** FNV-1a over a string: derives independent seeds per (seed, group, day). */
export function hashSeed(...parts: (string | number)[]): number {
    let h = 0x811c9dc5;
    for (const ch of parts.join("|")) {
        h ^= ch.charCodeAt(0);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
}
