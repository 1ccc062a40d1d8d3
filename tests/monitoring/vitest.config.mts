import { defineConfig } from "vitest/config";

// The monitoring check against a real Prometheus scraping the real model-api and data-api;
// run by scripts/test.d/60-monitoring.sh, which installs Prometheus and builds the services.
// Its files end in .check.ts so the unit run (tests/**/*.test.ts) leaves them alone.
export default defineConfig({
    test: {
        include: ["tests/monitoring/**/*.check.ts"],
        pool: "forks",
        fileParallelism: false,
        testTimeout: 120_000,
        hookTimeout: 180_000,
    },
});
