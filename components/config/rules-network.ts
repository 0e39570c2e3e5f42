import * as ipaddr from "ipaddr.js";
import { type Finding, error, warning } from "./findings";
import type { ClusterInput, HostInput, IngressInput } from "./schema";

const POOL_KEY = "cluster.networking.loadBalancer.addresses";

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

/** One entry of the MetalLB pool: its first and last address, inclusive. */
export interface AddressRange {
  text: string;
  first: Ip;
  last: Ip;
}

function isPlainIp(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s) || (s.includes(":") && ipaddr.IPv6.isValid(s));
}

function toBig(ip: Ip): bigint {
  return ip.toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** The number of addresses in a range (MetalLB hands out every one of them, network and broadcast addresses included). */
export function rangeSize(r: AddressRange): bigint {
  return toBig(r.last) - toBig(r.first) + 1n;
}

function contains(r: AddressRange, ip: Ip): boolean {
  if (ip.kind() !== r.first.kind()) return false;
  const v = toBig(ip);
  return v >= toBig(r.first) && v <= toBig(r.last);
}

function overlaps(a: AddressRange, b: AddressRange): boolean {
  if (a.first.kind() !== b.first.kind()) return false;
  return toBig(a.first) <= toBig(b.last) && toBig(b.first) <= toBig(a.last);
}

function cidrRange(text: string): AddressRange | undefined {
  try {
    const [net, bits] = ipaddr.parseCIDR(text);
    const first = net.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
    const last = net.kind() === "ipv4" ? ipaddr.IPv4.broadcastAddressFromCIDR(text) : ipaddr.IPv6.broadcastAddressFromCIDR(text);
    void bits;
    return { text, first, last };
  } catch {
    return undefined;
  }
}

/**
 * An entry of `loadBalancer.addresses` as MetalLB reads it: "a-b" (spaces around the dash allowed) or a CIDR.
 * Returns the range, or what is wrong with the entry.
 */
export function parseAddressRange(text: string): AddressRange | string {
  const t = text.trim();
  if (t.includes("/")) {
    const [addr] = t.split("/");
    if (!isPlainIp(addr ?? "") || cidrRange(t) === undefined) {
      return `${JSON.stringify(text)} is not a CIDR such as 192.168.10.192/28`;
    }
    const r = cidrRange(t) as AddressRange;
    if (r.first.toString() !== ipaddr.parse(addr ?? "").toString()) {
      return `${JSON.stringify(text)} has host bits set: the network of that prefix starts at ${r.first.toString()}; write ${r.first.toString()}/${t.split("/")[1]} or a range a-b`;
    }
    return r;
  }
  const parts = t.split("-").map((p) => p.trim());
  if (parts.length !== 2 || !isPlainIp(parts[0]) || !isPlainIp(parts[1])) {
    return `${JSON.stringify(text)} is neither a range "first-last" of two IP addresses nor a CIDR, e.g. "192.168.10.200-192.168.10.220" or "192.168.10.192/28"`;
  }
  const first = ipaddr.parse(parts[0]);
  const last = ipaddr.parse(parts[1]);
  if (first.kind() !== last.kind()) return `${JSON.stringify(text)} mixes an IPv4 and an IPv6 address: both ends must be of one family`;
  if (toBig(first) > toBig(last)) {
    return `${JSON.stringify(text)} is reversed: its first address is above its last. Write ${parts[1]}-${parts[0]}`;
  }
  return { text, first, last };
}

/** The addresses of the pool, or undefined when an entry is malformed. */
export function parsePool(addresses: readonly string[]): AddressRange[] | undefined {
  const out: AddressRange[] = [];
  for (const a of addresses) {
    const r = parseAddressRange(a);
    if (typeof r === "string") return undefined;
    out.push(r);
  }
  return out;
}

/** Whether `address` is one MetalLB may hand out from this pool. */
export function poolContains(addresses: readonly string[], address: string): boolean {
  if (!isPlainIp(address)) return false;
  const ip = ipaddr.parse(address);
  return (parsePool(addresses) ?? []).some((r) => contains(r, ip));
}

/** The LoadBalancer Services this program itself creates (each takes one pool address), by what creates them. */
export function programLoadBalancerServices(ingress: IngressInput | undefined): string[] {
  return ingress?.traefik.enabled ? ["Traefik's Service (ingress.traefik)"] : [];
}

export interface NetworkRuleInput {
  cluster: ClusterInput;
  ingress?: IngressInput;
  /** Every parsed host, with its index in `hosts`. */
  hosts: { host: HostInput; index: number }[];
}

/**
 * MetalLB's pool against the cluster's own addresses, Traefik's address
 * against the pool, and the Gateway API's prerequisites. Pure: findings only.
 */
export function networkFindings({ cluster, ingress, hosts }: NetworkRuleInput): Finding[] {
  const findings: Finding[] = [];
  const lb = cluster.networking.loadBalancer;
  const traefik = ingress?.traefik;
  const hostIps = hosts.filter(({ host }) => isPlainIp(host.address));
  const family = hostIps[0] ? ipaddr.parse(hostIps[0].host.address).kind() : undefined;

  let pool: AddressRange[] | undefined;
  if (lb) {
    pool = [];
    lb.addresses.forEach((text, i) => {
      const at = `${POOL_KEY}[${i}]`;
      const r = parseAddressRange(text);
      if (typeof r === "string") {
        findings.push(error(at, r));
        pool = undefined;
        return;
      }
      pool?.push(r);
      const named: [string, AddressRange | undefined][] = [];
      if (family && r.first.kind() !== family) {
        findings.push(
          error(
            at,
            `${text} is ${r.first.kind() === "ipv6" ? "IPv6" : "IPv4"}, but the hosts have ${family === "ipv6" ? "IPv6" : "IPv4"} addresses: the cluster is single-stack, so MetalLB can only announce addresses of the hosts' family`,
          ),
        );
      }
      const endpoint = cluster.endpoint.address;
      if (isPlainIp(endpoint) && contains(r, ipaddr.parse(endpoint))) {
        findings.push(
          error(
            at,
            `${text} contains the API endpoint ${endpoint} (cluster.endpoint.address): MetalLB would hand it to a Service and two machines would answer for it. Leave the endpoint out of the pool`,
          ),
        );
      }
      for (const { host, index } of hostIps) {
        if (contains(r, ipaddr.parse(host.address))) {
          findings.push(
            error(
              at,
              `${text} contains ${host.address}, the address of host ${host.name} (hosts[${index}].address): MetalLB would announce a host's own address for a Service. Leave the hosts' addresses out of the pool`,
            ),
          );
        }
      }
      for (const [key, cidr] of [
        ["podSubnet", cluster.networking.podSubnet],
        ["serviceSubnet", cluster.networking.serviceSubnet],
      ] as const) {
        named.push([`cluster.networking.${key} ${cidr}`, cidrRange(cidr)]);
      }
      for (const [what, other] of named) {
        if (other && overlaps(r, other)) {
          findings.push(
            error(
              at,
              `${text} overlaps ${what}: those addresses are routed inside the cluster, so a Service given one would be unreachable from the LAN. Choose free addresses on the hosts' network`,
            ),
          );
        }
      }
      lb.addresses.slice(0, i).forEach((earlier, j) => {
        const o = parseAddressRange(earlier);
        if (typeof o !== "string" && overlaps(r, o)) {
          findings.push(error(at, `${text} overlaps ${POOL_KEY}[${j}] ${earlier}: list each address once`));
        }
      });
      // Heuristic: L2 mode answers ARP/NDP on the nodes' own segment, which we cannot see; a shared /24 is the usual sign.
      if (family === "ipv4" && r.first.kind() === "ipv4" && hostIps.length > 0) {
        const net24 = (ip: Ip) => (ip as ipaddr.IPv4).octets.slice(0, 3).join(".");
        const v4 = hostIps.map(({ host }) => ipaddr.parse(host.address)).filter((ip) => ip.kind() === "ipv4");
        const hostNets = new Set(v4.map(net24));
        if (!hostNets.has(net24(r.first)) || !hostNets.has(net24(r.last))) {
          findings.push(
            warning(
              at,
              `${text} is not in the same /24 as any host (${[...hostNets].map((n) => `${n}.0/24`).join(", ")}). MetalLB in L2 mode answers ARP for these addresses from a node, so they must be on the nodes' own network segment; this check is a heuristic (it compares /24 networks, not your real netmask): ignore it if your hosts' network is larger`,
            ),
          );
        }
      }
    });
    if (findings.some((f) => f.severity === "error")) pool = undefined;
    const services = programLoadBalancerServices(ingress);
    if (pool) {
      const size = pool.reduce((n, r) => n + rangeSize(r), 0n);
      if (size < BigInt(services.length)) {
        findings.push(
          error(
            POOL_KEY,
            `holds ${size} address${size === 1n ? "" : "es"}, but this program creates ${services.length} LoadBalancer Service${services.length === 1 ? "" : "s"} (${services.join(", ")}), each needing an address of its own: add addresses`,
          ),
        );
      }
    }
  }

  if (traefik) {
    const ip = traefik.loadBalancerIP;
    if (ip !== undefined && !isPlainIp(ip)) {
      findings.push(
        error(
          "ingress.traefik.loadBalancerIP",
          `${JSON.stringify(ip)} is not an IP address: give one address of cluster.networking.loadBalancer.addresses`,
        ),
      );
    } else if (ip !== undefined && !traefik.enabled) {
      findings.push(warning("ingress.traefik.loadBalancerIP", "is set, but ingress.traefik.enabled is false: it has no effect"));
    } else if (ip !== undefined && lb && pool && !pool.some((r) => contains(r, ipaddr.parse(ip)))) {
      findings.push(
        error(
          "ingress.traefik.loadBalancerIP",
          `${ip} is not in cluster.networking.loadBalancer.addresses (${lb.addresses.join(", ")}): MetalLB only hands out addresses of its pool, so Traefik's Service would stay pending. Choose an address in the pool or add it there`,
        ),
      );
    }
    if (traefik.enabled && !lb) {
      findings.push(
        warning(
          "ingress.traefik.enabled",
          "Traefik's Service is of type LoadBalancer, but cluster.networking.loadBalancer is not set, so nothing in the cluster gives it an address: it stays pending and Traefik is reachable only through its node ports. Set cluster.networking.loadBalancer.addresses to free addresses on the hosts' network (MetalLB), or bring your own load balancer",
        ),
      );
    }
  }

  if (cluster.networking.gatewayApi && cluster.networking.cni === "cilium") {
    findings.push(
      warning(
        "cluster.networking.gatewayApi",
        "with cni: cilium, Cilium's Gateway API controller is switched on (gatewayAPI.enabled). It needs Cilium's kube-proxy replacement or its NodePort support; this program keeps kube-proxy (kubeadm's default) and does not set kubeProxyReplacement, so it switches on nodePort.enabled instead, which Cilium documents as the alternative",
      ),
    );
    if (!lb) {
      findings.push(
        warning(
          "cluster.networking.gatewayApi",
          "Cilium gives every Gateway of class cilium a Service of type LoadBalancer, but cluster.networking.loadBalancer is not set: those Services stay pending. Set cluster.networking.loadBalancer.addresses (MetalLB)",
        ),
      );
    }
  }
  return findings;
}
