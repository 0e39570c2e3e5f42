import * as kubernetes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { after, type Edge, resourcesOf, withReasons } from "../edges";
import { helmRelease } from "../helm-release";
import type { ClusterSpec } from "../config/spec";
import type { ControlPlane } from "../controlplane";
import { NETWORK_CHARTS } from "./charts";
import { renderMetallbPool, renderMetallbValues, renderTraefikValues } from "./values";

export interface NetworkArgs {
  spec: ClusterSpec;
  controlPlane: ControlPlane;
}

type ChartRef = (typeof NETWORK_CHARTS)[keyof typeof NETWORK_CHARTS];

/**
 * What gives Services an address and routes traffic in: MetalLB (L2) with its
 * pool, and Traefik behind a LoadBalancer Service. Resources: `metallb`,
 * `metallb-pool`, `metallb-l2advertisement`, `traefik`.
 */
export class Network extends pulumi.ComponentResource {
  readonly releases: Record<string, kubernetes.helm.v3.Release> = {};
  /** The IPAddressPool and L2Advertisement: once they exist, MetalLB hands out addresses. */
  readonly addressPool: pulumi.Resource[] = [];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:network:Network", name, {}, opts);
    const { spec, controlPlane } = args;
    const provider = controlPlane.provider;

    if (spec.cluster.networking.loadBalancer) {
      const metallb = this.release(
        provider,
        "metallb",
        NETWORK_CHARTS.metallb,
        spec.cluster.networking.loadBalancer.version,
        renderMetallbValues(),
        [...controlPlane.clusterReady.map((r) => after(r, "The controller and speakers need pod networking."))],
      );
      this.releases.metallb = metallb;
      for (const obj of renderMetallbPool(spec)) {
        const kind = obj.kind === "IPAddressPool" ? "pool" : "l2advertisement";
        this.addressPool.push(
          withReasons(
            new kubernetes.apiextensions.CustomResource(`metallb-${kind}`, obj, { parent: this, provider, dependsOn: [metallb] }),
            [
              after(
                metallb,
                "The chart brings the CRDs and the webhook that validates these objects (failurePolicy Fail); the release waits for it.",
              ),
            ],
          ),
        );
      }
    }

    const traefik = spec.ingress?.traefik;
    if (traefik?.enabled) {
      this.releases.traefik = this.release(provider, "traefik", NETWORK_CHARTS.traefik, traefik.version, renderTraefikValues(spec), [
        ...controlPlane.clusterReady.map((r) => after(r, "Traefik's pods need pod networking.")),
        ...this.addressPool.map((r) =>
          after(r, "Its Service asks MetalLB for an address; the pool must exist or the release waits for a Service that stays pending."),
        ),
        ...(controlPlane.gatewayApiCrds
          ? [
              after(
                controlPlane.gatewayApiCrds,
                "With the Gateway provider on, the chart creates a GatewayClass and a Gateway: their CRDs must exist.",
              ),
            ]
          : []),
      ]);
    }
    this.registerOutputs({});
  }

  private release(
    provider: kubernetes.Provider,
    name: string,
    chart: ChartRef,
    version: string,
    values: Record<string, unknown>,
    edges: Edge[],
  ): kubernetes.helm.v3.Release {
    return withReasons(
      helmRelease(name, chart, { version, values, timeout: 600 }, { parent: this, provider, dependsOn: resourcesOf(edges) }),
      edges,
    );
  }
}
