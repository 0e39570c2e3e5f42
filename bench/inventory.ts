import { createHash } from "node:crypto";

/**
 * Synthetic inventories for the benchmark, derived from the example lab
 * (`Pulumi.dev.yaml`). Pure: the same base and size give the same config.
 *
 * Shape at every size: three control planes, the rest workers, every host
 * with two disks (a Longhorn disk, then a Ceph OSD on the control planes or a
 * local disk on the workers), Longhorn, Rook-Ceph and local-static all enabled
 * (local-static from 4 hosts on: the 3-host inventory has no worker). The
 * control planes also carry role worker: with all storage enabled the 3-host
 * inventory has to keep its disks on them, and giving them the same role and
 * disks at every size keeps the shape identical, so sizes differ only in the
 * number of workers (that is what the critical-path ratio compares).
 *
 * Validity for the config rules: unique names, addresses and devices per
 * host, a well-formed ed25519 host key per host, three etcd voters (odd, no
 * witness needed), and replica/pool counts no larger than the hosts that
 * carry the disks. Hosts are a prefix-stable sequence: `syntheticInventory(b,
 * n + 1)` lists the hosts of `syntheticInventory(b, n)` unchanged plus one
 * worker, so the blast-radius measure can add or remove one.
 */

/** The stack config's keys as plain objects (the shape `test/harness.ts` `TestConfig` takes). */
export interface InventoryConfig {
  cluster?: unknown;
  hosts?: unknown;
  storage?: unknown;
  sshPrivateKey?: string;
}

export interface SyntheticDisk {
  name: string;
  device: string;
  use: "longhorn" | "ceph" | "local";
  storageClass?: string;
}

export interface SyntheticHost {
  name: string;
  address: string;
  hostKey: string;
  roles: string[];
  os: string;
  labels?: Record<string, string>;
  disks: SyntheticDisk[];
}

interface LocalClass {
  name: string;
  volumeMode?: string;
}

interface BaseStorage {
  defaultClass?: string;
  longhorn?: Record<string, unknown>;
  rookCeph?: Record<string, unknown>;
  localStatic?: { classes?: LocalClass[] } & Record<string, unknown>;
}

export const CONTROL_PLANES = 3;
export const LONGHORN_REPLICAS_MAX = 3;
export const CEPH_POOL_SIZE_MAX = 3;

/** A real-format OpenSSH ed25519 public key whose key bytes are a hash of the host name (never a real host's key). */
export function syntheticHostKey(name: string): string {
  const type = Buffer.from("ssh-ed25519");
  const key = createHash("sha256").update(`baremetal-k8s bench host key ${name}`).digest();
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return `ssh-ed25519 ${Buffer.concat([u32(type.length), type, u32(key.length), key]).toString("base64")}`;
}

/** Host name of the k-th host (0-based): cp-1..cp-3, then w-1, w-2, ... */
export function syntheticHostName(k: number): string {
  return k < CONTROL_PLANES ? `cp-${k + 1}` : `w-${k - CONTROL_PLANES + 1}`;
}

/**
 * Address of the k-th host: control planes 192.168.10.11-13 as in the example
 * lab (VIP 192.168.10.10 stays free), workers from 192.168.20.10 on, 200 per
 * /24, clear of the default pod (10.244/16) and service (10.96/12) networks.
 */
export function syntheticAddress(k: number): string {
  if (k < CONTROL_PLANES) return `192.168.10.${11 + k}`;
  const w = k - CONTROL_PLANES;
  return `192.168.${20 + Math.floor(w / 200)}.${10 + (w % 200)}`;
}

/** The local-static class names of the base, Filesystem ones first, then Block ones. */
function localClassOrder(classes: LocalClass[]): LocalClass[] {
  return [...classes.filter((c) => c.volumeMode !== "Block"), ...classes.filter((c) => c.volumeMode === "Block")];
}

/** The k-th host (0-based). `localClasses` are cycled over the local disks. */
export function syntheticHost(k: number, template: { os: string[]; localClasses: string[] }): SyntheticHost {
  const name = syntheticHostName(k);
  const tag = name.toUpperCase().replace(/-/g, "");
  // Ceph OSDs on the control planes' second disk, local volumes on the workers': a worker added or removed
  // then touches no release (Rook's CephCluster lists its OSD hosts by name, so adding a Ceph host must change it).
  const second: SyntheticDisk =
    k < CONTROL_PLANES
      ? { name: "osd0", device: `/dev/disk/by-id/ata-ST4000VN008-2DR166_${tag}CEPH0`, use: "ceph" }
      : {
          name: "ssd1",
          device: `/dev/disk/by-id/ata-Samsung_SSD_870_EVO_500GB_${tag}LOCAL`,
          use: "local",
          storageClass: template.localClasses[(k - CONTROL_PLANES) % template.localClasses.length],
        };
  return {
    name,
    address: syntheticAddress(k),
    hostKey: syntheticHostKey(name),
    roles: k < CONTROL_PLANES ? ["control-plane", "worker"] : ["worker"],
    os: template.os[k % template.os.length],
    labels: { "topology.kubernetes.io/zone": `rack-${String.fromCharCode(97 + (k % 4))}` },
    disks: [{ name: "longhorn", device: `/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_${tag}LONGHORN`, use: "longhorn" }, second],
  };
}

