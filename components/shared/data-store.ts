import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabelArgs, labels, selectorLabels } from "./labels";
import { VolumeRequest } from "./volume-request";

type ServicePort = k8s.types.input.core.v1.ServicePort;
type PodSpec = k8s.types.input.core.v1.PodSpec;

/** The persistent volume of a data store: one claim per replica, named `data-<store>-<ordinal>`. */
export interface DataVolume {
    /** Where the size and class come from in stack config, named in errors: `postgres.storage`. */
    readonly configPath: string;
    readonly size: string;
    readonly storageClass: string;
}

export interface DataStoreArgs {
    readonly namespace: pulumi.Input<string>;
    /** Labels of the server; the version goes on the pods and objects, never on the claims. */
    readonly labels: LabelArgs;
    readonly ports: ServicePort[];
    readonly serviceAnnotations?: Record<string, string>;
    readonly podAnnotations?: Record<string, pulumi.Input<string>>;
    /** The pod; it mounts the volume by the name `data` (see DATA_VOLUME). */
    readonly podSpec: PodSpec;
    /** No volume: the pod brings its own `data` volume (e.g. an emptyDir). */
    readonly volume?: DataVolume;
    /** Resources the StatefulSet must wait for (e.g. RBAC its server needs at start). */
    readonly dependsOn?: pulumi.Resource[];
}

export interface DataStore {
    readonly headless: k8s.core.v1.Service;
    readonly service: k8s.core.v1.Service;
    readonly statefulSet: k8s.apps.v1.StatefulSet;
    /** The claims' requested size, applied to the live claims (expansion), one per replica. */
    readonly claimSizes: k8s.core.v1.PersistentVolumeClaimPatch[];
}

/** The volume name pods mount and the claim template carries. */
export const DATA_VOLUME = "data";
const REPLICAS = 1;
/** The claim template's storage request: set at creation, then owned by the claim patches. */
export const CLAIM_SIZE_PATH = "spec.volumeClaimTemplates[0].spec.resources.requests.storage";

/**
 * A single-replica data store (Postgres, Redis, MinIO, Prometheus): headless and ClusterIP
 * Services and a StatefulSet whose claims no routine `pulumi up` can lose.
 *
 * - The claim template carries only stable labels (no version), so an image bump leaves
 *   `spec.volumeClaimTemplates` alone; a change there is a replacement of the StatefulSet.
 * - A storage size change never touches the template (its size is in ignoreChanges): it is
 *   applied to the live claims by a server-side patch, which is a volume expansion. A shrink,
 *   or a change of class, is refused at preview by a VolumeRequest that names the config field.
 * - The claims are retained when the StatefulSet is deleted or scaled down, so even a
 *   replacement re-attaches the same volumes. `pulumi destroy` removes them with the
 *   namespace, unless `protectData` keeps the namespace.
 *
 * Children are created with `parent`, under the caller's names, so URNs stay those of the
 * component that calls this.
 */
export function dataStore(name: string, args: DataStoreArgs, parent: pulumi.Resource): DataStore {
    const selector = selectorLabels(args.labels);
    const objectLabels = labels(args.labels);
    const headless = new k8s.core.v1.Service(
        `${name}-headless`,
        {
            metadata: { name: `${name}-headless`, namespace: args.namespace, labels: objectLabels },
            spec: { clusterIP: "None", selector, ports: args.ports },
        },
        { parent },
    );
    const service = new k8s.core.v1.Service(
        name,
        {
            metadata: { name, namespace: args.namespace, labels: objectLabels, annotations: args.serviceAnnotations },
            spec: { type: "ClusterIP", selector, ports: args.ports },
        },
        { parent },
    );

    const volume = args.volume;
    const request = volume ? new VolumeRequest(`${name}-${DATA_VOLUME}`, volume, { parent }) : undefined;
    const statefulSet = new k8s.apps.v1.StatefulSet(
        name,
        {
            metadata: { name, namespace: args.namespace, labels: objectLabels },
            spec: {
                serviceName: headless.metadata.name,
                replicas: REPLICAS,
                selector: { matchLabels: selector },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                template: {
                    metadata: { labels: objectLabels, annotations: args.podAnnotations },
                    spec: args.podSpec,
                },
                volumeClaimTemplates: volume ? [claimTemplate(args.labels, volume)] : [],
            },
        },
        {
            parent,
            dependsOn: [...(args.dependsOn ?? []), ...(request ? [request] : [])],
            ignoreChanges: volume ? [CLAIM_SIZE_PATH] : [],
        },
    );

    const claimSizes = volume
        ? Array.from({ length: REPLICAS }, (_, ordinal) => {
              const claim = `${DATA_VOLUME}-${name}-${ordinal}`;
              return new k8s.core.v1.PersistentVolumeClaimPatch(
                  claim,
                  {
                      metadata: {
                          name: claim,
                          namespace: args.namespace,
                          annotations: {
                              // The StatefulSet controller wrote the size when it created the claim.
                              "pulumi.com/patchForce": "true",
                              // The claim is already Bound, while the provider's claim awaiter (4.25)
                              // waits for Pending on a WaitForFirstConsumer class (local-path, k3s)
                              // until it times out: found on the real node. Expansion is the storage
                              // driver's business; the StatefulSet's readiness is awaited already.
                              "pulumi.com/skipAwait": "true",
                          },
                      },
                      spec: { resources: { requests: { storage: request!.size } } },
                  },
                  // The claim exists once the StatefulSet is ready. Deleting this patch must not
                  // un-set the size (a claim needs one): it is dropped from the state only.
                  { parent, dependsOn: [statefulSet], retainOnDelete: true },
              );
          })
        : [];

    return { headless, service, statefulSet, claimSizes };
}

/** The claim template: stable labels only, so nothing but a real storage change alters it. */
export function claimTemplate(labelArgs: LabelArgs, volume: DataVolume): k8s.types.input.core.v1.PersistentVolumeClaim {
    const { version: _version, ...stable } = labelArgs;
    return {
        metadata: { name: DATA_VOLUME, labels: labels(stable) },
        spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: volume.storageClass,
            resources: { requests: { storage: volume.size } },
        },
    };
}
