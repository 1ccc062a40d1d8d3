import { defineConfig } from "vitest/config";

// The Node Dockerfiles' contract and their rehearsal as plain processes (no Docker engine here),
// and the Python images' hash locks (python.check.ts);
// run by scripts/test.d/70-images.sh, which provides the npm the images ship (IMAGES_NPM_CLI).
// Its files end in .check.ts so the unit run (tests/**/*.test.ts) leaves them alone.
export default defineConfig({
    test: {
        include: ["tests/images/**/*.check.ts"],
        pool: "forks",
        fileParallelism: false,
        testTimeout: 120_000,
        hookTimeout: 600_000,
        // Every check by name: the names say what each Dockerfile was shown to do.
        reporters: ["verbose"],
    },
});
