import * as k8s from "@pulumi/kubernetes";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

/** The uid/gid an image's process runs as; chosen per image so files it owns stay writable. */
export interface RunAs {
    readonly user: number;
    readonly group: number;
}

/**
 * Pod-level settings of the Pod Security Standard `restricted` profile: non-root,
 * RuntimeDefault seccomp, volumes group-owned by the process's group.
 */
export function restrictedPodSecurityContext(runAs: RunAs): PodSecurityContext {
    if (runAs.user === 0) {
        throw new Error("'runAs.user' must not be 0: the restricted profile forbids root");
    }
    return {
        runAsNonRoot: true,
        runAsUser: runAs.user,
        runAsGroup: runAs.group,
        fsGroup: runAs.group,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level settings of the `restricted` profile: no privilege escalation, every capability dropped. */
export function restrictedContainerSecurityContext(options: { readOnlyRootFilesystem?: boolean } = {}): SecurityContext {
    return {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}
