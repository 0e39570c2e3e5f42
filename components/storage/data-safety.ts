import { type Finding, error, warning } from "../config/findings";
import type { Topology } from "../topology";

/**
 * What holds data in a stack: per storage system, the disks (as
 * `disk@device`) on each host and the copies each volume keeps. Pure data,
 * exported as a stack output so the next run can compare against it.
 */
export interface StorageFootprint {
  longhorn?: { replicaCount: number; hosts: Record<string, string[]> };
  rookCeph?: { poolSize: number; hosts: Record<string, string[]> };
  localStatic?: { hosts: Record<string, string[]> };
}

function byHost(disks: readonly { host: string; disk: string; device: string }[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of disks) (out[d.host] ??= []).push(`${d.disk}@${d.device}`);
  for (const k of Object.keys(out)) out[k]?.sort();
  return out;
}

export function storageFootprint(topology: Topology): StorageFootprint {
  const s = topology.storage;
  const out: StorageFootprint = {};
  if (s.longhorn) out.longhorn = { replicaCount: s.longhorn.replicaCount, hosts: byHost(s.longhorn.disks) };
  if (s.rookCeph) out.rookCeph = { poolSize: s.rookCeph.poolSize, hosts: byHost(s.rookCeph.disks) };
  if (s.localStatic) out.localStatic = { hosts: byHost(s.localStatic.classes.flatMap((c) => c.volumes)) };
  return out;
}

/** Hosts that held data disks before and lose at least one of them now (the host is gone, or the disk is). */
function hostsLosingDisks(prev: Record<string, string[]>, next: Record<string, string[]> | undefined): { host: string; disks: string[] }[] {
  const out: { host: string; disks: string[] }[] = [];
  for (const [host, disks] of Object.entries(prev)) {
    const kept = new Set(next?.[host] ?? []);
    const lost = disks.filter((d) => !kept.has(d));
    if (lost.length) out.push({ host, disks: lost });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host));
}

