import { defineConfig } from "vite";

// The browser app: Preact pages, built to dist/web, served by src/server.ts.
export default defineConfig({
    root: "web",
    base: "/",
    oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
    build: { outDir: "../dist/web", emptyOutDir: true, target: "es2022", sourcemap: false },
    logLevel: "warn",
});
