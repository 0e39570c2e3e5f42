import { type Finding, error, warning } from "../config/findings";
import type { ClusterSpec } from "../config/spec";
import { hostsWithDisk, isControlPlane, isKubernetesNode } from "../config/predicates";

/**
 * Who does what in the cluster, derived purely from the spec. The plan prints
 * it and every component reads it; nothing here touches Pulumi.
 */
export interface Topology {
  /** The first control-plane host: runs `kubeadm init`. */
  leader: string;
  controlPlanes: string[];
  /** Hosts that join as workers only (control planes that also have role worker are not listed). */
  workers: string[];
  /** Control planes, in order, then witness members. */
  etcdVoters: string[];
  /** Non-control-plane hosts with role etcd: run a witness etcd member. */
  witnesses: string[];
  /** floor((voters - 1) / 2): voter failures etcd survives with quorum. */
  faultTolerance: number;
  storage: StorageTopology;
}

/** One disk a storage system uses: the host, the config's disk name, its device and where the system sees it. */
export interface StorageDisk {
  host: string;
  disk: string;
  device: string;
  /** Longhorn and Filesystem local disks: the mountpoint; Block local disks: the symlink; ceph disks: the device. */
  path: string;
}

export interface StorageTopology {
  longhorn?: { hosts: string[]; disks: StorageDisk[]; replicaCount: number; survives: number };
  rookCeph?: { hosts: string[]; disks: StorageDisk[]; osds: number; monCount: number; poolSize: number; survives: number };
  localStatic?: { classes: { name: string; hosts: string[]; disks: number; volumes: StorageDisk[] }[] };
}

/** The disks of one use (and, for local disks, one class), host by host in config order. */
export function storageDisks(spec: ClusterSpec, use: "longhorn" | "ceph" | "local", storageClass?: string): StorageDisk[] {
  const out: StorageDisk[] = [];
  for (const h of spec.hosts) {
    for (const d of h.disks) {
      if (d.use !== use) continue;
      if (d.use === "local" && d.storageClass !== storageClass) continue;
      const path =
        d.use === "longhorn" ? d.mountpoint : d.use === "local" ? (d.volumeMode === "Block" ? d.linkPath : d.mountpoint) : d.device;
      out.push({ host: h.name, disk: d.name, device: d.device, path });
    }
  }
  return out;
}

export function etcdFaultTolerance(voters: number): number {
  return voters <= 0 ? 0 : Math.floor((voters - 1) / 2);
}

/** Largest odd number <= n, at most 3: Rook's mons need a majority, more than 3 buys little in a small lab. */
function defaultMonCount(nodes: number): number {
  const capped = Math.min(3, nodes);
  return capped % 2 === 1 ? capped : capped - 1;
}

