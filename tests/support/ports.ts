import * as fs from "node:fs";
import * as net from "node:net";

/**
 * Ports for the servers a test starts as child processes.
 *
 * A port from `listen(0)` lies in the kernel's ephemeral range, the same range every outgoing
 * connection on the machine takes its local port from. Between our check and the child's own
 * bind, such a connection can take it (CI saw `EADDRINUSE` on a model API's port). So the port is
 * picked at random below that range, where only listeners live, checked free by binding it,
 * and never handed out twice by this process.
 */
const handedOut = new Set<number>();
const LOWEST = 10_000;

function ephemeralLow(): number {
    try {
        const [low] = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
        if (low && Number.isInteger(low)) return low;
    } catch {
        // Not Linux: fall through to the IANA dynamic range's start.
    }
    return 49_152;
}

function bindable(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
}

export async function freePort(): Promise<number> {
    const high = ephemeralLow() - 1;
    if (high - LOWEST < 1000) throw new Error(`the ephemeral port range starts at ${high + 1}: too few ports below it for test servers`);
    for (let attempt = 0; attempt < 200; attempt++) {
        const port = LOWEST + Math.floor(Math.random() * (high - LOWEST + 1));
        if (handedOut.has(port)) continue;
        if (await bindable(port)) {
            handedOut.add(port);
            return port;
        }
    }
    throw new Error(`no free port found in ${LOWEST}-${high} after 200 tries`);
}
