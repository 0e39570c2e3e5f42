import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import {
  middleWorker,
  syntheticHostKey,
  syntheticInventory,
  withLonghornReplicas,
  withoutHost,
  type InventoryConfig,
  type SyntheticHost,
} from "../../bench/inventory";
import { loadStack } from "../harness";

const base = loadStack("dev");

function check(cfg: InventoryConfig) {
  return analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true });
}

describe("synthetic inventories", () => {
  it.each([3, 4, 10, 50, 100, 250])(
    "%i hosts: three control planes (Ceph OSDs), the rest workers (local disks), two disks each, all storage on, no finding but the example lab's Gateway API note",
    (n) => {
      const cfg = syntheticInventory(base, n);
      const a = check(cfg);
      // The example lab's cluster settings carry one warning: Cilium's Gateway API without kube-proxy replacement.
      expect(a.findings.filter((f) => f.path !== "cluster.networking.gatewayApi")).toEqual([]);
      const t = a.topology;
      expect(t?.controlPlanes).toEqual(["cp-1", "cp-2", "cp-3"]);
      expect(t?.etcdVoters).toHaveLength(3);
      expect(t?.faultTolerance).toBe(1);
      expect(a.spec?.hosts).toHaveLength(n);
      expect(a.spec?.hosts.every((h) => h.disks.length === 2)).toBe(true);
      expect(t?.storage.longhorn?.replicaCount).toBe(3);
      expect(t?.storage.rookCeph).toMatchObject({ hosts: ["cp-1", "cp-2", "cp-3"], poolSize: 3 });
      // Local-static needs a worker's disk: the 3-host inventory has none, so it is off there.
      if (n > 3) expect(t?.storage.localStatic?.classes.every((c) => c.disks > 0)).toBe(true);
      else expect(t?.storage.localStatic).toBeUndefined();
      const hosts = cfg.hosts as SyntheticHost[];
      expect(new Set(hosts.map((h) => h.address)).size).toBe(n);
      expect(new Set(hosts.map((h) => h.hostKey)).size).toBe(n);
      expect(new Set(hosts.flatMap((h) => h.disks.map((d) => d.device))).size).toBe(2 * n);
    },
  );

  it("keeps the example lab's cluster settings and storage versions", () => {
    const cfg = syntheticInventory(base, 10);
    expect(cfg.cluster).toEqual(base.cluster);
    const s = cfg.storage as { longhorn: { version: string }; rookCeph: { version: string }; defaultClass: string };
    const b = base.storage as typeof s;
    expect(s.longhorn.version).toBe(b.longhorn.version);
    expect(s.rookCeph.version).toBe(b.rookCeph.version);
    expect(s.defaultClass).toBe(b.defaultClass);
  });

  it("is prefix-stable: one more host appends a worker and leaves every other host and the storage counts alone", () => {
    const a = syntheticInventory(base, 50);
    const b = syntheticInventory(base, 51);
    expect((b.hosts as SyntheticHost[]).slice(0, 50)).toEqual(a.hosts);
    expect((b.hosts as SyntheticHost[])[50]?.roles).toEqual(["worker"]);
    expect(b.storage).toEqual(a.storage);
    expect(syntheticInventory(base, 50)).toEqual(a);
  });

  it("writes host keys in the OpenSSH ed25519 wire format", () => {
    const blob = Buffer.from(syntheticHostKey("w-7").split(" ")[1], "base64");
    expect(blob.readUInt32BE(0)).toBe(11);
    expect(blob.subarray(4, 15).toString()).toBe("ssh-ed25519");
    expect(blob.readUInt32BE(15)).toBe(32);
    expect(blob.length).toBe(51);
  });

  it("removes the middle worker and changes Longhorn's replica count, staying valid", () => {
    const cfg = syntheticInventory(base, 10);
    const gone = middleWorker(cfg);
    expect(gone).toBe("w-4");
    const minus = withoutHost(cfg, gone);
    expect((minus.hosts as SyntheticHost[]).map((h) => h.name)).not.toContain(gone);
    expect(check(minus).findings.filter((f) => f.path !== "cluster.networking.gatewayApi")).toEqual([]);
    const replicas = withLonghornReplicas(cfg, 2);
    expect(check(replicas).topology?.storage.longhorn?.replicaCount).toBe(2);
    expect(() => withoutHost(cfg, "nope")).toThrow(/no host named nope/);
  });

  it("refuses fewer hosts than control planes", () => {
    expect(() => syntheticInventory(base, 2)).toThrow(/at least 3 hosts/);
  });
});
