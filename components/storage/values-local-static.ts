import type { ClusterSpec, HostSpec } from "../config/spec";
import { defaultStorageClass } from "./default-class";
import { tolerationsFor } from "./tolerations";
import { hostsWithDisk } from "../config/predicates";

/** Hosts with at least one local disk: where the provisioner must be able to run. */
export function localStaticHosts(spec: ClusterSpec): HostSpec[] {
  return hostsWithDisk(spec, "local");
}

/**
 * Values for the `local-static-provisioner` chart: one class per config
 * class. `mountDir` equals `hostDir`, so the provisioner, the kubelet and the
 * host all see volumes at the same path (a containerized kubelet must bind
 * hostDir at that path too).
 */
export function renderLocalStaticValues(spec: ClusterSpec): Record<string, unknown> {
  const def = defaultStorageClass(spec);
  const tolerations = tolerationsFor(localStaticHosts(spec));
  return {
    classes: spec.storage.localStatic.classes.map((c) => ({
      name: c.name,
      hostDir: c.hostDir,
      mountDir: c.hostDir,
      volumeMode: c.volumeMode,
      ...(c.volumeMode === "Filesystem" ? { fsType: c.fsType } : {}),
      storageClass: { reclaimPolicy: c.reclaimPolicy, isDefaultClass: def === c.name },
    })),
    ...(tolerations.length ? { tolerations } : {}),
  };
}
