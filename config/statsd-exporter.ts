import { z } from "zod";
import { image, res, resources } from "./shared";

/**
 * The statsd exporter: receives Airflow's StatsD metrics (every Airflow process sends to it)
 * and serves them to Prometheus, mapped by config/monitoring/statsd/mapping.yml.
 * tools/statsd-exporter/build.sh builds the same version for the tests; keep the two tags equal.
 */
export const statsdExporterSchema = z
    .strictObject({
        image: image.default("docker.io/prom/statsd-exporter:v0.31.0"),
        resources: resources.default(res("10m", "32Mi", "96Mi")),
    })
    .prefault({});
export type StatsdExporterConfig = z.infer<typeof statsdExporterSchema>;
