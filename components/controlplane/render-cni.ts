import type { ClusterSpec } from "../config/spec";

/**
 * The CNI Helm chart per `networking.cni`, pinned. Versions checked in
 * November 2026: Cilium 1.19 is the current stable line (1.19.3 released),
 * Calico's tigera-operator chart v3.32.2 (charts carry a leading "v").
 */
export interface CniChart {
  release: string;
  chart: string;
  version: string;
  repo: string;
  namespace: string;
  values: Record<string, unknown>;
}

export const CILIUM_VERSION = "1.19.3";
export const CALICO_VERSION = "v3.32.2";

export function renderCniChart(spec: ClusterSpec): CniChart | undefined {
  const c = spec.cluster;
  switch (c.networking.cni) {
    case "none":
      return undefined;
    case "cilium":
      return {
        release: "cilium",
        chart: "cilium",
        version: CILIUM_VERSION,
        repo: "https://helm.cilium.io/",
        namespace: "kube-system",
        values: {
          // Use the node podCIDRs kubeadm's controller-manager allocates from networking.podSubnet,
          // not Cilium's own 10.0.0.0/8 cluster pool, which may overlap the LAN.
          ipam: { mode: "kubernetes" },
          // Reach the API through the VIP, not a single control plane.
          k8sServiceHost: c.endpoint.address,
          k8sServicePort: c.endpoint.port,
          operator: { replicas: Math.min(2, spec.hosts.length) },
          // Gateway API (CRDs installed before this release): Cilium's controller needs kube-proxy replacement or its
          // NodePort support; kube-proxy stays (kubeadm's), so NodePort support it is (a finding on gatewayApi says so).
          ...(c.networking.gatewayApi ? { gatewayAPI: { enabled: true }, nodePort: { enabled: true } } : {}),
        },
      };
    case "calico":
      return {
        release: "calico",
        chart: "tigera-operator",
        version: CALICO_VERSION,
        repo: "https://docs.tigera.io/calico/charts",
        namespace: "tigera-operator",
        values: {
          installation: {
            calicoNetwork: {
              ipPools: [{ cidr: c.networking.podSubnet, encapsulation: "VXLANCrossSubnet", natOutgoing: "Enabled", nodeSelector: "all()" }],
            },
          },
        },
      };
    default: {
      const never: never = c.networking.cni;
      throw new Error(`unknown CNI ${String(never)}`);
    }
  }
}
