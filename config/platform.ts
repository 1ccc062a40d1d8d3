import { z } from "zod";
import { dnsLabel } from "./shared";

/** Settings that apply to the whole platform rather than one service. */
export const platformSchema = {
    /** Namespace every object of the platform lives in. */
    namespace: dnsLabel.default("mlops"),
    /**
     * StorageClass for every PersistentVolumeClaim. Required, with no default, because the
     * right answer differs by cluster (minikube: `standard`, k3s: `local-path`) and a wrong
     * guess leaves PVCs Pending without an error.
     */
    storageClass: z.string({ error: "required: set it with `pulumi config set storageClass <class>`" }).min(1, "must not be empty"),
    /** kubeconfig context to deploy to; unset means the current context. */
    kubeContext: z.string().min(1, "must not be empty").optional(),
    /**
     * Keep data on `pulumi destroy`: StatefulSet PVCs use the Retain policy and the namespace
     * (which holds them) is left in the cluster.
     */
    protectData: z.boolean().default(false),
    /**
     * Changing this value regenerates every rotatable credential (database roles, Redis,
     * MinIO) on the next `pulumi up`; consumers restart through their checksum annotations.
     */
    credentialsEpoch: z.string().min(1, "must not be empty").default("1"),
};
