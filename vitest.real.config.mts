import { defineConfig } from "vitest/config";

// Checks of rendered objects against the real programs (MLflow, Airflow, Postgres, MinIO);
// run by scripts/test.d/10-components-real.sh, which prepares venvs and binaries.
export default defineConfig({
    test: {
        include: ["tests/real/**/*.test.ts"],
        pool: "forks",
        // One file at a time: each starts several servers on a 2-core machine.
        fileParallelism: false,
        testTimeout: 300_000,
        hookTimeout: 900_000,
    },
});
