// Stack configs for the lab: the example lab (Pulumi.dev.yaml) or a synthetic inventory, rewritten
// to the lab's hosts (addresses, pinned host keys, disks by id, the VIP in the lab's subnet, the
// lab's SSH key). Hosts are Debian here (the lab hosts are this Debian machine).
import { clone, loadStack, type TestConfig } from "../harness";
import type { Lab, LabOptions } from "./lab";

export interface ConfigHost {
  name: string;
  address: string;
  hostKey?: string;
  roles: string[];
  os?: string;
  disks?: { name?: string; device: string; use: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

export interface ConfigCluster {
  endpoint: { address: string; port?: number; keepalived?: { enabled?: boolean; interface?: string; virtualRouterId?: number } };
  [k: string]: unknown;
}

/** Size of every lab disk; enough for mkfs.xfs (300 MB minimum). */
export const LAB_DISK_SIZE = "320M";

const diskName = (d: { name?: string; device: string }) =>
  d.name ??
  d.device
    .split("/")
    .pop()!
    .replace(/[^a-z0-9]/gi, "")
    .toLowerCase();

/** The lab hosts a config needs: one per config host, in order, with its disks. */
export function labHostsFor(cfg: TestConfig): LabOptions["hosts"] {
  return (cfg.hosts as ConfigHost[]).map((h) => ({
    name: h.name,
    disks: (h.disks ?? []).map((d) => ({ name: diskName(d), size: LAB_DISK_SIZE })),
  }));
}

/** The config pointed at the lab: addresses, host keys, disk ids, VIP `<subnet>.10`, the lab's key. */
export function labConfig(lab: Lab, cfg: TestConfig, vrid = 51): TestConfig {
  const out = clone(cfg);
  const hosts = out.hosts as ConfigHost[];
  for (const h of hosts) {
    const lh = lab.host(h.name);
    h.address = lh.address;
    h.hostKey = lh.hostKey;
    h.os = "debian";
    for (const d of h.disks ?? []) {
      const n = diskName(d);
      d.name = n;
      d.device = lh.disks[n]?.byId ?? d.device;
    }
  }
  const cluster = out.cluster as ConfigCluster;
  cluster.endpoint.address = `${lab.subnet}.10`;
  if (cluster.endpoint.keepalived)
    cluster.endpoint.keepalived = { ...cluster.endpoint.keepalived, interface: "eth0", virtualRouterId: vrid };
  // The Gateway API step downloads the CRDs from GitHub on the leader, which a lab host cannot reach (no route out):
  // off in the lab; its script is covered by test/network (rendering, pinned digests, shellcheck).
  const networking = (cluster as { networking?: Record<string, unknown> }).networking;
  if (networking?.gatewayApi) networking.gatewayApi = false;
  out.sshPrivateKey = lab.privateKey;
  return out;
}

/** The example lab (two control planes, four workers, w-1 also an etcd witness, every disk use). */
export function exampleStack(): TestConfig {
  return loadStack("dev");
}

/**
 * A synthetic inventory of `n` hosts (n >= 3): cp-1, cp-2, w-1 (worker + etcd witness), then
 * workers w-2...; no disks and no storage, so bring-up time is the control plane's and joins'.
 */
export function syntheticStack(n: number): TestConfig {
  const base = loadStack("dev");
  const placeholderKey = (base.hosts as ConfigHost[])[0].hostKey; // replaced by labConfig
  const hosts: ConfigHost[] = [
    { name: "cp-1", address: "192.0.2.11", roles: ["control-plane"] },
    { name: "cp-2", address: "192.0.2.12", roles: ["control-plane"] },
    { name: "w-1", address: "192.0.2.21", roles: ["worker", "etcd"] },
  ];
  for (let i = 2; hosts.length < n; i++) hosts.push({ name: `w-${i}`, address: `192.0.2.${20 + i}`, roles: ["worker"] });
  for (const h of hosts) h.hostKey = placeholderKey;
  return { cluster: base.cluster, hosts, sshPrivateKey: base.sshPrivateKey };
}

/** The lab host names by address, for the executor's record. */
export function hostNames(lab: Lab): Record<string, string> {
  return Object.fromEntries(lab.hosts.map((h) => [h.address, h.name]));
}
