import { defineConfig } from "vitest/config";

// Only the TypeScript runner for bench/page-load.ts; `npm test` never includes bench/.
export default defineConfig({ test: { include: ["bench/page-load.ts"], testTimeout: 600_000, hookTimeout: 60_000 } });
