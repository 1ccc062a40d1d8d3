import type { Recorder, Registered } from "./mocks";

/** The recorded Kubernetes object of `kind` registered under the logical name `name`. */
export function k8sObject(recorder: Recorder, kind: string, name: string): any {
    return registration(recorder, kind, name).inputs;
}

export function registration(recorder: Recorder, kind: string, name: string): Registered {
    const found = recorder.kubernetesObjects().filter((r) => r.type.endsWith(`:${kind}`) && r.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one ${kind} named ${name}, found ${found.length}`);
    }
    return found[0]!;
}

/** The security fields every container of ours carries. */
export const RESTRICTED_CONTAINER = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};

export function podSecurity(user: number, group: number) {
    return {
        runAsNonRoot: true,
        runAsUser: user,
        runAsGroup: group,
        fsGroup: group,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

export function secretRef(name: string, key: string) {
    return { secretKeyRef: { name, key } };
}