function describe(losses: readonly { host: string; disks: string[] }[]): string {
  return losses.map((l) => `${l.host} (${l.disks.map((d) => d.split("@")[0]).join(", ")})`).join(", ");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Findings for a change from the previous footprint to the next: removing
 * disks that may hold every copy of some volume is an error, removing fewer
 * (or single-copy local volumes) and lowering replica counts below what
 * existing volumes use are called out. Nothing is compared when there is no
 * previous footprint (a new stack).
 */
export function dataSafetyFindings(prev: StorageFootprint, next: StorageFootprint): Finding[] {
  const findings: Finding[] = [];

  if (prev.longhorn) {
    const r = prev.longhorn.replicaCount;
    const losing = hostsLosingDisks(prev.longhorn.hosts, next.longhorn?.hosts);
    if (!next.longhorn) {
      findings.push(
        warning(
          "storage.longhorn.enabled",
          `Longhorn was enabled and is not any more: its release is protected, so pulumi up stops at it; after \`pulumi state unprotect\` Pulumi forgets it without uninstalling it, and the volumes stay on ${Object.keys(prev.longhorn.hosts).join(", ")}. Move the data off first, then uninstall Longhorn by hand if that is the intent`,
        ),
      );
    } else if (losing.length >= r) {
      findings.push(
        error(
          "hosts",
          `removes Longhorn disks from ${plural(losing.length, "host")} at once: ${describe(losing)}. Volumes keep ${plural(r, "replica")} on different nodes, so a volume may have every replica there and be lost. Remove at most ${r - 1 || "zero"} at a time${r > 1 ? ", wait until every volume is healthy again (replicas rebuilt elsewhere)" : " (a single-replica volume has no other copy: raise replicaCount and let replicas rebuild first)"}, then remove the next`,
        ),
      );
    } else if (losing.length > 0) {
      findings.push(
        warning(
          "hosts",
          `removes Longhorn disks from ${describe(losing)}: evict their replicas first (disable scheduling on the disk and request eviction in Longhorn), and wait until every volume is healthy before applying`,
        ),
      );
    }
    if (next.longhorn) {
      const remaining = Object.keys(next.longhorn.hosts).length;
      if (remaining < r) {
        findings.push(
          warning(
            "storage.longhorn.replicaCount",
            `existing volumes keep ${plural(r, "replica")} on different nodes, but only ${plural(remaining, "Longhorn host")} would remain: those volumes stay degraded. Keep at least ${r} hosts with longhorn disks, or lower each volume's replica count in Longhorn first`,
          ),
        );
      }
      if (next.longhorn.replicaCount < r) {
        findings.push(
          warning(
            "storage.longhorn.replicaCount",
            `is lowered from ${r} to ${next.longhorn.replicaCount}: new volumes get fewer copies and survive ${plural(next.longhorn.replicaCount - 1, "node failure")}; existing volumes keep ${r} until changed in Longhorn`,
          ),
        );
      }
    }
  }

  if (prev.rookCeph) {
    const size = prev.rookCeph.poolSize;
    const losing = hostsLosingDisks(prev.rookCeph.hosts, next.rookCeph?.hosts);
    if (!next.rookCeph) {
      findings.push(
        warning(
          "storage.rookCeph.enabled",
          `Rook-Ceph was enabled and is not any more: its releases are protected, so pulumi up stops at them; after \`pulumi state unprotect\` Pulumi forgets them without uninstalling them, and the OSDs on ${Object.keys(prev.rookCeph.hosts).join(", ")} keep their data. Move the data off first, then follow Rook's teardown guide if that is the intent`,
        ),
      );
    } else if (losing.length >= size) {
      findings.push(
        error(
          "hosts",
          `removes ceph OSD disks from ${plural(losing.length, "host")} at once: ${describe(losing)}. The block pool keeps ${plural(size, "copy", "copies")} on different hosts, so some data may have every copy there and be lost. Take out at most ${size - 1 || "zero"} host${size - 1 === 1 ? "" : "s"} at a time (ceph osd out, wait for HEALTH_OK, then Rook's OSD removal) and apply the config after that`,
        ),
      );
    } else if (losing.length > 0) {
      findings.push(
        warning(
          "hosts",
          `removes ceph OSD disks from ${describe(losing)}: Rook does not remove OSDs by itself. Mark them out, wait for HEALTH_OK, then purge them with Rook's OSD removal job before or after applying`,
        ),
      );
    }
    if (next.rookCeph) {
      const remaining = Object.keys(next.rookCeph.hosts).length;
      if (remaining < size && next.rookCeph.poolSize >= size) {
        findings.push(
          warning(
            "storage.rookCeph.poolSize",
            `the pool keeps ${plural(size, "copy", "copies")} on different hosts, but only ${plural(remaining, "host")} with ceph disks would remain: placement groups stay undersized and degraded. Keep ${size} OSD hosts`,
          ),
        );
      }
      if (next.rookCeph.poolSize < size) {
        findings.push(
          error(
            "storage.rookCeph.poolSize",
            `is lowered from ${size} to ${next.rookCeph.poolSize}: Ceph drops copies of all existing data at once, leaving it to survive ${plural(next.rookCeph.poolSize - 1, "host failure")}. If that is intended, make it a change of its own, reviewed and after a backup, and apply it once without the comparison: \`pulumi config set baremetal-k8s:previousTopology '{}'\` (compare with nothing; the offline plan: no --previous), then \`pulumi config rm baremetal-k8s:previousTopology\` so that later updates compare with the stack's own outputs again`,
          ),
        );
      }
    }
  }

  if (prev.localStatic) {
    const losing = hostsLosingDisks(prev.localStatic.hosts, next.localStatic?.hosts);
    if (losing.length > 0) {
      findings.push(
        warning(
          "hosts",
          `removes local disks from ${describe(losing)}: a local volume has a single copy on its disk, so PersistentVolumes there become unusable. Back up or move their data first (the disks themselves are not wiped)`,
        ),
      );
    }
  }
  return findings;
}

function isHostMap(v: unknown): v is Record<string, string[]> {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => Array.isArray(x) && x.every((d) => typeof d === "string"))
  );
}

function isFootprint(v: unknown): v is StorageFootprint {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const f = v as Record<string, unknown>;
  const part = (key: string, count?: string) => {
    const p = f[key];
    if (p === undefined) return true;
    if (p === null || typeof p !== "object") return false;
    const o = p as Record<string, unknown>;
    return isHostMap(o.hosts) && (count === undefined || (typeof o[count] === "number" && Number.isInteger(o[count])));
  };
  return part("longhorn", "replicaCount") && part("rookCeph", "poolSize") && part("localStatic");
}

/**
 * The storage footprint of the deployed stack, from its previous outputs
 * (read by the program itself, or `baremetal-k8s:previousTopology`: the JSON
 * of `pulumi stack output --json`). Outputs of an update made before the program exported a footprint
 * have none: then nothing is compared.
 */
export function previousFootprint(previousOutputs: unknown): { footprint?: StorageFootprint; findings: Finding[] } {
  if (previousOutputs === null || typeof previousOutputs !== "object") return { findings: [] };
  const f = (previousOutputs as { storageFootprint?: unknown }).storageFootprint;
  if (f === undefined) return { findings: [] };
  if (!isFootprint(f)) {
    return {
      findings: [
        error(
          "previousTopology.storageFootprint",
          "is not the storage footprint this program exports: pass the stack's own outputs unchanged (pulumi stack output --json), or remove previousTopology so that pulumi preview and up read them themselves",
        ),
      ],
    };
  }
  return { footprint: f, findings: [] };
}
