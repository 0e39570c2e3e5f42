import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { validateConfig } from "../../components/config";
import { defaultDiskName } from "../../components/config/rules-disks";
import { clone, loadStack, type TestConfig } from "../harness";

type Host = { name: string; address: string; roles: string[]; disks?: Record<string, unknown>[]; hostKey?: string; os?: string };

function raw(cfg: TestConfig) {
  return { cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true };
}

function dev() {
  const cfg = loadStack("dev");
  return { cfg, cluster: cfg.cluster as Record<string, unknown> & { endpoint: Record<string, unknown> }, hosts: cfg.hosts as Host[] };
}

describe("validateConfig defaults (CONFIG.md)", () => {
  const minimal = {
    cluster: { name: "lab", kubernetesVersion: "1.33.4", endpoint: { address: "192.168.1.10" } },
    hosts: [{ name: "cp-1", address: "192.168.1.11", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc", roles: ["control-plane"] }],
    sshPrivateKeySet: true,
  };

  it("fills the documented defaults", () => {
    const cfg = clone(minimal);
    // The address is a free IP, so keepalived is on by default and needs only its interface.
    (cfg.cluster.endpoint as Record<string, unknown>).keepalived = { interface: "eth0" };
    const { spec, findings } = validateConfig(cfg);
    expect(findings).toEqual([]);
    expect(spec?.cluster.endpoint.port).toBe(6443);
    expect(spec?.cluster.endpoint.keepalived).toEqual({ enabled: true, interface: "eth0", virtualRouterId: 51 });
    expect(spec?.cluster.networking).toEqual({
      podSubnet: "10.244.0.0/16",
      serviceSubnet: "10.96.0.0/12",
      cni: "cilium",
      gatewayApi: false,
    });
    expect(spec?.cluster.containerRuntime).toBe("containerd");
    expect(spec?.cluster.ssh).toEqual({ user: "root", port: 22, insecureIgnoreHostKey: false });
    expect(spec?.cluster.kubelet.rootDir).toBe("/var/lib/kubelet");
    expect(spec?.cluster.faultTolerance).toBe(0);
    expect(spec?.hosts[0]).toMatchObject({
      os: "ubuntu",
      immutableRoot: false,
      packagesPreinstalled: false,
      labels: {},
      taints: [],
      disks: [],
    });
    expect(spec?.storage.longhorn).toMatchObject({ enabled: false, version: "1.10.1", dataPath: "/var/lib/longhorn" });
    expect(spec?.storage.rookCeph).toMatchObject({ enabled: false, version: "v1.19.2" });
    expect(spec?.storage.localStatic).toMatchObject({ enabled: false, version: "2.8.0", classes: [] });
  });

  it("enables keepalived by default when its block is present and the address is an IP, with router id 51", () => {
    const cfg = clone(minimal);
    (cfg.cluster.endpoint as Record<string, unknown>).keepalived = { interface: "eth0" };
    expect(validateConfig(cfg).spec?.cluster.endpoint.keepalived).toEqual({ enabled: true, interface: "eth0", virtualRouterId: 51 });
  });

  it("defaults faultTolerance to 1 once there are two control planes", () => {
    const { cfg, hosts } = dev();
    expect(validateConfig(raw(cfg)).spec?.cluster.faultTolerance).toBe(1);
    delete (cfg.cluster as Record<string, unknown>).faultTolerance;
    hosts[2].roles = ["worker", "etcd"];
    expect(validateConfig(raw(cfg)).spec?.cluster.faultTolerance).toBe(1);
  });

  it("names disks after their device and mounts longhorn disks at the Longhorn data path", () => {
    expect(defaultDiskName("/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_S46")).toBe("nvme-samsung-ssd-970-evo-1tb-s46");
    const { cfg, hosts } = dev();
    hosts[2].disks = [{ device: "/dev/disk/by-id/nvme-A", use: "longhorn" }];
    const spec = validateConfig(raw(cfg)).spec;
    expect(spec?.hosts[2]?.disks[0]).toEqual({
      name: "nvme-a",
      device: "/dev/disk/by-id/nvme-A",
      wipe: false,
      use: "longhorn",
      fsType: "ext4",
      mountpoint: "/var/lib/longhorn",
    });
  });

  it("places local disks under their class's hostDir: mounted for Filesystem, linked for Block", () => {
    const spec = validateConfig(raw(dev().cfg)).spec;
    const w1 = spec?.hosts.find((h) => h.name === "w-1");
    const w3 = spec?.hosts.find((h) => h.name === "w-3");
    expect(w1?.disks.find((d) => d.use === "local")).toMatchObject({
      volumeMode: "Filesystem",
      fsType: "xfs",
      mountpoint: "/var/lib/disks/ssd/ssd1",
    });
    expect(w3?.disks.find((d) => d.use === "local")).toMatchObject({ volumeMode: "Block", linkPath: "/var/lib/disks/block/raw1" });
  });

  it("accepts a missing hostKey when the stack opts out of pinning", () => {
    const { cfg, cluster, hosts } = dev();
    cluster.ssh = { insecureIgnoreHostKey: true };
    delete hosts[0].hostKey;
    expect(validateConfig(raw(cfg)).findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it("collects findings from every key in one pass", () => {
    const { cfg, cluster, hosts } = dev();
    cluster.kubernetesVersion = "1.33";
    hosts[1].roles = ["boss"];
    hosts[4].address = "192.168.10.21";
    const paths = validateConfig({ ...raw(cfg), sshPrivateKeySet: false }).findings.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["sshPrivateKey", "cluster.kubernetesVersion", "hosts[1].roles[0]", "hosts[4].address"]));
  });
});

describe("warnings do not block, but are reported", () => {
  it("warns about kernel device names that can change between boots", () => {
    const { cfg, hosts } = dev();
    hosts[0].disks = [{ name: "backup", device: "/dev/sdb", use: "mount", mountpoint: "/srv/backup" }];
    const r = validateConfig(raw(cfg));
    expect(r.spec).toBeDefined();
    expect(r.findings).toContainEqual(expect.objectContaining({ severity: "warning", path: "hosts[0].disks[0].device" }));
  });

  it("warns about a mount nested in another disk's mountpoint", () => {
    const { cfg, hosts } = dev();
    hosts[0].disks = [
      { name: "a", device: "/dev/disk/by-id/a", use: "mount", mountpoint: "/srv/data" },
      { name: "b", device: "/dev/disk/by-id/b", use: "mount", mountpoint: "/srv/data/inner" },
    ];
    expect(validateConfig(raw(cfg)).findings).toContainEqual(expect.objectContaining({ severity: "warning", path: "hosts[0].disks[1]" }));
  });

  it("warns about disks meant for a storage system that is disabled", () => {
    const { cfg } = dev();
    (cfg.storage as { longhorn: { enabled: boolean } }).longhorn.enabled = false;
    const r = validateConfig(raw(cfg));
    expect(r.spec).toBeDefined();
    expect(r.findings).toContainEqual(expect.objectContaining({ severity: "warning", path: "storage.longhorn.enabled" }));
  });

  it("warns about an even number of etcd voters", () => {
    const { cfg, hosts } = dev();
    hosts[3].roles = ["worker", "etcd"];
    const a = analyze(raw(cfg));
    expect(a.spec).toBeDefined();
    expect(a.topology?.etcdVoters).toEqual(["cp-1", "cp-2", "w-1", "w-2"]);
    expect(a.findings).toContainEqual(
      expect.objectContaining({ severity: "warning", path: "hosts", message: expect.stringContaining("even number") as unknown }),
    );
  });
});
