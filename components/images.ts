import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ImagesConfig } from "../config/images";

/** One image of ours: the reference from config and the Dockerfile that builds it. */
export interface ImageSpec {
    /** Pinned reference, e.g. `mlops-platform/model-api:0.1.0` (from `<service>.image`). */
    readonly ref: string;
    /** Dockerfile path relative to the build context (the repository root). */
    readonly dockerfile: string;
}

export interface PlatformImagesArgs {
    readonly config: ImagesConfig;
    /** Build context: the repository root (Dockerfiles copy lockfiles and pin files from it). */
    readonly context: string;
    readonly images: Readonly<Record<string, ImageSpec>>;
    readonly registryPassword?: pulumi.Input<string>;
}

/**
 * Our images, built by `pulumi up` when `images.build` is on (pushed when `images.push` is),
 * otherwise just the configured references. `ref(name)` is what workloads run: a built
 * image's reference depends on the build, so pods are created only after it succeeded.
 */
export class PlatformImages extends pulumi.ComponentResource {
    private readonly refs: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: PlatformImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:docker:PlatformImages", name, {}, opts);
        const { config } = args;
        for (const [image, spec] of Object.entries(args.images)) {
            if (!config.build) {
                this.refs[image] = pulumi.output(spec.ref);
                continue;
            }
            const registry = config.registry;
            const imageName = registry && config.push ? `${registry.server.replace(/\/$/, "")}/${spec.ref}` : spec.ref;
            const built = new docker.Image(
                image,
                {
                    imageName,
                    build: { context: args.context, dockerfile: `${args.context}/${spec.dockerfile}`, platform: "linux/amd64" },
                    skipPush: !config.push,
                    registry:
                        config.push && registry
                            ? { server: registry.server, username: registry.username, password: args.registryPassword }
                            : undefined,
                },
                { parent: this },
            );
            // Pushed: pin by digest, so a rebuilt tag can never run a stale layer. Local: the tag
            // the kubelet finds in the node's Docker (imagePullPolicy IfNotPresent).
            this.refs[image] = config.push ? built.repoDigest : built.imageName;
        }
        this.registerOutputs({ images: Object.keys(args.images) });
    }

    /** The reference workloads run for `image`. */
    ref(image: string): pulumi.Output<string> {
        const ref = this.refs[image];
        if (!ref) {
            throw new Error(`PlatformImages has no image '${image}'`);
        }
        return ref;
    }
}
