import { type Finding, error } from "../config/findings";
import type { ClusterSpec } from "../config/spec";
import { storageVersionFindings } from "./versions";

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
    const hosts = spec.hosts.filter((h) => h.immutableRoot && h.disks.some((d) => d.use === "local" && d.storageClass === c.name)).map((h) => h.name);
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

/** What the storage layer alone can tell about a valid spec: chart versions and local class directories. */
export function storageFindings(spec: ClusterSpec): Finding[] {
  return [...storageVersionFindings(spec), ...hostDirFindings(spec)];
}
