// Load both servers with autocannon, one after the other, same payloads, and print
// requests/s, p50 and p99 side by side with the ratio. Run through bench/run.sh.
//   node bench/bench.js --baseline URL --api URL [--duration S] [--out FILE]
"use strict";
const autocannon = require("autocannon");
const fs = require("node:fs");

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const duration = Number(args.duration ?? 10);
const warmup = Number(args.warmup ?? 2);
const concurrencies = (args.concurrency ?? "1,8,32").split(",").map(Number);

const seed = [
    { brokered_by: 101, status: "for sale", bed: 3, bath: 2, acre_lot: 0.25, street: "123 elm st", city: "springfield", state: "illinois", zip_code: "62704", house_size: 1500, prev_sold_date: "2022-03-15" },
    { brokered_by: 55, status: "for sale", bed: 4, bath: 3, acre_lot: 0.4, street: "456 oak ave", city: "shelbyville", state: "illinois", zip_code: "62565", house_size: 1800, prev_sold_date: "2023-01-22" },
];
const batch = Array.from({ length: 100 }, (_, i) => ({ ...seed[i % 2], bed: 1 + (i % 6), house_size: 800 + 15 * i }));
const scenarios = [
    { name: "single", body: JSON.stringify({ features: seed[0] }) },
    { name: "batch100", body: JSON.stringify({ instances: batch }) },
];

function run(url, body, connections, seconds) {
    return new Promise((resolve, reject) => {
        autocannon(
            { url: `${url}/predict`, method: "POST", headers: { "content-type": "application/json" }, body, connections, duration: seconds, pipelining: 1 },
            (err, res) => (err ? reject(err) : resolve(res)),
        );
    });
}

async function check(url, label) {
    const res = await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ features: seed[0] }) });
    if (res.status !== 200) throw new Error(`${label} answered ${res.status}: ${await res.text()}`);
    return (await res.json()).price;
}

(async () => {
    const pb = await check(args.baseline, "baseline");
    const pa = await check(args.api, "model-api");
    console.log(`same model, seed payload 1: FastAPI ${pb.toFixed(2)}, model-api ${pa.toFixed(2)} (relative difference ${(Math.abs(pa - pb) / pb).toExponential(2)})`);
    console.log(`autocannon, ${duration}s per cell after ${warmup}s warm-up, one server at a time on this machine (${require("node:os").cpus().length} CPUs)\n`);
    const results = [];
    for (const s of scenarios) {
        for (const c of concurrencies) {
            const row = { scenario: s.name, concurrency: c };
            for (const [key, url] of [["baseline", args.baseline], ["api", args.api]]) {
                await run(url, s.body, c, warmup);
                const r = await run(url, s.body, c, duration);
                row[key] = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, total: r.requests.total };
            }
            row.throughputRatio = row.api.rps / row.baseline.rps;
            row.p99Ratio = row.api.p99 / row.baseline.p99;
            results.push(row);
            const b = row.baseline, a = row.api;
            console.log(`${s.name.padEnd(9)} c=${String(c).padEnd(3)} FastAPI ${b.rps.toFixed(0).padStart(6)} req/s p50 ${String(b.p50).padStart(5)} ms p99 ${String(b.p99).padStart(5)} ms | model-api ${a.rps.toFixed(0).padStart(6)} req/s p50 ${String(a.p50).padStart(4)} ms p99 ${String(a.p99).padStart(4)} ms | x${row.throughputRatio.toFixed(1)} throughput, p99 ${(row.p99Ratio * 100).toFixed(1)}%${b.errors + a.errors ? ` (errors: FastAPI ${b.errors}, model-api ${a.errors})` : ""}`);
        }
    }
    const md = [
        "| request | concurrency | FastAPI req/s | FastAPI p50 / p99 (ms) | model-api req/s | model-api p50 / p99 (ms) | throughput ratio | p99 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        ...results.map((r) => `| ${r.scenario} | ${r.concurrency} | ${r.baseline.rps.toFixed(0)} | ${r.baseline.p50} / ${r.baseline.p99} | ${r.api.rps.toFixed(0)} | ${r.api.p50} / ${r.api.p99} | ${r.throughputRatio.toFixed(1)}x | ${(r.p99Ratio * 100).toFixed(1)}% |`),
    ].join("\n");
    console.log(`\n${md}\n`);
    const at32 = results.filter((r) => r.concurrency === 32);
    for (const r of at32) {
        const ok = r.throughputRatio >= 5 && r.p99Ratio <= 0.2;
        console.log(`target at concurrency 32 (${r.scenario}): >= 5x throughput and <= 1/5 p99: ${ok ? "met" : "NOT met"} (x${r.throughputRatio.toFixed(1)}, p99 ${(r.p99Ratio * 100).toFixed(1)}%)`);
    }
    if (args.out) fs.writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), duration, results }, null, 2));
})().catch((err) => {
    console.error(err);
    process.exit(1);
});
