import * as k8s from "@pulumi/kubernetes";

type Probe = k8s.types.input.core.v1.Probe;

/** Timings shared by every probe unless a caller overrides them. */
export interface ProbeTiming {
    readonly initialDelaySeconds?: number;
    readonly periodSeconds?: number;
    readonly timeoutSeconds?: number;
    readonly failureThreshold?: number;
}

const READINESS: Required<ProbeTiming> = { initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 };
const LIVENESS: Required<ProbeTiming> = { initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 };

/** An exec probe; the command must exit 0 when healthy. */
export function execProbe(kind: "readiness" | "liveness", command: string[], timing: ProbeTiming = {}): Probe {
    return { exec: { command }, ...(kind === "readiness" ? READINESS : LIVENESS), ...timing };
}

/** An HTTP GET probe on a named container port. */
export function httpProbe(kind: "readiness" | "liveness", path: string, port: string, timing: ProbeTiming = {}): Probe {
    return { httpGet: { path, port }, ...(kind === "readiness" ? READINESS : LIVENESS), ...timing };
}

/** A TCP probe on a named container port. */
export function tcpProbe(kind: "readiness" | "liveness", port: string, timing: ProbeTiming = {}): Probe {
    return { tcpSocket: { port }, ...(kind === "readiness" ? READINESS : LIVENESS), ...timing };
}
