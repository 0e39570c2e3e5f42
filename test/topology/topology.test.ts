import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { etcdFaultTolerance } from "../../components/topology";
import { loadStack, type TestConfig } from "../harness";

type Host = { name: string; roles: string[]; disks?: { use: string }[] };

function analyzeCfg(cfg: TestConfig) {
  return analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true });
}

describe("etcd fault tolerance", () => {
  it("is floor((voters - 1) / 2)", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(etcdFaultTolerance)).toEqual([0, 0, 1, 1, 2, 2, 3]);
  });
});

describe("topology of the example lab", () => {
  const a = analyzeCfg(loadStack("dev"));

  it("leads with the first control plane and counts the witness as the third voter", () => {
    expect(a.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(a.topology).toMatchObject({
      leader: "cp-1",
      controlPlanes: ["cp-1", "cp-2"],
      workers: ["w-1", "w-2", "w-3", "w-4"],
      etcdVoters: ["cp-1", "cp-2", "w-1"],
      witnesses: ["w-1"],
      faultTolerance: 1,
    });
  });

  it("sizes storage from the disks: 3 Longhorn replicas, 3 mons, Ceph pool size 3", () => {
    expect(a.topology?.storage.longhorn).toMatchObject({ hosts: ["w-1", "w-2", "w-3"], replicaCount: 3, survives: 2 });
    expect(a.topology?.storage.rookCeph).toMatchObject({ hosts: ["w-2", "w-3", "w-4"], osds: 3, monCount: 3, poolSize: 3, survives: 1 });
  });
});

describe("a lab that cannot keep quorum", () => {
  it("two control planes without the witness are refused, naming a worker to make a witness", () => {
    const cfg = loadStack("dev");
    const hosts = cfg.hosts as Host[];
    (hosts[2] as Host).roles = ["worker"];
    const a = analyzeCfg(cfg);
    expect(a.spec).toBeUndefined();
    const f = a.findings.find((x) => x.path === "cluster.faultTolerance");
    expect(f?.severity).toBe("error");
    expect(f?.message).toContain("add role etcd to one worker, e.g. w-1");
    expect(a.topology?.etcdVoters).toEqual(["cp-1", "cp-2"]);
    expect(a.topology?.faultTolerance).toBe(0);
  });

  it("is accepted when the stack explicitly accepts no tolerance", () => {
    const cfg = loadStack("dev");
    (cfg.hosts as Host[])[2]!.roles = ["worker"];
    (cfg.cluster as { faultTolerance: number }).faultTolerance = 0;
    expect(analyzeCfg(cfg).spec).toBeDefined();
  });
});

describe("storage defaults follow the hardware", () => {
  it("two ceph hosts give pool size 2 and the default Longhorn replica count is capped by its hosts", () => {
    const cfg = loadStack("dev");
    const hosts = cfg.hosts as Host[];
    hosts[5]!.disks = hosts[5]!.disks?.filter((d) => d.use !== "ceph");
    hosts[4]!.disks = hosts[4]!.disks?.filter((d) => d.use !== "longhorn");
    const storage = cfg.storage as { longhorn: Record<string, unknown> };
    delete storage.longhorn.replicaCount;
    const a = analyzeCfg(cfg);
    expect(a.topology?.storage.rookCeph).toMatchObject({ hosts: ["w-2", "w-3"], poolSize: 2, survives: 1 });
    expect(a.topology?.storage.longhorn).toMatchObject({ hosts: ["w-1", "w-2"], replicaCount: 2 });
  });
});
