import * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi mocks that record every registration the way the engine would see it: type,
 * name, inputs, parent, and the dependency URNs the SDK computed from Outputs and
 * `dependsOn`. Anything not mocked throws, so an unplanned resource type or provider
 * call fails the test instead of passing silently.
 */

/** Marker the Pulumi wire format uses for a secret value. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Registered {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly custom: boolean;
    readonly parent: string;
    /** Inputs as plain values (secrets unwrapped). */
    readonly inputs: Record<string, any>;
    /** Every URN the resource depends on: `dependsOn` plus the resources behind its input Outputs. */
    readonly dependencies: readonly string[];
    /** Dotted paths of inputs that were Pulumi secrets on the wire. */
    readonly secretPaths: readonly string[];
    /** The `ignoreChanges` resource option. */
    readonly ignoreChanges: readonly string[];
    /** The `retainOnDelete` resource option. */
    readonly retainOnDelete: boolean;
    /** The `protect` resource option. */
    readonly protect: boolean;
}

/** Values a mocked GeneratedSecret produced, by resource name. */
export const generatedValues = new Map<string, string>();

export class Recorder {
    readonly resources: Registered[] = [];

    byUrn(urn: string): Registered {
        const found = this.resources.find((r) => r.urn === urn);
        if (!found) {
            throw new Error(`no resource with URN ${urn}`);
        }
        return found;
    }

    ofType(type: string): Registered[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource of `type` whose logical name is `name`. */
    get(type: string, name: string): Registered {
        const found = this.resources.filter((r) => r.type === type && r.name === name);
        if (found.length !== 1) {
            throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
        }
        return found[0]!;
    }

    /** Kubernetes objects (custom resources of the kubernetes provider). */
    kubernetesObjects(): Registered[] {
        return this.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers"));
    }

    /** Transitive dependencies of a resource (by input dependency, not by parentage). */
    ancestors(urn: string): Set<string> {
        const seen = new Set<string>();
        const stack = [...this.byUrn(urn).dependencies];
        while (stack.length > 0) {
            const next = stack.pop()!;
            if (seen.has(next)) {
                continue;
            }
            seen.add(next);
            const node = this.resources.find((r) => r.urn === next);
            if (node) {
                stack.push(...node.dependencies);
            }
        }
        return seen;
    }

    /** URNs of every resource whose parent chain includes `urn`. */
    descendants(urn: string): Set<string> {
        const out = new Set<string>();
        let grew = true;
        while (grew) {
            grew = false;
            for (const r of this.resources) {
                if (!out.has(r.urn) && (r.parent === urn || out.has(r.parent))) {
                    out.add(r.urn);
                    grew = true;
                }
            }
        }
        return out;
    }
}

function secretPaths(value: unknown, path: string, out: string[]): void {
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SECRET_SIG_KEY] === SECRET_SIG) {
            out.push(path);
            return;
        }
        for (const [k, v] of Object.entries(obj)) {
            secretPaths(v, path ? `${path}.${k}` : k, out);
        }
    }
}

function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SECRET_SIG_KEY] === SECRET_SIG) {
            return unwrapSecrets(obj.value);
        }
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

let autoNameCounter = 0;

const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
        if (!args.custom) {
            if (!args.type.startsWith("mlops:")) {
                throw new Error(`unmocked component type ${args.type}`);
            }
            return { id: undefined, state: {} };
        }
        if (args.type === "pulumi:providers:kubernetes") {
            return { id: `${args.name}-provider`, state: inputs };
        }
        if (args.type === "pulumi-nodejs:dynamic:Resource" && inputs.encoding) {
            // GeneratedSecret: a recognisable, unique value per resource, so tests can trace
            // each Secret key back to its generator.
            const value = `gen-${args.name}`;
            generatedValues.set(args.name, value);
            return { id: args.name, state: { ...inputs, value } };
        }
        if (args.type === "pulumi-nodejs:dynamic:Resource" && inputs.configPath) {
            // VolumeRequest: its outputs are its inputs.
            return { id: inputs.configPath, state: inputs };
        }
        if (args.type === "docker:index/image:Image") {
            return { id: inputs.imageName, state: { ...inputs, repoDigest: `${inputs.imageName.split(":")[0]}@sha256:${"0".repeat(64)}` } };
        }
        if (args.type.startsWith("kubernetes:")) {
            const metadata = { ...(inputs.metadata ?? {}) };
            if (!metadata.name) {
                // The provider auto-names with a random suffix; mimic it deterministically.
                metadata.name = `${args.name}-mock${(autoNameCounter++).toString(36).padStart(4, "0")}`;
            }
            return { id: `${metadata.namespace ?? ""}/${metadata.name}`, state: { ...inputs, metadata } };
        }
        throw new Error(`unmocked resource type ${args.type} (${args.name})`);
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        throw new Error(`unmocked provider function ${args.token}`);
    },
};

/**
 * Installs the mocks and wraps the mock monitor so every registration's dependencies are
 * recorded. Call before importing the program.
 */
export async function installMocks(project: string, stack: string): Promise<Recorder> {
    const recorder = new Recorder();
    await pulumi.runtime.setMocks(mocks, project, stack, false);
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        const raw = req.getObject()?.toJavaScript() ?? {};
        const dependencies = new Set<string>(req.getDependenciesList());
        req.getPropertydependenciesMap().forEach((deps: any) => {
            for (const urn of deps.getUrnsList()) {
                dependencies.add(urn);
            }
        });
        const secrets: string[] = [];
        secretPaths(raw, "", secrets);
        return register(req, (err: any, resp: any) => {
            if (!err && resp) {
                recorder.resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: resp.getUrn(),
                    custom: req.getCustom(),
                    parent: req.getParent(),
                    inputs: unwrapSecrets(raw) as Record<string, any>,
                    dependencies: [...dependencies],
                    secretPaths: secrets,
                    ignoreChanges: req.getIgnorechangesList(),
                    retainOnDelete: req.getRetainondelete?.() ?? false,
                    protect: req.getProtect?.() ?? false,
                });
            }
            callback(err, resp);
        });
    };
    return recorder;
}

/** Resolves once every registration the program started has completed. */
export async function settle(recorder: Recorder): Promise<void> {
    let last = -1;
    let stableRounds = 0;
    while (stableRounds < 20) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (recorder.resources.length === last) {
            stableRounds++;
        } else {
            last = recorder.resources.length;
            stableRounds = 0;
        }
    }
}

/** Resolves an Output in a test (mocks run with known values). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}
