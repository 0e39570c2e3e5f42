import type { TestConfig } from "../harness";

/**
 * The seed-style configs of the storage issue, plus the small topologies the
 * value tests need. Host keys are test values; addresses are documentation ranges.
 */
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/";

const cluster = (extra: Record<string, unknown> = {}) => ({
  name: "seed",
  kubernetesVersion: "1.33.4",
  endpoint: { address: "192.0.2.10", keepalived: { enabled: true, interface: "eth0" } },
  ...extra,
});

const host = (name: string, octet: number, roles: string[], disks: unknown[] = [], extra: Record<string, unknown> = {}) => ({
  name,
  address: `192.0.2.${octet}`,
  hostKey: KEY,
  roles,
  disks,
  ...extra,
});

/** Longhorn on three workers, each with an NVMe mounted at the default /var/lib/longhorn; three control planes carry nothing. */
export function longhornWorkersSeed(): TestConfig {
  return {
    cluster: cluster(),
    hosts: [
      host("cp-1", 11, ["control-plane"]),
      host("cp-2", 12, ["control-plane"]),
      host("cp-3", 13, ["control-plane"]),
      ...[1, 2, 3].map((i) =>
        host(
          `w-${i}`,
          20 + i,
          ["worker"],
          [{ name: "longhorn", device: `/dev/disk/by-id/nvme-WD_BLACK_SN770_1TB_W${i}LH`, use: "longhorn", fsType: "xfs" }],
        ),
      ),
    ],
    storage: { longhorn: { enabled: true, version: "1.10.1" } },
  };
}

/**
 * Talos-style local volumes: an immutable root, classes under /var/mnt for
 * SSDs and HDDs (Filesystem) and raw NVMe (Block), disks on two workers and a
 * control plane.
 */
export function talosLocalSeed(): TestConfig {
  const immutable = { os: "flatcar", packagesPreinstalled: true, immutableRoot: true };
  return {
    cluster: cluster(),
    hosts: [
      host(
        "cp-1",
        11,
        ["control-plane"],
        [{ name: "ssd0", device: "/dev/disk/by-id/ata-Samsung_SSD_870_CP1SSD0", use: "local", storageClass: "local-ssd" }],
        immutable,
      ),
      host(
        "w-1",
        21,
        ["worker", "etcd"],
        [
          { name: "ssd0", device: "/dev/disk/by-id/ata-Samsung_SSD_870_W1SSD0", use: "local", storageClass: "local-ssd" },
          { name: "hdd0", device: "/dev/disk/by-id/ata-ST8000VN004_W1HDD0", use: "local", storageClass: "local-hdd" },
          { name: "hdd1", device: "/dev/disk/by-id/ata-ST8000VN004_W1HDD1", use: "local", storageClass: "local-hdd" },
        ],
        immutable,
      ),
      host(
        "w-2",
        22,
        ["worker", "etcd"],
        [
          { name: "ssd0", device: "/dev/disk/by-id/ata-Samsung_SSD_870_W2SSD0", use: "local", storageClass: "local-ssd" },
          { name: "nvme0", device: "/dev/disk/by-id/nvme-Samsung_SSD_990_PRO_W2NVME0", use: "local", storageClass: "local-block" },
        ],
        immutable,
      ),
    ],
    storage: {
      localStatic: {
        enabled: true,
        version: "2.8.0",
        classes: [
          { name: "local-ssd", hostDir: "/var/mnt/local-ssd", volumeMode: "Filesystem", fsType: "xfs", reclaimPolicy: "Delete" },
          { name: "local-hdd", hostDir: "/var/mnt/local-hdd", volumeMode: "Filesystem", fsType: "ext4", reclaimPolicy: "Retain" },
          { name: "local-block", hostDir: "/var/mnt/local-block", volumeMode: "Block", reclaimPolicy: "Retain" },
        ],
      },
    },
  };
}

/** Rook-Ceph on the NVMe disks of two control planes, with a worker that is the third etcd voter and mon. */
export function cephControlPlanesSeed(): TestConfig {
  return {
    cluster: cluster(),
    hosts: [
      host("cp-1", 11, ["control-plane"], [{ name: "nvme0", device: "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_2TB_CP1OSD", use: "ceph" }]),
      host("cp-2", 12, ["control-plane"], [{ name: "nvme0", device: "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_2TB_CP2OSD", use: "ceph" }]),
      host("w-1", 21, ["worker", "etcd"]),
    ],
    storage: { rookCeph: { enabled: true, version: "v1.19.2" } },
  };
}

/** The smallest Ceph: two nodes, one OSD each, no control-plane redundancy. */
export function twoNodeCeph(): TestConfig {
  return {
    cluster: cluster({ faultTolerance: 0 }),
    hosts: [
      host("node-1", 11, ["control-plane", "worker"], [{ name: "osd0", device: "/dev/disk/by-id/ata-ST4000VN008_N1OSD0", use: "ceph" }]),
      host("node-2", 12, ["worker"], [{ name: "osd0", device: "/dev/disk/by-id/ata-ST4000VN008_N2OSD0", use: "ceph" }]),
    ],
    storage: { rookCeph: { enabled: true, version: "v1.19.2" } },
  };
}
