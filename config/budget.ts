import { Resources } from "./shared";

/**
 * The dev profile's resource budget: what the whole platform may request on a laptop
 * cluster started with `minikube start --cpus 3 --memory 6g`.
 *
 * The old guide asked for 6 CPUs and 10 GiB. Requests (not limits) decide whether the
 * scheduler can place a pod, so the budget is about requests. Memory limits are set per
 * container so one runaway process cannot starve the node; CPU is not limited (it is
 * compressible, and CPU limits throttle latency-sensitive servers for no gain here).
 */
export const DEV_NODE = { cpu: "3", memory: "6Gi" } as const;

/**
 * What minikube's own pods request (kube-apiserver 250m, controller-manager 200m,
 * scheduler 100m, etcd 100m/100Mi, coredns 100m/70Mi) plus headroom for the kubelet
 * and system daemons, rounded up.
 */
export const SYSTEM_RESERVE = { cpu: "750m", memory: "640Mi" } as const;

/**
 * Requests allotted to each component, including the ones still to come, so that each
 * new component lands inside a budget that was written down first. Job and CronJob pods are counted
 * as if they all ran at once with the servers, which overstates a real rollout.
 */
export const ALLOCATIONS: Readonly<Record<string, Pick<Resources, "cpu" | "memory">>> = {
    postgres: { cpu: "250m", memory: "448Mi" }, // server + setup Job
    redis: { cpu: "50m", memory: "64Mi" },
    minio: { cpu: "150m", memory: "320Mi" }, // server + bucket Job (its mc steps run one at a time)
    mlflow: { cpu: "170m", memory: "576Mi" }, // server + gc CronJob
    airflow: { cpu: "870m", memory: "2880Mi" }, // api-server, scheduler, dag-processor, triggerer, 1 worker, git-sync sidecars, migrate Job, db-clean CronJob
    "model-api": { cpu: "120m", memory: "320Mi" }, // server + prune CronJob
    "data-api": { cpu: "50m", memory: "128Mi" },
    ui: { cpu: "50m", memory: "128Mi" },
    prometheus: { cpu: "100m", memory: "384Mi" },
    grafana: { cpu: "50m", memory: "128Mi" },
    "statsd-exporter": { cpu: "10m", memory: "32Mi" },
    backup: { cpu: "50m", memory: "64Mi" }, // the scheduled backup (the restore template runs only with the consumers scaled to 0)
};
