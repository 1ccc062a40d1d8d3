import * as pulumi from "@pulumi/pulumi";

/**
 * A random credential generated inside the Pulumi engine and kept in state as a secret.
 *
 * Why not @pulumi/random: its provider plugin cannot be obtained from the package
 * registries this project builds from (the Go module proxy refuses every version of it),
 * so the engine tier could not run a program that uses it. A dynamic provider runs in the
 * program's own Node.js process, needs no plugin download, and keeps what mattered about
 * @pulumi/random: values are created once, stored encrypted in state, stable across
 * `pulumi up`, and replaced only when an input (e.g. the rotation `keepers`) changes.
 */

export type SecretEncoding = "alphanumeric" | "username" | "base64url" | "hex";

export interface GeneratedSecretInputs {
    /** alphanumeric: letters and digits; username: lower-case letters and digits; base64url/hex: random bytes encoded. */
    readonly encoding: SecretEncoding;
    /** Characters (alphanumeric, username) or bytes (base64url, hex). */
    readonly length: number;
    /** Any change replaces the value (rotation). */
    readonly keepers?: Readonly<Record<string, string>>;
}

/** Generates one value. Must stay self-contained: Pulumi serializes it into the state. */
export function generateSecretValue(encoding: SecretEncoding, length: number): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const crypto = require("crypto") as typeof import("crypto");
    if (encoding === "base64url" || encoding === "hex") {
        const bytes = crypto.randomBytes(length);
        // A Fernet key is URL-safe base64 *with* padding, which base64url omits.
        return encoding === "hex" ? bytes.toString("hex") : bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
    }
    const alphabet = encoding === "username" ? "abcdefghijklmnopqrstuvwxyz0123456789" : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Rejection sampling keeps every character equally likely.
    const limit = 256 - (256 % alphabet.length);
    let out = "";
    while (out.length < length) {
        for (const byte of crypto.randomBytes(length * 2)) {
            if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
        }
    }
    return out;
}

/** Exported for the unit tests of its diff. */
export const generatedSecretProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: GeneratedSecretInputs) {
        const value = generateSecretValue(inputs.encoding, inputs.length);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const id = (require("crypto") as typeof import("crypto")).randomUUID();
        return { id, outs: { ...inputs, value } };
    },
    async diff(_id: string, olds: GeneratedSecretInputs & { value: string }, news: GeneratedSecretInputs) {
        const replaces: string[] = [];
        if (olds.encoding !== news.encoding) replaces.push("encoding");
        if (olds.length !== news.length) replaces.push("length");
        // A credential that stops rotating (no keepers any more) keeps its value: replacing it
        // then would be exactly the loss that taking it out of rotation prevents.
        if (news.keepers !== undefined && JSON.stringify(olds.keepers ?? {}) !== JSON.stringify(news.keepers)) replaces.push("keepers");
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
    async read(id: string, props: any) {
        return { id, props };
    },
};

export class GeneratedSecret extends pulumi.dynamic.Resource {
    /** The generated value, a Pulumi secret. */
    declare public readonly value: pulumi.Output<string>;

    constructor(name: string, args: GeneratedSecretInputs, opts?: pulumi.CustomResourceOptions) {
        if (!Number.isInteger(args.length) || args.length < 8) {
            throw new Error(`GeneratedSecret '${name}': 'length' must be an integer >= 8 (got ${args.length})`);
        }
        super(generatedSecretProvider, name, { ...args, value: undefined }, { ...opts, additionalSecretOutputs: ["value"] });
    }
}
