import { describe, expect, it } from "vitest";
import type { Finding } from "../../components/config";
import { dataSafetyFindings, storageFootprint } from "../../components/storage/data-safety";
import { clone, loadStack, type TestConfig } from "../harness";
import { hostsOf, planOf, specOf, storageOf } from "./helpers";
import { cephControlPlanesSeed, longhornWorkersSeed, talosLocalSeed } from "./seeds";

const footprint = (cfg: TestConfig) => storageFootprint(specOf(cfg).topology);
const check = (prev: TestConfig, next: TestConfig): Finding[] => dataSafetyFindings(footprint(prev), footprint(next));
const summary = (fs: Finding[]) => fs.map((f) => `${f.severity} ${f.path}`);

function without(cfg: TestConfig, ...names: string[]): TestConfig {
  const next = clone(cfg);
  next.hosts = hostsOf(next).filter((h) => !names.includes(h.name));
  return next;
}

describe("the storage footprint", () => {
  it("records each system's disks per host and its copies", () => {
    expect(footprint(loadStack("dev"))).toEqual({
      longhorn: {
        replicaCount: 3,
        hosts: {
          "w-1": ["longhorn@/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_W1LONGHORN"],
          "w-2": ["longhorn@/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_W2LONGHORN"],
          "w-3": ["longhorn@/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_W3LONGHORN"],
        },
      },
      rookCeph: {
        poolSize: 3,
        hosts: {
          "w-2": ["osd0@/dev/disk/by-id/ata-ST4000VN008-2DR166_W2CEPH0"],
          "w-3": ["osd0@/dev/disk/by-id/ata-ST4000VN008-2DR166_W3CEPH0"],
          "w-4": ["osd0@/dev/disk/by-id/ata-ST4000VN008-2DR166_W4CEPH0"],
        },
      },
      localStatic: {
        hosts: {
          "w-1": ["ssd1@/dev/disk/by-id/ata-Samsung_SSD_870_EVO_500GB_W1LOCAL"],
          "w-3": ["raw1@/dev/disk/by-id/ata-Samsung_SSD_870_EVO_500GB_W3BLOCK"],
        },
      },
    });
  });
});

