import { z } from "zod";
import { image, res, resources } from "./shared";

/** Grafana: provisioned Prometheus datasource and the dashboards under config/monitoring/dashboards. */
export const grafanaSchema = z
    .strictObject({
        image: image.default("docker.io/grafana/grafana:12.2.1"),
        /** Login of the admin user; its password is generated (Secret `grafana-credentials`). */
        adminUser: z.string().regex(/^[A-Za-z0-9_.@-]+$/, "must be letters, digits or _ . @ -").default("admin"),
        resources: resources.default(res("50m", "128Mi", "384Mi")),
    })
    .prefault({});
export type GrafanaConfig = z.infer<typeof grafanaSchema>;
