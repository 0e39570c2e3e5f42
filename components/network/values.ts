import type { ClusterSpec } from "../config/spec";
import { METALLB_ADDRESS_ANNOTATION, METALLB_API_VERSION, METALLB_POOL_NAME, NETWORK_CHARTS } from "./charts";

/** Values for the `metallb` chart: L2 mode only, so the speaker runs without its FRR (BGP) container, which 0.15 enables by default. */
export function renderMetallbValues(): Record<string, unknown> {
  return { speaker: { frr: { enabled: false } } };
}

export interface ClusterObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: Record<string, unknown>;
}

/** The IPAddressPool with `loadBalancer.addresses` and the L2Advertisement that announces it. */
export function renderMetallbPool(spec: ClusterSpec): ClusterObject[] {
  const lb = spec.cluster.networking.loadBalancer;
  if (!lb) return [];
  const namespace = NETWORK_CHARTS.metallb.namespace;
  return [
    {
      apiVersion: METALLB_API_VERSION,
      kind: "IPAddressPool",
      metadata: { name: METALLB_POOL_NAME, namespace },
      spec: { addresses: lb.addresses.map((a) => a.replace(/\s+/g, "")) },
    },
    {
      apiVersion: METALLB_API_VERSION,
      kind: "L2Advertisement",
      metadata: { name: METALLB_POOL_NAME, namespace },
      spec: { ipAddressPools: [METALLB_POOL_NAME] },
    },
  ];
}

/**
 * Values for the `traefik` chart: its Service of type LoadBalancer, with the
 * requested address as MetalLB reads it, and its Gateway API provider when the
 * CRDs are installed.
 */
export function renderTraefikValues(spec: ClusterSpec): Record<string, unknown> {
  const traefik = spec.ingress?.traefik;
  const ip = traefik?.loadBalancerIP;
  const values: Record<string, unknown> = {
    service: {
      spec: { type: "LoadBalancer" },
      ...(ip !== undefined ? { annotations: { [METALLB_ADDRESS_ANNOTATION]: ip } } : {}),
    },
  };
  if (spec.cluster.networking.gatewayApi) values.providers = { kubernetesGateway: { enabled: true } };
  return values;
}
