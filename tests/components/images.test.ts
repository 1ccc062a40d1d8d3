import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { k8sObject, registration } from "../helpers";
import { settle, valueOf } from "../mocks";
import { LoadedProgram, ROOT, runProgram } from "../program";

let program: LoadedProgram;
beforeAll(async () => {
    program = await runProgram("dev");
});

// The program's own builds (the variant tests below register more, with other references).
const built = () => program.recorder.ofType("docker:index/image:Image").filter((r) => r.inputs.imageName.startsWith("mlops-platform/"));

describe("GIVEN the dev stack (images.build), WHEN the program runs, THEN our images", () => {
    it("are built from the repository's Dockerfiles into the local Docker, not pushed", () => {
        expect(Object.fromEntries(built().map((r) => [r.name, [r.inputs.imageName, path.relative(ROOT, r.inputs.build.dockerfile), r.inputs.skipPush]]))).toEqual({
            mlflow: ["mlops-platform/mlflow:3.5.1-1", "services/mlflow/Dockerfile", true],
            airflow: ["mlops-platform/airflow:3.3.2-1", "services/airflow/Dockerfile", true],
            "model-api": ["mlops-platform/model-api:0.1.0", "services/model-api/Dockerfile", true],
            "data-api": ["mlops-platform/data-api:0.1.0", "services/data-api/Dockerfile", true],
            ui: ["mlops-platform/ui:0.1.0", "services/ui/Dockerfile", true],
        });
        for (const r of built()) expect(path.resolve(r.inputs.build.context)).toBe(ROOT);
    });

    it("are what the workloads run, and every workload waits for its build", () => {
        for (const [kind, name, image] of [
            ["Deployment", "mlflow", "mlflow"],
            ["Job", "mlflow-db-upgrade", "mlflow"],
            ["Job", "airflow-migrate", "airflow"],
            ["Deployment", "airflow-worker", "airflow"],
            ["Deployment", "model-api", "model-api"],
            ["Deployment", "data-api", "data-api"],
            ["Deployment", "ui", "ui"],
        ] as const) {
            const build = program.recorder.get("docker:index/image:Image", image);
            expect(program.recorder.ancestors(registration(program.recorder, kind, name).urn), `${kind} ${name}`).toContain(build.urn);
            expect(k8sObject(program.recorder, kind, name).spec.template.spec.containers[0].image).toBe(build.inputs.imageName);
        }
    });
});

describe("PlatformImages", () => {
    it("GIVEN build off (stack ci), creates no build and passes the configured references through", async () => {
        const { PlatformImages } = await import("../../components/images");
        const images = new PlatformImages("images-off", {
            config: { build: false, push: false },
            context: ROOT,
            images: { ui: { ref: "mlops-platform/ui:0.1.0", dockerfile: "services/ui/Dockerfile" } },
        });
        await settle(program.recorder);
        expect(built().filter((r) => r.name === "ui")).toHaveLength(1); // only the program's own ui build
        expect(await valueOf(images.ref("ui"))).toBe("mlops-platform/ui:0.1.0");
        expect(() => images.ref("nope")).toThrow("PlatformImages has no image 'nope'");
    });

    it("GIVEN push to a registry, pushes with the secret password and pins workloads by digest", async () => {
        const { PlatformImages } = await import("../../components/images");
        const images = new PlatformImages("images-push", {
            config: { build: true, push: true, registry: { server: "registry.example.invalid/team", username: "ci" } },
            context: ROOT,
            registryPassword: "from-secret-config",
            images: { ui: { ref: "mlops-platform/ui:0.1.0", dockerfile: "services/ui/Dockerfile" } },
        });
        await settle(program.recorder);
        const push = program.recorder.ofType("docker:index/image:Image").find((r) => r.inputs.imageName.startsWith("registry.example.invalid/"))!;
        expect(push.inputs.imageName).toBe("registry.example.invalid/team/mlops-platform/ui:0.1.0");
        expect(push.inputs.skipPush).toBe(false);
        expect(push.inputs.registry).toEqual({ server: "registry.example.invalid/team", username: "ci", password: "from-secret-config" });
        expect(await valueOf(images.ref("ui"))).toMatch(/^registry\.example\.invalid\/team\/mlops-platform\/ui@sha256:0{64}$/);
    });

    it("rejects push without a registry, naming the field", async () => {
        const { parseConfig } = await import("../../config");
        expect(() => parseConfig({ "mlops-platform:storageClass": "s", "mlops-platform:images": JSON.stringify({ build: true, push: true }) }, "mlops-platform")).toThrow(
            "'images.registry' is required when 'images.push' is true",
        );
    });
});
