import { beforeAll, describe, expect, it } from "vitest";
import { LoadedProgram, runProgram } from "../program";

// A file of its own: the program runs once per test file.
describe("GIVEN the dev stack with the Ingress on", () => {
    let dev: LoadedProgram;
    beforeAll(async () => {
        dev = await runProgram("dev", { ingress: { enabled: true, hosts: { mlflow: "mlflow.example.com", ui: "ui.example.com" }, tlsSecretName: "tls", auth: { mlflow: { type: "basic", secretName: "htpasswd" }, ui: { type: "basic", secretName: "htpasswd" } } }, network: { ingressControllerNamespace: "ingress" } });
    });
    it("admits the ingress controller's namespace to exactly the exposed backends", async () => {
        const flows = await new Promise<string[]>((resolve) => dev.exports.networkFlows.apply(resolve));
        expect(flows.filter((f) => f.includes("namespace ingress")).sort()).toEqual(["every pod in namespace ingress -> mlflow/server 5000/TCP", "every pod in namespace ingress -> ui/server 8501/TCP"]);
    });
});

