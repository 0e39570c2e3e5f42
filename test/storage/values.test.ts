import { describe, expect, it } from "vitest";
import { loadStack, type ProgramRun, runProgram } from "../harness";
import { NODE_PATCH, planOf, RELEASE, valuesOf } from "./helpers";
import { cephControlPlanesSeed, longhornWorkersSeed, talosLocalSeed, twoNodeCeph } from "./seeds";

/** The storage component's Helm releases (the control plane has its own, the CNI). */
function storageReleases(run: ProgramRun) {
  const storage = run.get("storage", "baremetal-k8s:storage:Storage");
  return run.descendants(storage.urn).filter((r) => r.type === RELEASE);
}

const CP_TOLERATION = { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" };

describe("the example lab's storage", () => {
  it("installs one pinned release per chart from its repository, protected and retained on delete", async () => {
    const run = await runProgram(loadStack("dev"));
    const releases = storageReleases(run);
    expect(
      releases
        .map((r) => [r.name, r.inputs.chart, r.inputs.version, (r.inputs.repositoryOpts as { repo: string }).repo, r.inputs.namespace])
        .sort(),
    ).toEqual([
      [
        "local-static-provisioner",
        "local-static-provisioner",
        "2.8.0",
        "https://kubernetes-sigs.github.io/sig-storage-local-static-provisioner",
        "local-static-provisioner",
      ],
      ["longhorn", "longhorn", "1.10.1", "https://charts.longhorn.io", "longhorn-system"],
      ["rook-ceph", "rook-ceph", "v1.19.2", "https://charts.rook.io/release", "rook-ceph"],
      ["rook-ceph-cluster", "rook-ceph-cluster", "v1.19.2", "https://charts.rook.io/release", "rook-ceph"],
    ]);
    for (const r of releases) {
      expect(r.retainOnDelete, r.name).toBe(true);
      expect(r.protect, r.name).toBe(true);
      // An explicit release name: Pulumi's auto-naming would add a random suffix and re-install on rename.
      expect(r.inputs.name, r.name).toBe(r.name);
    }
  });

  it("makes only the hosts with a longhorn disk Longhorn storage nodes, each listing its disks", async () => {
    const run = await runProgram(loadStack("dev"));
    const patches = run.ofType(NODE_PATCH);
    expect(patches.map((p) => p.name).sort()).toEqual(["w-1-longhorn-node", "w-2-longhorn-node", "w-3-longhorn-node"]);
    for (const p of patches) {
      const meta = p.inputs.metadata as { name: string; labels: Record<string, string>; annotations: Record<string, string> };
      expect(p.name).toBe(`${meta.name}-longhorn-node`);
      expect(meta.labels).toEqual({ "node.longhorn.io/create-default-disk": "config" });
      expect(JSON.parse(meta.annotations["node.longhorn.io/default-disks-config"])).toEqual([
        { name: "longhorn", path: "/var/lib/longhorn", allowScheduling: true, tags: ["longhorn"] },
      ]);
    }
    expect(valuesOf(run, "longhorn")).toEqual({
      csi: { kubeletRootDir: "/var/lib/kubelet" },
      defaultSettings: { createDefaultDiskLabeledNodes: true, defaultDataPath: "/var/lib/longhorn", defaultReplicaCount: 3 },
      persistence: { defaultClass: false, defaultClassReplicaCount: 3, reclaimPolicy: "Delete" },
    });
  });

  it("gives Rook exactly the ceph disks by their by-id paths, 3 mons and a size-3 pool across hosts", async () => {
    const run = await runProgram(loadStack("dev"));
    const cluster = valuesOf(run, "rook-ceph-cluster") as {
      cephClusterSpec: Record<string, unknown>;
      cephBlockPools: { spec: unknown; storageClass: { name: string; isDefault: boolean } }[];
      cephFileSystems: unknown[];
      cephObjectStores: unknown[];
    };
    expect(cluster.cephClusterSpec.storage).toEqual({
      useAllNodes: false,
      useAllDevices: false,
      nodes: [
        { name: "w-2", devices: [{ name: "/dev/disk/by-id/ata-ST4000VN008-2DR166_W2CEPH0" }] },
        { name: "w-3", devices: [{ name: "/dev/disk/by-id/ata-ST4000VN008-2DR166_W3CEPH0" }] },
        { name: "w-4", devices: [{ name: "/dev/disk/by-id/ata-ST4000VN008-2DR166_W4CEPH0" }] },
      ],
    });
    expect(cluster.cephClusterSpec.dataDirHostPath).toBe("/var/lib/rook");
    expect(cluster.cephClusterSpec.mon).toEqual({ count: 3, allowMultiplePerNode: false });
    expect(cluster.cephBlockPools).toHaveLength(1);
    expect(cluster.cephBlockPools[0]?.spec).toEqual({ failureDomain: "host", replicated: { size: 3 } });
    expect(cluster.cephBlockPools[0]?.storageClass).toMatchObject({ name: "ceph-block", isDefault: true });
    // The chart's default filesystem and object store would want 3 hosts of their own; they are switched off.
    expect(cluster.cephFileSystems).toEqual([]);
    expect(cluster.cephObjectStores).toEqual([]);
    // Mons fit on the OSD hosts and untainted workers: no toleration to pull them onto control planes.
    expect(cluster.cephClusterSpec.placement).toBeUndefined();
    // Nothing asks Rook to destroy data on uninstall.
    expect(cluster.cephClusterSpec.cleanupPolicy).toBeUndefined();
    const operator = valuesOf(run, "rook-ceph") as { csi: { kubeletDirPath: string; pluginTolerations: unknown[] } };
    expect(operator.csi.kubeletDirPath).toBe("/var/lib/kubelet");
    // The RBD plugin must mount volumes on every node, control planes included.
    expect(operator.csi.pluginTolerations).toEqual([CP_TOLERATION]);
  });

  it("publishes both local classes with hostDir as mountDir and neither as default", async () => {
    const run = await runProgram(loadStack("dev"));
    expect(valuesOf(run, "local-static-provisioner")).toEqual({
      classes: [
        {
          name: "fast-ssd",
          hostDir: "/var/lib/disks/ssd",
          mountDir: "/var/lib/disks/ssd",
          volumeMode: "Filesystem",
          fsType: "xfs",
          storageClass: { reclaimPolicy: "Retain", isDefaultClass: false },
        },
        {
          name: "raw-block",
          hostDir: "/var/lib/disks/block",
          mountDir: "/var/lib/disks/block",
          volumeMode: "Block",
          storageClass: { reclaimPolicy: "Delete", isDefaultClass: false },
        },
      ],
    });
  });

  it("registers no host command in the storage component: nothing there can touch a disk", async () => {
    const run = await runProgram(loadStack("dev"));
    const storage = run.get("storage", "baremetal-k8s:storage:Storage");
    const types = new Set(run.descendants(storage.urn).map((r) => r.type));
    expect([...types].sort()).toEqual([NODE_PATCH, RELEASE].sort());
  });
});

describe("seed: Longhorn on workers with /var/lib/longhorn mounts", () => {
  it("plans cleanly and makes exactly the three workers storage nodes with 3 replicas", async () => {
    const { plan, exitCode } = await planOf(longhornWorkersSeed());
    expect(plan.findings).toEqual([]);
    expect(exitCode).toBe(0);
    expect(plan.topology?.storage.longhorn).toMatchObject({ hosts: ["w-1", "w-2", "w-3"], replicaCount: 3, survives: 2 });
    const run = await runProgram(longhornWorkersSeed());
    expect(
      run
        .ofType(NODE_PATCH)
        .map((p) => (p.inputs.metadata as { name: string }).name)
        .sort(),
    ).toEqual(["w-1", "w-2", "w-3"]);
    expect(valuesOf(run, "longhorn")).toEqual({
      csi: { kubeletRootDir: "/var/lib/kubelet" },
      defaultSettings: { createDefaultDiskLabeledNodes: true, defaultDataPath: "/var/lib/longhorn", defaultReplicaCount: 3 },
      // Longhorn is the only storage: its class is the default.
      persistence: { defaultClass: true, defaultClassReplicaCount: 3, reclaimPolicy: "Delete" },
    });
    expect(storageReleases(run).map((r) => r.name)).toEqual(["longhorn"]);
  });

  it("never asks for more replicas than storage hosts, and tolerates a control plane that stores data", async () => {
    const cfg = longhornWorkersSeed();
    const hosts = cfg.hosts as { name: string; disks: unknown[] }[];
    // Only w-1 and cp-1 keep a longhorn disk.
    for (const h of hosts) h.disks = [];
    (hosts[0] as { disks: unknown[] }).disks = [
      { name: "lh", device: "/dev/disk/by-id/nvme-CP1LH", use: "longhorn", mountpoint: "/mnt/longhorn" },
    ];
    (hosts[3] as { disks: unknown[] }).disks = [{ name: "lh", device: "/dev/disk/by-id/nvme-W1LH", use: "longhorn" }];
    const run = await runProgram(cfg);
    const values = valuesOf(run, "longhorn") as {
      persistence: { defaultClassReplicaCount: number };
      defaultSettings: Record<string, unknown>;
      global?: { tolerations: unknown[] };
    };
    expect(values.persistence.defaultClassReplicaCount).toBe(2);
    expect(values.defaultSettings.taintToleration).toBe("node-role.kubernetes.io/control-plane:NoSchedule");
    expect(values.global?.tolerations).toEqual([CP_TOLERATION]);
    const cp1 = run.get("cp-1-longhorn-node", NODE_PATCH).inputs.metadata as { annotations: Record<string, string> };
    expect(JSON.parse(cp1.annotations["node.longhorn.io/default-disks-config"])).toEqual([
      { name: "lh", path: "/mnt/longhorn", allowScheduling: true, tags: ["lh"] },
    ]);
  });
});

describe("seed: Talos-style local classes (SSD, HDD, block)", () => {
  it("plans cleanly and renders the three classes, the first one default", async () => {
    const { plan, exitCode } = await planOf(talosLocalSeed());
    expect(plan.findings).toEqual([]);
    expect(exitCode).toBe(0);
    const run = await runProgram(talosLocalSeed());
    const values = valuesOf(run, "local-static-provisioner") as { classes: unknown[]; tolerations: unknown[] };
    expect(values.classes).toEqual([
      {
        name: "local-ssd",
        hostDir: "/var/mnt/local-ssd",
        mountDir: "/var/mnt/local-ssd",
        volumeMode: "Filesystem",
        fsType: "xfs",
        storageClass: { reclaimPolicy: "Delete", isDefaultClass: true },
      },
      {
        name: "local-hdd",
        hostDir: "/var/mnt/local-hdd",
        mountDir: "/var/mnt/local-hdd",
        volumeMode: "Filesystem",
        fsType: "ext4",
        storageClass: { reclaimPolicy: "Retain", isDefaultClass: false },
      },
      // A Block class has no filesystem to name.
      {
        name: "local-block",
        hostDir: "/var/mnt/local-block",
        mountDir: "/var/mnt/local-block",
        volumeMode: "Block",
        storageClass: { reclaimPolicy: "Retain", isDefaultClass: false },
      },
    ]);
    // cp-1 carries an SSD: the provisioner must run there.
    expect(values.tolerations).toEqual([CP_TOLERATION]);
    expect(plan.topology?.storage.localStatic?.classes.map((c) => [c.name, c.hosts, c.disks])).toEqual([
      ["local-ssd", ["cp-1", "w-1", "w-2"], 3],
      ["local-hdd", ["w-1"], 2],
      ["local-block", ["w-2"], 1],
    ]);
  });
});

describe("seed: Rook-Ceph on the NVMe disks of two control planes", () => {
  it("plans cleanly with pool size 2 across the two hosts and says it survives one host failure", async () => {
    const { plan, exitCode } = await planOf(cephControlPlanesSeed());
    expect(plan.findings).toEqual([]);
    expect(exitCode).toBe(0);
    expect(plan.topology?.storage.rookCeph).toMatchObject({ hosts: ["cp-1", "cp-2"], osds: 2, monCount: 3, poolSize: 2, survives: 1 });
  });

  it("lists both NVMe disks, and lets mons and OSDs run on the tainted control planes", async () => {
    const run = await runProgram(cephControlPlanesSeed());
    const cluster = valuesOf(run, "rook-ceph-cluster") as {
      cephClusterSpec: Record<string, unknown>;
      cephBlockPools: { spec: unknown; storageClass: { isDefault: boolean } }[];
    };
    expect(cluster.cephClusterSpec.storage).toEqual({
      useAllNodes: false,
      useAllDevices: false,
      nodes: [
        { name: "cp-1", devices: [{ name: "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_2TB_CP1OSD" }] },
        { name: "cp-2", devices: [{ name: "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_2TB_CP2OSD" }] },
      ],
    });
    expect(cluster.cephClusterSpec.mon).toEqual({ count: 3, allowMultiplePerNode: false });
    expect(cluster.cephClusterSpec.mgr).toEqual({ count: 2, allowMultiplePerNode: false });
    expect(cluster.cephClusterSpec.placement).toEqual({ all: { tolerations: [CP_TOLERATION] } });
    expect(cluster.cephBlockPools[0]?.spec).toEqual({ failureDomain: "host", replicated: { size: 2 } });
    expect(cluster.cephBlockPools[0]?.storageClass.isDefault).toBe(true);
    const operator = valuesOf(run, "rook-ceph") as { csi: Record<string, unknown> };
    expect(operator.csi.provisionerTolerations).toEqual([CP_TOLERATION]);
  });
});

describe("a 2-node Ceph", () => {
  it("runs one mon and a size-2 pool, and the plan says it survives no host failure", async () => {
    const { plan, exitCode } = await planOf(twoNodeCeph());
    expect(exitCode).toBe(0);
    expect(plan.topology?.storage.rookCeph).toMatchObject({ monCount: 1, poolSize: 2, survives: 0 });
    const run = await runProgram(twoNodeCeph());
    const cluster = valuesOf(run, "rook-ceph-cluster") as { cephClusterSpec: Record<string, unknown>; cephBlockPools: { spec: unknown }[] };
    expect(cluster.cephClusterSpec.mon).toEqual({ count: 1, allowMultiplePerNode: false });
    expect(cluster.cephClusterSpec.mgr).toEqual({ count: 2, allowMultiplePerNode: false });
    expect(cluster.cephBlockPools[0]?.spec).toEqual({ failureDomain: "host", replicated: { size: 2 } });
    // node-1 is a control plane carrying an OSD.
    expect(cluster.cephClusterSpec.placement).toEqual({ all: { tolerations: [CP_TOLERATION] } });
  });

  it("marks a deliberate single-copy pool so Rook accepts it (the plan warns)", async () => {
    const cfg = twoNodeCeph();
    (cfg.storage as { rookCeph: Record<string, unknown> }).rookCeph.poolSize = 1;
    const { plan } = await planOf(cfg);
    expect(plan.findings).toContainEqual(expect.objectContaining({ severity: "warning", path: "storage.rookCeph.poolSize" }));
    const run = await runProgram(cfg);
    const cluster = valuesOf(run, "rook-ceph-cluster") as { cephBlockPools: { spec: unknown }[] };
    expect(cluster.cephBlockPools[0]?.spec).toEqual({ failureDomain: "host", replicated: { size: 1, requireSafeReplicaSize: false } });
  });
});
