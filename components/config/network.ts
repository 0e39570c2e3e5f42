import * as ipaddr from "ipaddr.js";

/**
 * Addresses and networks as the config writes them: IPs, DNS names, CIDRs. Pure
 * helpers, shared by the validation rules and the renderers (which import them
 * without importing validation).
 */

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;

export function isIp(address: string): boolean {
  return ipaddr.isValid(address) && (ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address));
}

export function isAddress(address: string): boolean {
  return isIp(address) || (HOSTNAME.test(address) && !/^[0-9.]+$/.test(address));
}

/**
 * Why an IP cannot be a host's or the endpoint's address, if it cannot:
 * loopback and unspecified name no machine on the network, multicast and
 * broadcast no single one, link-local needs an interface scope that an SSH
 * address and the kubeadm config cannot carry, an IPv4-mapped IPv6 address
 * is an IPv4 address in disguise.
 */
export function unusableAddress(address: string): string | undefined {
  if (!isIp(address)) return undefined;
  const ip = ipaddr.parse(address);
  const range = ip.range();
  const why: Record<string, string> = {
    loopback: "a loopback address, which every machine has for itself",
    unspecified: "the unspecified address, which names no machine",
    multicast: "a multicast address, which names a group, not a machine",
    broadcast: "the broadcast address, which names every machine on the network",
    linkLocal: "a link-local address, which needs an interface scope SSH and kubeadm cannot carry",
    ipv4Mapped: "an IPv4-mapped IPv6 address (::ffff:a.b.c.d): write the IPv4 address itself",
  };
  if (why[range]) return why[range];
  if (ip.kind() === "ipv4" && (ip as ipaddr.IPv4).octets[0] >= 240) return "in 240.0.0.0/4, which is reserved and not routed";
  return undefined;
}

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidr(value: string): Cidr | undefined {
  try {
    const cidr = ipaddr.parseCIDR(value);
    // Reject "10.244.1.0/16": the host bits must be zero, as kubeadm requires.
    const network =
      ipaddr.IPv4.isIPv4(value.split("/")[0] ?? "") && cidr[0].kind() === "ipv4"
        ? ipaddr.IPv4.networkAddressFromCIDR(value)
        : ipaddr.IPv6.networkAddressFromCIDR(value);
    if (network.toString() !== cidr[0].toString()) return undefined;
    return cidr;
  } catch {
    return undefined;
  }
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a[0].kind() !== b[0].kind()) return false;
  return a[0].match(b) || b[0].match(a);
}

export function inCidr(address: string, cidr: Cidr): boolean {
  if (!isIp(address)) return false;
  const ip = ipaddr.parse(address);
  return ip.kind() === cidr[0].kind() && ip.match(cidr);
}

/** An address as the host part of a URL or `host:port`: an IPv6 address in brackets. */
export function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}