export function analyzeTopology(spec: ClusterSpec): { topology: Topology; findings: Finding[] } {
  const findings: Finding[] = [];
  const cps = spec.hosts.filter(isControlPlane);
  const nonCp = spec.hosts.filter((h) => !isControlPlane(h));
  const workers = nonCp.filter((h) => h.roles.includes("worker"));
  const witnesses = nonCp.filter((h) => h.roles.includes("etcd"));
  const voters = [...cps, ...witnesses].map((h) => h.name);
  const tolerance = etcdFaultTolerance(voters.length);
  const required = spec.cluster.faultTolerance;

  if (tolerance < required) {
    const needed = 2 * required + 1;
    const missing = needed - voters.length;
    const candidates = nonCp.filter((h) => !h.roles.includes("etcd"));
    const pick = candidates.slice(0, missing).map((h) => h.name);
    const remedy =
      pick.length === missing
        ? `add role etcd to ${missing === 1 ? "one worker" : `${missing} workers`}, e.g. ${pick.join(", ")} (a witness etcd member, no control plane needed), or add ${missing === 1 ? "a control-plane host" : `${missing} control-plane hosts`}`
        : `add ${missing} host${missing === 1 ? "" : "s"} with role etcd or control-plane`;
    findings.push(
      error(
        "cluster.faultTolerance",
        `is ${required}, but etcd has ${voters.length} voter${voters.length === 1 ? "" : "s"} (${voters.join(", ")}), which survive${voters.length === 1 ? "s" : ""} ${tolerance} failure${tolerance === 1 ? "" : "s"}: losing ${tolerance + 1} would lose quorum and stop the API server. To survive ${required}, etcd needs ${needed} voters: ${remedy}. Or lower cluster.faultTolerance to ${tolerance} to accept that`,
      ),
    );
  }
  if (voters.length > 1 && voters.length % 2 === 0) {
    findings.push(
      warning(
        "hosts",
        `etcd has ${voters.length} voters (${voters.join(", ")}), an even number: it tolerates no more failures than ${voters.length - 1} voter${voters.length - 1 === 1 ? "" : "s"} would, and needs more for quorum. Add or remove one voter (role etcd on a worker)`,
      ),
    );
  }

  const nodes = spec.hosts.filter(isKubernetesNode);
  const storage: StorageTopology = {};

  const lh = spec.storage.longhorn;
  if (lh.enabled) {
    const lhHosts = hostsWithDisk(spec, "longhorn").map((h) => h.name);
    const replicaCount = lh.replicaCount ?? Math.max(1, Math.min(3, lhHosts.length));
    if (replicaCount > lhHosts.length) {
      findings.push(
        error(
          "storage.longhorn.replicaCount",
          `is ${replicaCount}, but only ${lhHosts.length} host${lhHosts.length === 1 ? " has" : "s have"} a longhorn disk (${lhHosts.join(", ") || "none"}): Longhorn places each replica on a different node, so volumes would stay degraded. Set replicaCount to at most ${lhHosts.length}, or add longhorn disks to more hosts`,
        ),
      );
    }
    storage.longhorn = { hosts: lhHosts, disks: storageDisks(spec, "longhorn"), replicaCount, survives: Math.max(0, replicaCount - 1) };
  }

  const rc = spec.storage.rookCeph;
  if (rc.enabled) {
    const cephHosts = hostsWithDisk(spec, "ceph");
    const osds = cephHosts.reduce((n, h) => n + h.disks.filter((d) => d.use === "ceph").length, 0);
    const monCount = rc.monCount ?? defaultMonCount(nodes.length);
    const poolSize = rc.poolSize ?? Math.max(1, Math.min(3, cephHosts.length));
    if (poolSize > cephHosts.length) {
      findings.push(
        error(
          "storage.rookCeph.poolSize",
          `is ${poolSize}, but only ${cephHosts.length} host${cephHosts.length === 1 ? " has" : "s have"} ceph disks (${cephHosts.map((h) => h.name).join(", ") || "none"}): with failure domain host, each copy needs its own host, so the pool could never be healthy. Set poolSize to at most ${cephHosts.length}, or add ceph disks to more hosts`,
        ),
      );
    }
    if (monCount > nodes.length) {
      findings.push(
        error(
          "storage.rookCeph.monCount",
          `is ${monCount}, but the cluster has ${nodes.length} node${nodes.length === 1 ? "" : "s"}: Rook runs each mon on its own node and refuses more mons than nodes. Set monCount to at most ${nodes.length} (an odd number)`,
        ),
      );
    } else if (monCount % 2 === 0) {
      findings.push(
        warning(
          "storage.rookCeph.monCount",
          `is ${monCount}, an even number: mons need a majority, so ${monCount} survive no more failures than ${monCount - 1}. Use an odd number`,
        ),
      );
    }
    if (poolSize === 1) {
      findings.push(
        warning(
          "storage.rookCeph.poolSize",
          "is 1: every block volume has a single copy and is lost with its disk. Use ceph disks on at least two hosts",
        ),
      );
    }
    storage.rookCeph = {
      hosts: cephHosts.map((h) => h.name),
      disks: storageDisks(spec, "ceph"),
      osds,
      monCount,
      poolSize,
      survives: Math.max(0, Math.min(poolSize - 1, Math.floor((monCount - 1) / 2))),
    };
  }

  const ls = spec.storage.localStatic;
  if (ls.enabled) {
    storage.localStatic = {
      classes: ls.classes.map((c) => {
        const carrying = spec.hosts.filter((h) => h.disks.some((d) => d.use === "local" && d.storageClass === c.name));
        return {
          name: c.name,
          hosts: carrying.map((h) => h.name),
          disks: carrying.reduce((n, h) => n + h.disks.filter((d) => d.use === "local" && d.storageClass === c.name).length, 0),
          volumes: storageDisks(spec, "local", c.name),
        };
      }),
    };
  }

  const leader = cps[0]?.name ?? "";
  return {
    topology: {
      leader,
      controlPlanes: cps.map((h) => h.name),
      workers: workers.map((h) => h.name),
      etcdVoters: voters,
      witnesses: witnesses.map((h) => h.name),
      faultTolerance: tolerance,
      storage,
    },
    findings,
  };
}
