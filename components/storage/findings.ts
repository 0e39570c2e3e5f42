import { type Finding, error } from "../config/findings";
import type { ClusterSpec } from "../config/spec";
import { storageVersionFindings } from "./versions";
import { isKubernetesNode } from "../config/predicates";

/**
 * On an immutable root only /var is writable: a local class whose hostDir lies
 * elsewhere cannot be created on such a host, and a containerized kubelet
 * (Talos) binds only /var paths, so it would not see the volumes.
 */
function hostDirFindings(spec: ClusterSpec): Finding[] {
  const findings: Finding[] = [];
  if (!spec.storage.localStatic.enabled) return findings;
  spec.storage.localStatic.classes.forEach((c, i) => {
    const dir = c.hostDir.replace(/\/+$/, "");
    if (dir.startsWith("/var/")) return;
    const hosts = spec.hosts
      .filter((h) => h.immutableRoot && h.disks.some((d) => d.use === "local" && d.storageClass === c.name))
      .map((h) => h.name);
    if (hosts.length) {
      findings.push(
        error(
          `storage.localStatic.classes[${i}].hostDir`,
          `${c.hostDir} is outside /var, but ${hosts.join(", ")} ${hosts.length === 1 ? "has" : "have"} an immutable root where only /var is writable and visible to a containerized kubelet: put the class under /var, e.g. /var/mnt/${c.name}`,
        ),
      );
    }
  });
  return findings;
}

/**
 * A storage disk on a host that never joins Kubernetes (role etcd only, a
 * witness): no storage pod can run there, so the disk would serve nothing.
 */
function nonNodeDiskFindings(spec: ClusterSpec): Finding[] {
  const findings: Finding[] = [];
  spec.hosts.forEach((h, i) => {
    if (isKubernetesNode(h)) return;
    h.disks.forEach((d, j) => {
      if (d.use === "longhorn" || d.use === "ceph" || d.use === "local") {
        findings.push(
          error(
            `hosts[${i}].disks[${j}].use`,
            `is ${d.use}, but ${h.name} has no role worker or control-plane: it never joins Kubernetes, so no ${d.use === "ceph" ? "OSD" : d.use === "longhorn" ? "Longhorn replica" : "local volume"} can use this disk. Add role worker to ${h.name}, or move the disk to a node`,
          ),
        );
      }
    });
  });
  return findings;
}

/** What the storage layer alone can tell about a valid spec: chart versions, local class directories, disks on non-nodes. */
export function storageFindings(spec: ClusterSpec): Finding[] {
  return [...storageVersionFindings(spec), ...hostDirFindings(spec), ...nonNodeDiskFindings(spec)];
}
