import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { loadConfig, type DataApiConfig } from "../src/config.js";

export interface Running {
    readonly url: string;
    readonly app: FastifyInstance;
    readonly config: DataApiConfig;
    get(pathAndQuery: string): Promise<{ status: number; body: any }>;
    close(): Promise<void>;
}

export function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "data-api-test-"));
}

/** A real data API on a free loopback port, configured through the same env variables as in production. */
export async function startDataApi(env: Record<string, string>): Promise<Running> {
    const config = loadConfig({ DATA_API_STATE_FILE: path.join(tempDir(), "state.json"), DATA_API_LOG_LEVEL: "warn", ...env });
    const app = await buildApp(config, { logger: false });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const addr = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${addr.port}`;
    return {
        url,
        app,
        config,
        async get(p) {
            const res = await fetch(url + p);
            const text = await res.text();
            let body: any = text;
            try {
                body = JSON.parse(text);
            } catch {
                // not JSON (/metrics)
            }
            return { status: res.status, body };
        },
        close: () => app.close(),
    };
}
