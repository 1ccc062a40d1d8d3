// Per-workload readiness delays on a minikube node (3 CPU, 6 GiB), the only hand-written
// numbers of the benchmark. Each entry selects pods by the program's recommended labels
// (app.kubernetes.io/name + app.kubernetes.io/component) and says which kwok stage gets the
// delay: "ready" (Pending -> Running/Ready, long-running pods) or "complete" (Running ->
// Succeeded, Job pods; their pod-ready stays instant). Derivation and sources: bench/README.md.
// `wave` is the old guide's manual wave the workload was installed in.
export const DELAYS = [
    { name: "postgres", component: "server", stage: "ready", seconds: 20, wave: 1 },
    { name: "postgres", component: "setup", stage: "complete", seconds: 10, wave: 1 },
    { name: "redis", component: "server", stage: "ready", seconds: 8, wave: 1 },
    { name: "minio", component: "server", stage: "ready", seconds: 15, wave: 1 },
    { name: "minio", component: "buckets", stage: "complete", seconds: 8, wave: 1 },
    { name: "mlflow", component: "db-upgrade", stage: "complete", seconds: 25, wave: 2 },
    { name: "mlflow", component: "server", stage: "ready", seconds: 40, wave: 2 },
    { name: "airflow", component: "migrate", stage: "complete", seconds: 45, wave: 3 },
    { name: "airflow", component: "api-server", stage: "ready", seconds: 60, wave: 3 },
    { name: "airflow", component: "scheduler", stage: "ready", seconds: 60, wave: 3 },
    { name: "airflow", component: "dag-processor", stage: "ready", seconds: 90, wave: 3 },
    { name: "airflow", component: "triggerer", stage: "ready", seconds: 90, wave: 3 },
    { name: "airflow", component: "worker", stage: "ready", seconds: 90, wave: 3 },
    // Not in the old guide's three waves as the issue defines them (wave: null); see README.
    { name: "data-api", component: "server", stage: "ready", seconds: 5, wave: null },
    { name: "ui", component: "server", stage: "ready", seconds: 5, wave: null },
    { name: "prometheus", component: "server", stage: "ready", seconds: 12, wave: null },
    { name: "grafana", component: "server", stage: "ready", seconds: 30, wave: null },
    { name: "statsd-exporter", component: "server", stage: "ready", seconds: 5, wave: null },
    // model-api is deployed with skipAwait (not Ready before the first promoted model), so
    // `pulumi up` does not wait for it; it keeps kwok's instant stage and costs 0.
];

export const NAME = "app.kubernetes.io/name";
export const COMPONENT = "app.kubernetes.io/component";
export const key = (labels) => `${labels?.[NAME] ?? ""}/${labels?.[COMPONENT] ?? ""}`;
