import { hostsWithDisk } from "../config/predicates";
import type { ClusterSpec, HostSpec } from "../config/spec";
import type { Topology } from "../topology";
import { LONGHORN_CLASS } from "./charts";
import { defaultStorageClass } from "./default-class";
import { longhornTaintToleration, tolerationsFor } from "./tolerations";

export const LONGHORN_CREATE_DISK_LABEL = "node.longhorn.io/create-default-disk";
export const LONGHORN_DISKS_ANNOTATION = "node.longhorn.io/default-disks-config";

/** One entry of Longhorn's default-disks-config annotation. */
export interface LonghornDiskConfig {
  name: string;
  path: string;
  allowScheduling: boolean;
  tags: string[];
}

/** The hosts with at least one longhorn disk: Longhorn's storage nodes. */
export function longhornHosts(spec: ClusterSpec): HostSpec[] {
  return hostsWithDisk(spec, "longhorn");
}

/** The disks Longhorn creates on a host: each longhorn disk at its mountpoint, named and tagged after the config's disk. */
export function longhornDisks(host: HostSpec): LonghornDiskConfig[] {
  const out: LonghornDiskConfig[] = [];
  for (const d of host.disks) {
    if (d.use === "longhorn") out.push({ name: d.name, path: d.mountpoint, allowScheduling: true, tags: [d.name] });
  }
  return out;
}

/**
 * The label and annotation that make a host a Longhorn storage node with
 * exactly its longhorn disks (`createDefaultDiskLabeledNodes`: unlabeled
 * nodes get no disk). Longhorn reads them only for a node without disks yet.
 */
export function longhornNodeMetadata(host: HostSpec): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [LONGHORN_CREATE_DISK_LABEL]: "config" },
    annotations: { [LONGHORN_DISKS_ANNOTATION]: JSON.stringify(longhornDisks(host)) },
  };
}

/** Values for the `longhorn` chart. */
export function renderLonghornValues(spec: ClusterSpec, topology: Topology): Record<string, unknown> {
  const lh = spec.storage.longhorn;
  const hosts = longhornHosts(spec);
  const replicaCount = Math.min(topology.storage.longhorn?.replicaCount ?? lh.replicaCount ?? 3, Math.max(1, hosts.length));
  const tolerations = tolerationsFor(hosts);
  const values: Record<string, unknown> = {
    csi: { kubeletRootDir: spec.cluster.kubelet.rootDir },
    defaultSettings: {
      createDefaultDiskLabeledNodes: true,
      defaultDataPath: lh.dataPath,
      defaultReplicaCount: replicaCount,
      ...(tolerations.length ? { taintToleration: longhornTaintToleration(tolerations) } : {}),
    },
    persistence: {
      defaultClass: defaultStorageClass(spec) === LONGHORN_CLASS,
      defaultClassReplicaCount: replicaCount,
      reclaimPolicy: "Delete",
    },
  };
  if (tolerations.length) values.global = { tolerations };
  return values;
}
