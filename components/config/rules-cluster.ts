import * as ipaddr from "ipaddr.js";
import { type Finding, error, warning } from "./findings";
import { cidrsOverlap, inCidr, isAddress, isIp, parseCidr, unusableAddress } from "./network";
import { isControlPlane } from "./predicates";
import { DEFAULT_KUBELET_ROOT_DIR, type ClusterInput } from "./schema";
import type { KeepalivedSettings } from "./spec";
import type { HostsContext } from "./rules-hosts";

/** The rules of the cluster section: the Kubernetes version, the API endpoint and its keepalived, the Pod and Service networks. */

/** The lowest Kubernetes minor whose kubeadm reads the `v1beta4` config we render. */
export const MIN_KUBERNETES_MINOR = 31;
/**
 * The newest minor this program knows: kubeadm's behaviour is checked up
 * to 1.36 (v1beta3 removed, flex-volume hostPath dropped), and the storage
 * charts check their own ranges against the version. A release beyond this is
 * a typo or untested: raise it once the newer release has been checked.
 */
export const MAX_KUBERNETES_MINOR = 36;

/**
 * Checks the cluster section against itself and the hosts' addresses; returns
 * the keepalived settings it resolves (off unless a VIP with an interface).
 */
export function clusterRules(
  cluster: ClusterInput,
  { hosts, parsed: parsedHosts, firstIpHost, family: hostFamily }: HostsContext,
  /** The address of each listed host, also of one that failed to parse (then it is no VIP either). */
  hostAddresses: readonly string[],
  findings: Finding[],
): KeepalivedSettings {
  const controlPlaneCount = parsedHosts.filter(isControlPlane).length;
  let keepalived: KeepalivedSettings = { enabled: false };
  const v = cluster.kubernetesVersion;
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) {
    const fix = /^v\d+\.\d+\.\d+$/.test(v) ? `write "${v.slice(1)}" without the leading v` : 'write the exact release, e.g. "1.33.4"';
    findings.push(error("cluster.kubernetesVersion", `must be x.y.z, got ${JSON.stringify(v)}: ${fix}`));
  } else if (Number(m[1]) !== 1 || Number(m[2]) < MIN_KUBERNETES_MINOR) {
    findings.push(
      error(
        "cluster.kubernetesVersion",
        `${v} is older than 1.${MIN_KUBERNETES_MINOR}, the first release whose kubeadm reads the v1beta4 config this program writes: choose 1.${MIN_KUBERNETES_MINOR}.0 or newer`,
      ),
    );
  } else if (Number(m[2]) > MAX_KUBERNETES_MINOR) {
    findings.push(
      error(
        "cluster.kubernetesVersion",
        `${v} is newer than any release this program knows: it supports Kubernetes 1.${MIN_KUBERNETES_MINOR} to 1.${MAX_KUBERNETES_MINOR} (kubeadm config, storage charts and node preparation are checked against those). Choose a 1.${MIN_KUBERNETES_MINOR}.x to 1.${MAX_KUBERNETES_MINOR}.x release, e.g. "1.33.4"`,
      ),
    );
  }

  const address = cluster.endpoint.address;
  const addressIsIp = isIp(address);
  if (!isAddress(address)) {
    findings.push(
      error(
        "cluster.endpoint.address",
        `${JSON.stringify(address)} is neither an IP address nor a DNS name: set the virtual IP for the API server, e.g. 192.168.10.10`,
      ),
    );
  }
  const unusable = unusableAddress(address);
  if (unusable) {
    findings.push(
      error(
        "cluster.endpoint.address",
        `${address} is ${unusable}: clients could not reach the API server there. Use the VIP or load balancer address on the hosts' network`,
      ),
    );
  } else if (addressIsIp && hostFamily && ipaddr.parse(address).kind() !== hostFamily) {
    findings.push(
      error(
        "cluster.endpoint.address",
        `${address} is an ${ipaddr.parse(address).kind() === "ipv6" ? "IPv6" : "IPv4"} address, but the hosts have ${hostFamily === "ipv6" ? "IPv6" : "IPv4"} addresses (e.g. ${firstIpHost?.name} at ${firstIpHost?.address}): the cluster is single-stack and the control planes must reach the endpoint in their own family. Use an ${hostFamily === "ipv6" ? "IPv6" : "IPv4"} address`,
      ),
    );
  }
  // The address of a host (any listed one, even one with errors of its own): then it is no VIP.
  const ownerIndex = hostAddresses.indexOf(address);
  const owner = ownerIndex >= 0 ? (hosts[ownerIndex]?.name ?? `hosts[${ownerIndex}]`) : undefined;
  const ka = cluster.endpoint.keepalived;
  // keepalived is on by default when the address is an IP that is no host's own (a VIP to hold).
  const kaByDefault = ka?.enabled === undefined;
  const kaEnabled = ka?.enabled ?? (addressIsIp && owner === undefined);
  if (!kaEnabled && owner !== undefined && controlPlaneCount >= 2) {
    findings.push(
      warning(
        "cluster.endpoint.address",
        `${address} is host ${owner}'s own address, so with ${controlPlaneCount} control planes the API endpoint still dies with that one host. Pick a free IP on the hosts' network as endpoint.address and let keepalived float it between the control planes (keepalived: {interface: eth0}), or point it at your own load balancer`,
      ),
    );
  }
  if (kaEnabled) {
    if (!addressIsIp) {
      findings.push(
        error(
          "cluster.endpoint.keepalived.enabled",
          `keepalived can only hold an IP address, but cluster.endpoint.address is ${JSON.stringify(address)}: set the address to a free IP on the hosts' network, or set keepalived.enabled: false and point the DNS name at your own load balancer`,
        ),
      );
    }
    if (!ka?.interface) {
      const why = kaByDefault
        ? `keepalived is enabled by default because cluster.endpoint.address ${address} is an IP that is no host's own (a VIP to hold), so it is required: name the network interface that carries the hosts' addresses on the control planes, e.g. eth0 or enp1s0, or set keepalived.enabled: false if your own load balancer holds ${address}`
        : "is required when keepalived is enabled: name the network interface that carries the hosts' addresses on the control planes, e.g. eth0 or enp1s0";
      findings.push(error("cluster.endpoint.keepalived.interface", why));
    } else {
      keepalived = { enabled: true, interface: ka.interface, virtualRouterId: ka.virtualRouterId };
    }
    if (owner !== undefined) {
      findings.push(
        error(
          "cluster.endpoint.address",
          `${address} is also host ${owner}'s address, but keepalived needs a free address to float between control planes: pick an unused IP on the same network`,
        ),
      );
    }
  }

  const podCidr = parseCidr(cluster.networking.podSubnet);
  const serviceCidr = parseCidr(cluster.networking.serviceSubnet);
  if (!podCidr)
    findings.push(
      error(
        "cluster.networking.podSubnet",
        `${JSON.stringify(cluster.networking.podSubnet)} is not a network in CIDR form with zero host bits, e.g. 10.244.0.0/16`,
      ),
    );
  if (!serviceCidr)
    findings.push(
      error(
        "cluster.networking.serviceSubnet",
        `${JSON.stringify(cluster.networking.serviceSubnet)} is not a network in CIDR form with zero host bits, e.g. 10.96.0.0/12`,
      ),
    );
  if (podCidr && serviceCidr && cidrsOverlap(podCidr, serviceCidr)) {
    findings.push(
      error(
        "cluster.networking.serviceSubnet",
        `${cluster.networking.serviceSubnet} overlaps podSubnet ${cluster.networking.podSubnet}: Services and Pods would get the same addresses. Use disjoint ranges, e.g. podSubnet 10.244.0.0/16 and serviceSubnet 10.96.0.0/12`,
      ),
    );
  }
  for (const [key, cidr, raw] of [
    ["podSubnet", podCidr, cluster.networking.podSubnet],
    ["serviceSubnet", serviceCidr, cluster.networking.serviceSubnet],
  ] as const) {
    if (!cidr) continue;
    if (inCidr(address, cidr)) {
      findings.push(
        error(
          `cluster.networking.${key}`,
          `${raw} contains the API endpoint ${address}: the cluster would route it inside the overlay. Choose a ${key} outside the hosts' network`,
        ),
      );
    }
    hosts.forEach((h, i) => {
      if (h && inCidr(h.address, cidr)) {
        findings.push(
          error(
            `hosts[${i}].address`,
            `${h.address} lies inside cluster.networking.${key} ${raw}: the host network and the cluster's ${key === "podSubnet" ? "Pod" : "Service"} network overlap, so traffic to the host would be routed into the cluster. Move ${key} to a range your LAN does not use`,
          ),
        );
      }
    });
  }

  if (cluster.kubelet.rootDir !== DEFAULT_KUBELET_ROOT_DIR) {
    findings.push(
      error(
        "cluster.kubelet.rootDir",
        `is ${cluster.kubelet.rootDir}, but CSI drivers (Longhorn, Rook-Ceph, local volumes) hard-code hostPaths under ${DEFAULT_KUBELET_ROOT_DIR} and break when the kubelet root moves. Keep the default and, for more space, add a disk with use: ephemeral, which is mounted and bind-mounted at ${DEFAULT_KUBELET_ROOT_DIR}`,
      ),
    );
  }
  return keepalived;
}
