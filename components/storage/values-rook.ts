import { hostsWithDisk, isControlPlane, isKubernetesNode } from "../config/predicates";
import type { ClusterSpec, HostSpec } from "../config/spec";
import type { Topology } from "../topology";
import { CEPH_BLOCK_CLASS, CHARTS } from "./charts";
import { defaultStorageClass } from "./default-class";
import { tolerationsFor } from "./tolerations";

/** Where Rook keeps mon and config data on each host; must be emptied by hand before a reinstall. */
export const ROOK_DATA_DIR = "/var/lib/rook";

/** The hosts with at least one ceph disk: Rook's OSD hosts. */
export function cephHosts(spec: ClusterSpec): HostSpec[] {
  return hostsWithDisk(spec, "ceph");
}

/** Hosts that join the cluster as nodes (mons, mgrs and CSI plugins can run there). */
function kubernetesNodes(spec: ClusterSpec): HostSpec[] {
  return spec.hosts.filter(isKubernetesNode);
}

/**
 * Hosts Ceph daemons may need: the OSD hosts, and when the mons do not fit on
 * the OSD hosts and untainted workers alone, every node (so a mon may land on
 * a control plane).
 */
function cephDaemonHosts(spec: ClusterSpec, monCount: number): HostSpec[] {
  const osdHosts = cephHosts(spec);
  const plainWorkers = kubernetesNodes(spec).filter((h) => !isControlPlane(h) && h.taints.length === 0);
  const roomy = new Set([...osdHosts, ...plainWorkers].map((h) => h.name));
  return roomy.size >= monCount ? osdHosts : kubernetesNodes(spec);
}

/** Values for the `rook-ceph` operator chart. */
export function renderRookOperatorValues(spec: ClusterSpec, topology: Topology): Record<string, unknown> {
  const monCount = topology.storage.rookCeph?.monCount ?? 1;
  const pluginTolerations = tolerationsFor(kubernetesNodes(spec));
  const provisionerTolerations = tolerationsFor(cephDaemonHosts(spec, monCount));
  return {
    csi: {
      kubeletDirPath: spec.cluster.kubelet.rootDir,
      // The RBD node plugin must run wherever a pod may mount a Ceph volume: every node.
      ...(pluginTolerations.length ? { pluginTolerations } : {}),
      ...(provisionerTolerations.length ? { provisionerTolerations } : {}),
    },
  };
}

/** Values for the `rook-ceph-cluster` chart: one CephCluster on the listed disks and one replicated block pool. */
export function renderRookClusterValues(spec: ClusterSpec, topology: Topology): Record<string, unknown> {
  const rc = topology.storage.rookCeph;
  const monCount = rc?.monCount ?? 1;
  const poolSize = rc?.poolSize ?? 1;
  const nodes = cephHosts(spec).map((h) => ({
    name: h.name,
    devices: h.disks.flatMap((d) => (d.use === "ceph" ? [{ name: d.device }] : [])),
  }));
  const tolerations = tolerationsFor(cephDaemonHosts(spec, monCount));
  const replicated: Record<string, unknown> = { size: poolSize };
  // Rook refuses a size-1 pool unless told that a single copy is intended (the plan warns about it).
  if (poolSize === 1) replicated.requireSafeReplicaSize = false;
  return {
    operatorNamespace: CHARTS.rookOperator.namespace,
    cephClusterSpec: {
      dataDirHostPath: ROOK_DATA_DIR,
      mon: { count: monCount, allowMultiplePerNode: false },
      mgr: { count: Math.min(2, kubernetesNodes(spec).length), allowMultiplePerNode: false },
      storage: { useAllNodes: false, useAllDevices: false, nodes },
      ...(tolerations.length ? { placement: { all: { tolerations } } } : {}),
    },
    cephBlockPools: [
      {
        name: "ceph-blockpool",
        spec: { failureDomain: "host", replicated },
        storageClass: {
          enabled: true,
          name: CEPH_BLOCK_CLASS,
          isDefault: defaultStorageClass(spec) === CEPH_BLOCK_CLASS,
          reclaimPolicy: "Delete",
          allowVolumeExpansion: true,
          volumeBindingMode: "Immediate",
          // Helm replaces lists whole: the chart's own parameters for this class, repeated.
          parameters: {
            imageFormat: "2",
            imageFeatures: "layering",
            "csi.storage.k8s.io/provisioner-secret-name": "rook-csi-rbd-provisioner",
            "csi.storage.k8s.io/provisioner-secret-namespace": "{{ .Release.Namespace }}",
            "csi.storage.k8s.io/controller-expand-secret-name": "rook-csi-rbd-provisioner",
            "csi.storage.k8s.io/controller-expand-secret-namespace": "{{ .Release.Namespace }}",
            "csi.storage.k8s.io/controller-publish-secret-name": "rook-csi-rbd-provisioner",
            "csi.storage.k8s.io/controller-publish-secret-namespace": "{{ .Release.Namespace }}",
            "csi.storage.k8s.io/node-stage-secret-name": "rook-csi-rbd-node",
            "csi.storage.k8s.io/node-stage-secret-namespace": "{{ .Release.Namespace }}",
            "csi.storage.k8s.io/fstype": "ext4",
          },
        },
      },
    ],
    // The chart's default filesystem and object store want three hosts each; only the block pool is sized from the topology.
    cephFileSystems: [],
    cephObjectStores: [],
  };
}
