import { z } from "zod";
import { image, res, resources } from "./shared";

/** Grafana: provisioned Prometheus datasource and the dashboards under config/monitoring/dashboards. */
export const grafanaSchema = z
    .strictObject({
        /**
         * Off: no Grafana objects at all (the dashboards stay in config/monitoring). For clusters
         * that cannot run its image, like the real node tier here, where no Grafana image can be built.
         */
        enabled: z.boolean().default(true),
        image: image.default("docker.io/grafana/grafana:12.2.1"),
        /** Login of the admin user; its password is generated (Secret `grafana-credentials`). */
        adminUser: z.string().regex(/^[A-Za-z0-9_.@-]+$/, "must be letters, digits or _ . @ -").default("admin"),
        resources: resources.default(res("50m", "128Mi", "384Mi")),
    })
    .prefault({});
export type GrafanaConfig = z.infer<typeof grafanaSchema>;
