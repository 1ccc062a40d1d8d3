import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GeneratedSecret } from "./generated-secret";
import { checksum, labels, SecretKeyRef } from "./shared";

/** How one credential is generated. */
export interface CredentialSpec {
    /**
     * `password`: letters and digits (URL- and DSN-safe, so it can sit in a connection string
     * unescaped); `username`: `mlops` followed by lower-case letters and digits; `fernet`:
     * 32 random bytes, URL-safe base64 (a Fernet key, e.g. Airflow's); `hex`: random bytes
     * as hex (signing keys such as JWT secrets; `length` counts bytes).
     * @default "password"
     */
    readonly kind?: "password" | "username" | "fernet" | "hex";
    /** Random characters generated. @default 32 for passwords, 12 for usernames */
    readonly length?: number;
    /**
     * Regenerated when the platform's credentials epoch changes. Turn off for credentials
     * that a running system cannot change in place (e.g. the Postgres superuser, which the
     * setup Job itself logs in with).
     * @default true
     */
    readonly rotate?: boolean;
    /**
     * Stored data was written with this value and cannot be re-keyed from outside (the Postgres
     * superuser's password in a data directory, Airflow's Fernet key in its encrypted rows).
     * With `protectData` its generated value is a protected resource: `pulumi destroy` stops at
     * it, and `pulumi destroy --exclude-protected` (`npm run destroy`) keeps it in the state, so
     * the next `pulumi up` writes the same value again for the retained volumes.
     * @default false
     */
    readonly boundToData?: boolean;
}

/** Kubernetes Secret name -> key -> how to generate its value. */
export type SecretsSpec = Readonly<Record<string, Readonly<Record<string, CredentialSpec>>>>;

export interface PlatformSecretsArgs {
    /** Namespace the Kubernetes Secrets are written to. */
    readonly namespace: pulumi.Input<string>;
    /** Every Secret and key to generate. */
    readonly secrets: SecretsSpec;
    /** Rotation epoch: rotatable credentials are regenerated when it changes. */
    readonly epoch: string;
    /** Protect the credentials that are bound to data (see CredentialSpec.boundToData). @default false */
    readonly protectData?: boolean;
}

/**
 * Every password and key of the platform, generated in the engine (GeneratedSecret), held
 * in Pulumi state as secrets and written to Kubernetes Secrets. Nothing is typed in by hand.
 */
export class PlatformSecrets extends pulumi.ComponentResource {
    /** Kubernetes Secret objects by their name. */
    public readonly secrets: Readonly<Record<string, k8s.core.v1.Secret>>;
    private readonly values: Record<string, Record<string, pulumi.Output<string>>> = {};

    constructor(name: string, args: PlatformSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlops:k8s:PlatformSecrets", name, {}, opts);
        const secrets: Record<string, k8s.core.v1.Secret> = {};
        for (const [secretName, keys] of Object.entries(args.secrets)) {
            const stringData: Record<string, pulumi.Output<string>> = {};
            for (const [key, spec] of Object.entries(keys)) {
                if (spec.boundToData && spec.rotate !== false) {
                    throw new Error(`PlatformSecrets: '${secretName}.${key}' is bound to data, so it cannot rotate with the epoch (set rotate: false)`);
                }
                stringData[key] = this.generate(`${secretName}-${key}`, spec, args.epoch, spec.boundToData === true && args.protectData === true);
            }
            this.values[secretName] = stringData;
            secrets[secretName] = new k8s.core.v1.Secret(
                secretName,
                {
                    metadata: {
                        name: secretName,
                        namespace: args.namespace,
                        labels: labels({ name: secretName, instance: name, component: "credentials" }),
                    },
                    type: "Opaque",
                    stringData,
                },
                { parent: this },
            );
        }
        this.secrets = secrets;
        this.registerOutputs({ secretNames: Object.keys(secrets) });
    }

    /**
     * A reference to one generated key. The name is taken from the Secret's output, so a
     * consumer depends on the Secret existing.
     */
    ref(secretName: string, key: string): SecretKeyRef {
        const secret = this.secrets[secretName];
        if (!secret || !this.values[secretName]?.[key]) {
            throw new Error(`PlatformSecrets has no key '${key}' in Secret '${secretName}'`);
        }
        return { name: secret.metadata.name, key };
    }

    /** The generated value, as a Pulumi secret (for stack outputs a person needs). */
    value(secretName: string, key: string): pulumi.Output<string> {
        const value = this.values[secretName]?.[key];
        if (!value) {
            throw new Error(`PlatformSecrets has no key '${key}' in Secret '${secretName}'`);
        }
        return value;
    }

    /**
     * One checksum of every value in the given Secrets, for pod annotations that roll pods on
     * rotation. With one Secret it is the value it was before several could be given, so no
     * existing annotation changed.
     */
    checksum(...secretNames: [string, ...string[]]): pulumi.Output<string> {
        const all = secretNames.flatMap((secretName) => {
            const values = this.values[secretName];
            if (!values) {
                throw new Error(`PlatformSecrets has no Secret '${secretName}'`);
            }
            return Object.keys(values).sort().map((k) => values[k] as pulumi.Output<string>);
        });
        return checksum(...all);
    }

    private generate(name: string, spec: CredentialSpec, epoch: string, protect: boolean): pulumi.Output<string> {
        const keepers = spec.rotate === false ? undefined : { epoch };
        const opts = { parent: this, protect };
        switch (spec.kind ?? "password") {
            case "fernet":
                return new GeneratedSecret(name, { encoding: "base64url", length: 32, keepers }, opts).value;
            case "hex":
                return new GeneratedSecret(name, { encoding: "hex", length: spec.length ?? 32, keepers }, opts).value;
            case "username":
                // A fixed letter prefix keeps the name valid for systems that want a leading letter.
                return pulumi.secret(pulumi.interpolate`mlops${new GeneratedSecret(name, { encoding: "username", length: spec.length ?? 12, keepers }, opts).value}`);
            case "password":
                return new GeneratedSecret(name, { encoding: "alphanumeric", length: spec.length ?? 32, keepers }, opts).value;
        }
    }
}
