import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import type { Finding } from "../../components/config";
import { networkFindings, parseAddressRange, rangeSize } from "../../components/config/rules-network";
import { clone, loadStack, type TestConfig } from "../harness";

type Cluster = {
  endpoint: { address: string };
  networking: { cni?: string; podSubnet?: string; serviceSubnet?: string; gatewayApi?: boolean; loadBalancer?: { addresses: string[] } };
};
type Ingress = { traefik: { enabled?: boolean; loadBalancerIP?: string } };

/** The dev example (MetalLB 192.168.10.200-220, Traefik at .200) with edits. */
function findingsOf(edit: (c: Cluster, ingress: Ingress, cfg: TestConfig) => void): Finding[] {
  const cfg = clone(loadStack("dev"));
  edit(cfg.cluster as Cluster, cfg.ingress as Ingress, cfg);
  return analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, ingress: cfg.ingress, sshPrivateKeySet: true }).findings;
}

const POOL = "cluster.networking.loadBalancer.addresses";
const errorsAt = (fs: Finding[], path: string) => fs.filter((f) => f.severity === "error" && f.path === path).map((f) => f.message);
const warningsAt = (fs: Finding[], path: string) => fs.filter((f) => f.severity === "warning" && f.path === path).map((f) => f.message);

describe("MetalLB's pool (cluster.networking.loadBalancer)", () => {
  it("the dev example's pool and Traefik address pass", () => {
    const fs = findingsOf(() => undefined);
    expect(fs.filter((f) => f.severity === "error")).toEqual([]);
    expect(fs.filter((f) => f.path.startsWith(POOL) || f.path.startsWith("ingress"))).toEqual([]);
  });

  it("reads ranges and CIDRs as MetalLB does, and names what is malformed or reversed", () => {
    const r = parseAddressRange("192.168.10.200 - 192.168.10.220");
    expect(typeof r !== "string" && rangeSize(r)).toBe(21n);
    const c = parseAddressRange("192.168.10.192/28");
    expect(typeof c !== "string" && rangeSize(c)).toBe(16n);
    expect(parseAddressRange("192.168.10.220-192.168.10.200")).toMatch(/reversed.*Write 192\.168\.10\.200-192\.168\.10\.220/);
    expect(parseAddressRange("192.168.10.200")).toMatch(/neither a range/);
    expect(parseAddressRange("192.168.10.300-192.168.10.310")).toMatch(/neither a range/);
    expect(parseAddressRange("192.168.10.193/28")).toMatch(/host bits set.*192\.168\.10\.192\/28/);
    expect(parseAddressRange("192.168.10.1-fd00::1")).toMatch(/IPv4 and an IPv6/);
  });

  it("a malformed or reversed entry is an error on that entry", () => {
    const fs = findingsOf((c) => {
      c.networking.loadBalancer = { addresses: ["192.168.10.200-192.168.10.220", "192.168.10.240-192.168.10.230", "nonsense"] };
    });
    expect(errorsAt(fs, `${POOL}[1]`).join()).toMatch(/reversed/);
    expect(errorsAt(fs, `${POOL}[2]`).join()).toMatch(/neither a range/);
    expect(errorsAt(fs, `${POOL}[0]`)).toEqual([]);
  });

  it("overlapping the endpoint, a host, the pod or the service network, or another entry is an error naming the overlap", () => {
    const at = (addresses: string[], edit?: (c: Cluster) => void) =>
      findingsOf((c) => {
        c.networking.loadBalancer = { addresses };
        edit?.(c);
      });
    expect(errorsAt(at(["192.168.10.5-192.168.10.15"]), `${POOL}[0]`).join("\n")).toMatch(
      /API endpoint 192\.168\.10\.10[\s\S]*192\.168\.10\.11, the address of host cp-1 \(hosts\[0\]\.address\)[\s\S]*host cp-2/,
    );
    expect(errorsAt(at(["192.168.10.21/32"]), `${POOL}[0]`).join()).toMatch(/host w-1 \(hosts\[2\]\.address\)/);
    const pod = at(["192.168.10.0/24"], (c) => (c.networking.podSubnet = "192.168.0.0/16"));
    expect(pod.some((f) => f.path === `${POOL}[0]` && /overlaps cluster\.networking\.podSubnet 192\.168\.0\.0\/16/.test(f.message))).toBe(
      true,
    );
    expect(errorsAt(at(["10.96.0.10-10.96.0.20"]), `${POOL}[0]`).join()).toMatch(
      /overlaps cluster\.networking\.serviceSubnet 10\.96\.0\.0\/12/,
    );
    expect(errorsAt(at(["192.168.10.200-192.168.10.210", "192.168.10.205/32"]), `${POOL}[1]`).join()).toMatch(
      /overlaps cluster\.networking\.loadBalancer\.addresses\[0\]/,
    );
  });

  it("an empty pool is refused with the fix", () => {
    const none = findingsOf((c) => {
      c.networking.loadBalancer = { addresses: [] };
    });
    expect(errorsAt(none, POOL).join()).toMatch(/at least one range/);
  });

  it("a pool of fewer addresses than the program's LoadBalancer Services is an error", () => {
    // Every listed entry holds at least one address and the program creates one such Service today (Traefik's),
    // so the rule is exercised on its input directly, with a pool MetalLB would read as empty.
    const cluster = loadStack("dev").cluster as Record<string, unknown> & { networking: Record<string, unknown> };
    const fs = networkFindings({
      cluster: { ...cluster, networking: { ...cluster.networking, loadBalancer: { addresses: [], version: "0.15.3" } } } as never,
      ingress: { traefik: { enabled: true, version: "41.3.0" } },
      hosts: [],
    });
    expect(errorsAt(fs, POOL).join()).toMatch(/holds 0 addresses, but this program creates 1 LoadBalancer Service \(Traefik's Service/);
  });

  it("a pool outside the hosts' /24 is a warning that says it is a heuristic", () => {
    const fs = findingsOf((c, ingress) => {
      c.networking.loadBalancer = { addresses: ["192.168.20.200-192.168.20.220"] };
      ingress.traefik.loadBalancerIP = "192.168.20.200";
    });
    expect(fs.filter((f) => f.severity === "error")).toEqual([]);
    expect(warningsAt(fs, `${POOL}[0]`).join()).toMatch(/not in the same \/24 as any host \(192\.168\.10\.0\/24\)[\s\S]*heuristic/);
  });
});

describe("Traefik's address (ingress.traefik)", () => {
  it("loadBalancerIP outside the pool is an error on ingress.traefik.loadBalancerIP", () => {
    const fs = findingsOf((_c, ingress) => {
      ingress.traefik.loadBalancerIP = "192.168.10.199";
    });
    expect(errorsAt(fs, "ingress.traefik.loadBalancerIP").join()).toMatch(
      /192\.168\.10\.199 is not in cluster\.networking\.loadBalancer\.addresses/,
    );
  });

  it("Traefik without a LoadBalancer implementation is a warning naming cluster.networking.loadBalancer", () => {
    const fs = findingsOf((c, ingress) => {
      delete c.networking.loadBalancer;
      delete ingress.traefik.loadBalancerIP;
    });
    expect(fs.filter((f) => f.severity === "error")).toEqual([]);
    expect(warningsAt(fs, "ingress.traefik.enabled").join()).toMatch(/cluster\.networking\.loadBalancer is not set[\s\S]*pending/);
  });

  it("an unknown key under ingress is an error with its path", () => {
    const fs = findingsOf((_c, ingress) => {
      (ingress.traefik as Record<string, unknown>).loadbalancerIP = "192.168.10.200";
    });
    expect(errorsAt(fs, "ingress.traefik.loadbalancerIP").join()).toMatch(/not a known key/);
  });
});

describe("Gateway API with Cilium (cluster.networking.gatewayApi)", () => {
  it("explains that kube-proxy replacement is not set and NodePort support is used instead", () => {
    const fs = findingsOf(() => undefined);
    expect(warningsAt(fs, "cluster.networking.gatewayApi").join()).toMatch(/kubeProxyReplacement[\s\S]*nodePort\.enabled/);
    const calico = findingsOf((c) => (c.networking.cni = "calico"));
    expect(warningsAt(calico, "cluster.networking.gatewayApi")).toEqual([]);
  });

  it("warns that Cilium's Gateways stay pending without MetalLB", () => {
    const fs = findingsOf((c, ingress) => {
      delete c.networking.loadBalancer;
      ingress.traefik.enabled = false;
      delete ingress.traefik.loadBalancerIP;
    });
    expect(warningsAt(fs, "cluster.networking.gatewayApi").join()).toMatch(/stay pending/);
  });
});
