import type { ClusterSpec } from "../config/spec";
import { CEPH_BLOCK_CLASS, LONGHORN_CLASS } from "./charts";

/** Every StorageClass the enabled storage systems create, in the order the default rule prefers them. */
export function storageClassNames(spec: ClusterSpec): string[] {
  const s = spec.storage;
  return [
    ...(s.rookCeph.enabled ? [CEPH_BLOCK_CLASS] : []),
    ...(s.longhorn.enabled ? [LONGHORN_CLASS] : []),
    ...(s.localStatic.enabled ? s.localStatic.classes.map((c) => c.name) : []),
  ];
}

/**
 * The one StorageClass marked default: `storage.defaultClass` when set, else
 * Ceph block, else Longhorn, else the first local class; undefined when no
 * storage is enabled. Every other class is rendered explicitly not default.
 */
export function defaultStorageClass(spec: ClusterSpec): string | undefined {
  return spec.storage.defaultClass ?? storageClassNames(spec)[0];
}
