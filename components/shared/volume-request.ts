import * as pulumi from "@pulumi/pulumi";

/**
 * The size and class a data store's volume was asked for, kept in the state so the next
 * `pulumi up` can compare: a volume can grow (a claim expansion) but never shrink, and an
 * existing claim cannot move to another StorageClass. Both are refused at preview, with the
 * stack config field named, before anything is applied.
 */
export interface VolumeRequestInputs {
    /** The config object the values come from, e.g. `postgres.storage`. */
    readonly configPath: string;
    readonly size: string;
    readonly storageClass: string;
}

const UNITS: Readonly<Record<string, number>> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** Bytes of a Kubernetes storage quantity; NaN when it is not one. Self-contained: serialized with the provider. */
export function quantityBytes(quantity: string): number {
    const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
    return m ? Number(m[1]) * (UNITS[m[2] ?? ""] ?? NaN) : NaN;
}

/** Why `news` cannot follow `olds` (empty when it can). `olds` is empty on the first `up`. */
export function volumeRequestProblems(olds: Partial<VolumeRequestInputs>, news: VolumeRequestInputs): { property: string; reason: string }[] {
    const problems: { property: string; reason: string }[] = [];
    if (olds.size !== undefined && quantityBytes(news.size) < quantityBytes(olds.size)) {
        problems.push({
            property: "size",
            reason:
                `'${news.configPath}.size' cannot shrink (was ${olds.size}, now ${news.size}): Kubernetes only expands a claim. ` +
                `Set it back to ${olds.size} or more; a smaller volume is a new claim (see README: Data safety).`,
        });
    }
    if (olds.storageClass !== undefined && news.storageClass !== olds.storageClass) {
        problems.push({
            property: "storageClass",
            reason:
                `'${news.configPath}.storageClass' cannot change for an existing volume (was '${olds.storageClass}', now '${news.storageClass}'). ` +
                `Set it back to '${olds.storageClass}'; another class is a new claim (see README: Data safety).`,
        });
    }
    return problems;
}

const provider: pulumi.dynamic.ResourceProvider = {
    async check(olds: Partial<VolumeRequestInputs>, news: VolumeRequestInputs) {
        return { inputs: news, failures: volumeRequestProblems(olds, news) };
    },
    async create(inputs: VolumeRequestInputs) {
        return { id: inputs.configPath, outs: inputs };
    },
    async diff(_id: string, olds: VolumeRequestInputs, news: VolumeRequestInputs) {
        const changed = (["configPath", "size", "storageClass"] as const).filter((k) => olds[k] !== news[k]);
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
    },
    async update(_id: string, _olds: VolumeRequestInputs, news: VolumeRequestInputs) {
        return { outs: news };
    },
    async read(id: string, props: any) {
        return { id, props };
    },
};

export class VolumeRequest extends pulumi.dynamic.Resource {
    declare public readonly size: pulumi.Output<string>;
    declare public readonly storageClass: pulumi.Output<string>;

    constructor(name: string, args: VolumeRequestInputs, opts?: pulumi.CustomResourceOptions) {
        if (Number.isNaN(quantityBytes(args.size))) {
            throw new Error(`'${args.configPath}.size' must be a quantity such as '5Gi' (got '${args.size}')`);
        }
        super(provider, name, { configPath: args.configPath, size: args.size, storageClass: args.storageClass }, opts);
    }
}
