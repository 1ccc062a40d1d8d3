import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        globalSetup: ["test/global-setup.ts"],
        pool: "forks",
        // Real servers (MLflow, Postgres) start inside the tests; keep two cores for them.
        maxWorkers: 2,
        testTimeout: 60_000,
        hookTimeout: 180_000,
    },
});
