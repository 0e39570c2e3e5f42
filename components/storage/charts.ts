/** Where each storage chart comes from and the namespace its release lives in. */
export const CHARTS = {
  longhorn: { chart: "longhorn", repo: "https://charts.longhorn.io", namespace: "longhorn-system", release: "longhorn" },
  rookOperator: { chart: "rook-ceph", repo: "https://charts.rook.io/release", namespace: "rook-ceph", release: "rook-ceph" },
  rookCluster: { chart: "rook-ceph-cluster", repo: "https://charts.rook.io/release", namespace: "rook-ceph", release: "rook-ceph-cluster" },
  localStatic: {
    chart: "local-static-provisioner",
    repo: "https://kubernetes-sigs.github.io/sig-storage-local-static-provisioner",
    namespace: "local-static-provisioner",
    release: "local-static-provisioner",
  },
} as const;

/** The StorageClass names the charts create. */
export const CEPH_BLOCK_CLASS = "ceph-block";
export const LONGHORN_CLASS = "longhorn";
