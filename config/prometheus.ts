import { z } from "zod";
import { image, res, resources, storageSize } from "./shared";

/** A Prometheus duration: `30s`, `1m`, `15d`, `1d12h`. */
export const promDuration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, "must be a duration such as '30s', '15d' or '1d12h'");

/** Prometheus: scrapes annotated pods in the platform's namespace and evaluates config/monitoring/alerts.yml. */
export const prometheusSchema = z
    .strictObject({
        image: image.default("docker.io/prom/prometheus:v3.5.0"),
        retention: z
            .strictObject({
                /** `--storage.tsdb.retention.time`. */
                time: promDuration.default("7d"),
                /**
                 * `--storage.tsdb.retention.size`: kept below the volume size so the volume never
                 * fills up (Prometheus units: B, KB, MB, GB, TB).
                 */
                size: z.string().regex(/^\d+(B|KB|MB|GB|TB|PB)$/, "must be a size such as '1536MB' or '4GB'").default("1536MB"),
            })
            .prefault({}),
        storage: z
            .strictObject({
                size: storageSize.default("2Gi"),
                /** Overrides the platform storageClass for this volume. */
                storageClass: z.string().min(1, "must not be empty").optional(),
            })
            .prefault({}),
        scrapeInterval: promDuration.default("30s"),
        evaluationInterval: promDuration.default("30s"),
        resources: resources.default(res("100m", "384Mi", "768Mi")),
    })
    .prefault({});
export type PrometheusConfig = z.infer<typeof prometheusSchema>;
