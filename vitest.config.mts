import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["tests/**/*.test.ts"],
        // Each file loads the Pulumi program into its own runtime; files run in separate processes.
        pool: "forks",
        testTimeout: 30_000,
        hookTimeout: 60_000,
    },
});
