import { buildApp } from "./app";
import { loadConfig } from "./config";

/** Process entry: listen on 0.0.0.0, close gracefully on SIGTERM/SIGINT (in-flight requests finish). */
async function main(): Promise<void> {
    const config = loadConfig();
    const app = await buildApp(config);
    let closing = false;
    const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        app.log.info({ event: "shutdown", signal }, "closing");
        const force = setTimeout(() => process.exit(1), 25_000);
        force.unref();
        app.close().then(() => process.exit(0), (err) => {
            app.log.error({ err }, "close failed");
            process.exit(1);
        });
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
    await app.listen({ host: config.host, port: config.port });
}

main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
