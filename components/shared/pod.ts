import * as k8s from "@pulumi/kubernetes";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../../config";
import { containerResources } from "./resources";
import { RunAs, restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./security";

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** A reference to one key of a Kubernetes Secret. */
export interface SecretKeyRef {
    readonly name: pulumi.Input<string>;
    readonly key: string;
}

/** A user name and where its generated password lives: an HTTP basic-auth login. */
export interface Login {
    readonly username: string;
    readonly password: SecretKeyRef;
}

/** An environment variable read from a Secret; credentials never appear as plain `value`s. */
export function secretEnv(name: string, ref: SecretKeyRef): EnvVar {
    return { name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

/** A plain environment variable for non-secret settings. */
export function plainEnv(name: string, value: pulumi.Input<string>): EnvVar {
    return { name, value };
}

export interface ContainerArgs extends Omit<Container, "resources" | "securityContext" | "image"> {
    readonly image: pulumi.Input<string>;
    readonly resources: Resources;
    /** @default false */
    readonly readOnlyRootFilesystem?: boolean;
}

/** A container with the restricted security context and resources applied; callers cannot forget either. */
export function container(args: ContainerArgs): Container {
    const { resources, readOnlyRootFilesystem, ...rest } = args;
    return {
        imagePullPolicy: "IfNotPresent",
        ...rest,
        resources: containerResources(resources),
        securityContext: restrictedContainerSecurityContext({ readOnlyRootFilesystem }),
    };
}

export interface PodSpecArgs extends Omit<PodSpec, "securityContext"> {
    readonly runAs: RunAs;
}

/**
 * A pod spec with safe defaults: restricted security context, no service-account token
 * (none of our pods talk to the Kubernetes API unless they say so), and no Service
 * environment links (a Service named `redis` would otherwise inject REDIS_PORT=tcp://...
 * into every pod and break programs that read REDIS_PORT).
 */
export function podSpec(args: PodSpecArgs): PodSpec {
    const { runAs, ...rest } = args;
    return {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        ...rest,
        securityContext: restrictedPodSecurityContext(runAs),
    };
}

/** A sha256 over the given values, for pod-template annotations that roll pods when a credential changes. */
export function checksum(...values: pulumi.Input<string>[]): pulumi.Output<string> {
    return pulumi.all(values).apply((vs) => createHash("sha256").update(vs.join("\u0000")).digest("hex"));
}
