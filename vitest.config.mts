import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["tests/**/*.test.ts"],
        // Checks against real MLflow/Airflow servers run from scripts/test.d/10-components-real.sh.
        exclude: ["tests/real/**", "**/node_modules/**"],
        // Each file loads the Pulumi program into its own runtime; files run in separate processes.
        pool: "forks",
        testTimeout: 30_000,
        hookTimeout: 60_000,
    },
});
