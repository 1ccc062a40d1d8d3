import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { httpService, HttpServiceSpec } from "./shared";

/**
 * Base of our stateless HTTP services (model-api, data-api, ui): a Deployment and a Service
 * built by the shared httpService() builder, and the in-cluster URL as the output others use.
 */
export abstract class HttpServiceComponent extends pulumi.ComponentResource {
    /** In-cluster base URL (port omitted when it is 80); resolves once the Deployment is created and awaited. */
    public readonly url: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly deployment: k8s.apps.v1.Deployment;

    protected constructor(type: string, name: string, spec: HttpServiceSpec, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        const objects = httpService(spec);
        this.deployment = new k8s.apps.v1.Deployment(name, objects.deployment, { parent: this });
        const service = new k8s.core.v1.Service(name, objects.service, { parent: this });
        const port = spec.servicePort === 80 ? "" : `:${spec.servicePort}`;
        this.serviceName = service.metadata.name;
        this.url = pulumi
            .all([service.metadata.name, service.metadata.namespace, this.deployment.metadata.name])
            .apply(([svc, ns]) => `http://${svc}.${ns}.svc.cluster.local${port}`);
        this.registerOutputs({ url: this.url });
    }
}
