import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";

// The process only: config, listen on all interfaces, close gracefully on SIGTERM/SIGINT.
const config = loadConfig();
const app = await buildApp(config);
await app.listen({ host: config.host, port: config.port });

let closing = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
        if (closing) return;
        closing = true;
        app.close().then(
            () => process.exit(0),
            () => process.exit(1),
        );
    });
}
