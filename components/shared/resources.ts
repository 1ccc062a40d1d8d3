import * as k8s from "@pulumi/kubernetes";
import type { Resources } from "../../config";

/**
 * Container resources from config. Requests size the scheduler's view; the memory limit
 * stops one process from starving the node. CPU is deliberately not limited: it is
 * compressible, and CFS throttling hurts latency more than it protects neighbours.
 */
export function containerResources(r: Resources): k8s.types.input.core.v1.ResourceRequirements {
    return {
        requests: { cpu: r.cpu, memory: r.memory },
        limits: { memory: r.memoryLimit },
    };
}
