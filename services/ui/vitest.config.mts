import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        testTimeout: 60_000,
        hookTimeout: 180_000,
        // One browser, one MLflow, one set of servers: the end-to-end files share nothing and run one at a time.
        fileParallelism: false,
    },
});