/** The operating systems the example lab uses, in host order (cycled over the synthetic hosts). */
function osOf(base: InventoryConfig): string[] {
  const hosts = Array.isArray(base.hosts) ? (base.hosts as { os?: string }[]) : [];
  const os = [...new Set(hosts.map((h) => h.os ?? "ubuntu"))];
  return os.length > 0 ? os : ["ubuntu"];
}

/**
 * A valid inventory of `hosts` hosts (at least 3) from the example lab's
 * cluster and storage settings. Replica, pool and mon counts are set to what
 * the hosts carrying the disks hold; local classes nobody uses are dropped
 * (an unused class is a warning, and the benchmark wants a clean config).
 */
export function syntheticInventory(base: InventoryConfig, hosts: number): InventoryConfig {
  if (!Number.isInteger(hosts) || hosts < CONTROL_PLANES) {
    throw new Error(`a synthetic inventory needs at least ${CONTROL_PLANES} hosts (the control planes), got ${hosts}`);
  }
  const storage = structuredClone((base.storage ?? {}) as BaseStorage);
  const classes = localClassOrder(storage.localStatic?.classes ?? []);
  if (classes.length === 0) throw new Error("the base stack defines no storage.localStatic class for the local disks");
  const template = { os: osOf(base), localClasses: classes.map((c) => c.name) };
  const list = Array.from({ length: hosts }, (_, k) => syntheticHost(k, template));
  return {
    ...structuredClone({ cluster: base.cluster }),
    hosts: list,
    storage: storageFor(storage, list),
    sshPrivateKey: base.sshPrivateKey,
  };
}

/** The storage settings for a host list: everything enabled, counts the hardware holds. */
export function storageFor(base: BaseStorage, hosts: SyntheticHost[]): BaseStorage {
  const carrying = (use: SyntheticDisk["use"]) => hosts.filter((h) => h.disks.some((d) => d.use === use)).length;
  const usedClasses = new Set(hosts.flatMap((h) => h.disks.map((d) => d.storageClass).filter((c): c is string => c !== undefined)));
  return {
    ...base,
    longhorn: { ...base.longhorn, enabled: true, replicaCount: Math.min(LONGHORN_REPLICAS_MAX, carrying("longhorn")) },
    rookCeph: { ...base.rookCeph, enabled: true, poolSize: Math.min(CEPH_POOL_SIZE_MAX, carrying("ceph")) },
    // The 3-host inventory has no worker, so no local disk: local-static is enabled from the first worker on.
    localStatic: {
      ...base.localStatic,
      enabled: usedClasses.size > 0,
      classes: (base.localStatic?.classes ?? []).filter((c) => usedClasses.has(c.name)),
    },
  };
}

/** The config with host `name` removed (storage counts kept: removing one worker of many changes no count). */
export function withoutHost(cfg: InventoryConfig, name: string): InventoryConfig {
  const hosts = (cfg.hosts as SyntheticHost[]).filter((h) => h.name !== name);
  if (hosts.length === (cfg.hosts as SyntheticHost[]).length) throw new Error(`no host named ${name} in the inventory`);
  return { ...structuredClone(cfg), hosts: structuredClone(hosts) };
}

/** The worker in the middle of the host list (the one removed by the blast-radius measure). */
export function middleWorker(cfg: InventoryConfig): string {
  const workers = (cfg.hosts as SyntheticHost[]).filter((h) => !h.roles.includes("control-plane"));
  const w = workers[Math.floor(workers.length / 2)];
  if (!w) throw new Error("the inventory has no worker to remove");
  return w.name;
}

/** The config with `storage.longhorn.replicaCount` set. */
export function withLonghornReplicas(cfg: InventoryConfig, replicas: number): InventoryConfig {
  const out = structuredClone(cfg);
  const storage = out.storage as BaseStorage;
  storage.longhorn = { ...storage.longhorn, replicaCount: replicas };
  return out;
}