describe("data-safety findings between the previous and the next config", () => {
  it("finds nothing for an unchanged config or an added host", () => {
    const dev = loadStack("dev");
    expect(check(dev, dev)).toEqual([]);
    const grown = clone(dev);
    hostsOf(grown).push({
      name: "w-5",
      roles: ["worker"],
      disks: [{ name: "longhorn", device: "/dev/disk/by-id/nvme-W5", use: "longhorn" }],
    });
    Object.assign(hostsOf(grown).at(-1) as object, {
      address: "192.168.10.25",
      hostKey: (hostsOf(dev)[0] as unknown as { hostKey: string }).hostKey,
    });
    expect(check(dev, grown)).toEqual([]);
  });

  it("is an error to remove the only host of single-replica Longhorn volumes", () => {
    const prev = longhornWorkersSeed();
    storageOf(prev).longhorn = { ...storageOf(prev).longhorn, replicaCount: 1 };
    const next = without(prev, "w-2");
    const fs = check(prev, next);
    expect(summary(fs)).toContain("error hosts");
    expect(fs.find((f) => f.severity === "error")?.message).toContain("w-2 (longhorn)");
  });

  it("warns when removing fewer Longhorn hosts than replicas, and errors when removing as many", () => {
    const prev = longhornWorkersSeed();
    const grown = clone(prev);
    hostsOf(grown).push(
      Object.assign(clone(hostsOf(prev)[5] as object), {
        name: "w-4",
        address: "192.0.2.24",
        disks: [{ name: "longhorn", device: "/dev/disk/by-id/nvme-W4LH", use: "longhorn" }],
      }) as never,
    );
    // 4 storage hosts, 3 replicas: one host at a time is safe after eviction.
    expect(summary(check(grown, without(grown, "w-1")))).toEqual(["warning hosts"]);
    expect(summary(check(grown, without(grown, "w-1", "w-2", "w-3")))).toContain("error hosts");
  });

  it("counts a disk whose device changed as removed", () => {
    const prev = longhornWorkersSeed();
    storageOf(prev).longhorn = { ...storageOf(prev).longhorn, replicaCount: 1 };
    const next = clone(prev);
    const disk = hostsOf(next)[3]?.disks?.[0] as { device: string };
    disk.device = "/dev/disk/by-id/nvme-REPLACED";
    expect(summary(check(prev, next))).toEqual(["error hosts"]);
  });

  it("warns when remaining Longhorn hosts are fewer than the replicas existing volumes keep, and when replicaCount is lowered", () => {
    const prev = longhornWorkersSeed();
    // Two storage hosts remain; the default replicaCount follows them down to 2.
    const fs = check(prev, without(prev, "w-1"));
    expect(summary(fs)).toEqual(["warning hosts", "warning storage.longhorn.replicaCount", "warning storage.longhorn.replicaCount"]);
    expect(fs.map((f) => f.message).join("\n")).toContain("only 2 Longhorn hosts would remain");
    const lowered = clone(prev);
    storageOf(lowered).longhorn = { ...storageOf(lowered).longhorn, replicaCount: 2 };
    const low = check(prev, lowered);
    expect(summary(low)).toEqual(["warning storage.longhorn.replicaCount"]);
    expect(low[0]?.message).toContain("lowered from 3 to 2");
  });

  it("warns when Rook-Ceph is switched off: the releases and OSDs are retained", () => {
    const prev = cephControlPlanesSeed();
    const next = clone(prev);
    for (const h of hostsOf(next)) h.disks = [];
    storageOf(next).rookCeph = { ...storageOf(next).rookCeph, enabled: false };
    expect(summary(check(prev, next))).toEqual(["warning storage.rookCeph.enabled"]);
  });

  it("warns when one OSD host of four goes from a size-3 pool", () => {
    const prev = loadStack("dev");
    hostsOf(prev)[2].disks!.push({ name: "osd0", device: "/dev/disk/by-id/ata-W1CEPH0", use: "ceph" });
    const next = clone(prev);
    hostsOf(next)[5].disks = hostsOf(next)[5].disks!.filter((d) => d.use !== "ceph");
    const fs = check(prev, next);
    expect(summary(fs)).toEqual(["warning hosts"]);
    expect(fs[0]?.message).toContain("w-4 (osd0)");
  });

  it("errors when OSD hosts go and the default pool size follows them down", () => {
    const dev = loadStack("dev");
    const two = clone(dev);
    for (const h of hostsOf(two)) if (h.name === "w-2" || h.name === "w-3") h.disks = (h.disks ?? []).filter((d) => d.use !== "ceph");
    expect(summary(check(dev, two))).toEqual(["warning hosts", "error storage.rookCeph.poolSize"]);
  });

  it("errors when the OSD hosts holding every copy go at once", () => {
    const cps = cephControlPlanesSeed();
    const gone = clone(cps);
    for (const h of hostsOf(gone)) if (h.name === "cp-1" || h.name === "cp-2") h.disks = [];
    hostsOf(gone)[2].disks = [{ name: "nvme0", device: "/dev/disk/by-id/nvme-W1OSD", use: "ceph" }];
    const fs = check(cps, gone);
    expect(summary(fs)).toContain("error hosts");
    expect(fs.find((f) => f.path === "hosts")?.message).toContain("cp-1 (nvme0), cp-2 (nvme0)");
  });

  it("is an error to lower the Ceph pool size: it drops copies of existing data at once", () => {
    const prev = loadStack("dev");
    const next = clone(prev);
    storageOf(next).rookCeph = { ...storageOf(next).rookCeph, poolSize: 2 };
    const fs = check(prev, next);
    expect(summary(fs)).toEqual(["error storage.rookCeph.poolSize"]);
    expect(fs[0]?.message).toContain("lowered from 3 to 2");
    // how an operator accepts it on purpose: the same config without the comparison plans (last test)
    expect(fs[0]?.message).toContain("pulumi config rm baremetal-k8s:previousTopology");
  });

  it("warns that removing a host with local disks strands its single-copy volumes", () => {
    const prev = talosLocalSeed();
    const fs = check(prev, without(prev, "w-2"));
    expect(summary(fs)).toEqual(["warning hosts"]);
    expect(fs[0]?.message).toContain("w-2 (nvme0, ssd0)");
  });

  it("warns when Longhorn is switched off: the release is retained, not uninstalled", () => {
    const prev = loadStack("dev");
    const next = clone(prev);
    storageOf(next).longhorn = { ...storageOf(next).longhorn, enabled: false };
    storageOf(next).defaultClass = "ceph-block";
    expect(summary(check(prev, next))).toEqual(["warning storage.longhorn.enabled"]);
  });

  it("reaches the offline plan: an error against the previous stack file exits 2", async () => {
    const prev = loadStack("dev");
    const next = clone(prev);
    storageOf(next).rookCeph = { ...storageOf(next).rookCeph, poolSize: 2 };
    const { plan, exitCode } = await planOf(next, prev);
    expect(exitCode).toBe(2);
    expect(plan.resources).toEqual([]);
    expect(plan.findings).toContainEqual(expect.objectContaining({ severity: "error", path: "storage.rookCeph.poolSize" }));
    // Without the previous config there is nothing to compare, and the same config plans.
    expect((await planOf(next)).exitCode).toBe(0);
  });
});
