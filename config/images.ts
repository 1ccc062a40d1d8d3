import { z } from "zod";

/**
 * Our five images (mlflow, airflow, model-api, data-api, ui). With `build`, `pulumi up`
 * builds them from the repository's Dockerfiles (@pulumi/docker) and every workload waits
 * for its image; without it, the `*.image` references are pulled as they are.
 */
export const imagesSchema = z
    .strictObject({
        build: z.boolean().default(false),
        /**
         * Push to `registry.server` (any cluster). Off: the image stays in the Docker daemon
         * `DOCKER_HOST` points at, e.g. minikube's after `eval $(minikube docker-env)`.
         */
        push: z.boolean().default(false),
        registry: z
            .strictObject({
                server: z.string().min(1, "must not be empty"),
                /** The password is the secret config `registryPassword`. */
                username: z.string().min(1, "must not be empty").optional(),
            })
            .optional(),
    })
    .prefault({})
    .refine((i) => !i.push || i.registry !== undefined, { message: "is required when 'images.push' is true", path: ["registry"] })
    .refine((i) => !i.push || i.build, { message: "needs 'images.build' (only built images are pushed)", path: ["push"] });
export type ImagesConfig = z.infer<typeof imagesSchema>;
