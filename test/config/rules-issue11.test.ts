import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { type Finding, validateConfig } from "../../components/config";
import { clone, loadStack, type TestConfig } from "../harness";

type Host = Record<string, unknown> & { name: string; address: string; roles: string[]; disks?: Record<string, unknown>[] };
type Edit = (c: {
  cluster: Record<string, unknown> & { endpoint: Record<string, unknown>; ssh?: Record<string, unknown> };
  hosts: Host[];
  storage: Record<string, Record<string, unknown>>;
  raw: TestConfig;
}) => void;

const DEV = loadStack("dev");

/** Findings of the dev stack after `edit`, through the whole analysis as the plan runs it. */
function findings(edit: Edit, extra: Record<string, unknown> = {}): Finding[] {
  const raw = clone(DEV);
  edit({ cluster: raw.cluster as never, hosts: raw.hosts as Host[], storage: raw.storage as never, raw });
  return analyze({ cluster: raw.cluster, hosts: raw.hosts, storage: raw.storage, sshPrivateKeySet: true, ...extra }).findings;
}

const errorsAt = (fs: Finding[], path: string) => fs.filter((f) => f.severity === "error" && f.path === path);
const warningsAt = (fs: Finding[], path: string) => fs.filter((f) => f.severity === "warning" && f.path === path);
const errors = (fs: Finding[]) => fs.filter((f) => f.severity === "error");

describe("defaults that follow intent (CONFIG.md, issue 11 point 3)", () => {
  it("packagesPreinstalled defaults to true on an immutable root and on flatcar, false elsewhere", () => {
    const cfg = clone(DEV);
    const hosts = cfg.hosts as Host[];
    hosts[3].immutableRoot = true;
    hosts[3].os = "fedora";
    hosts[4].os = "flatcar";
    const { spec, findings: fs } = validateConfig({ cluster: cfg.cluster, hosts, storage: cfg.storage, sshPrivateKeySet: true });
    expect(errors(fs)).toEqual([]);
    expect(spec?.hosts.map((h) => [h.name, h.packagesPreinstalled])).toEqual([
      ["cp-1", false],
      ["cp-2", false],
      ["w-1", false],
      ["w-2", true],
      ["w-3", true],
      ["w-4", false],
    ]);
  });

  it("only an explicit packagesPreinstalled: false on an immutable root or flatcar is an error", () => {
    const immutable = findings(({ hosts }) => Object.assign(hosts[3], { immutableRoot: true, packagesPreinstalled: false }));
    expect(errorsAt(immutable, "hosts[3].packagesPreinstalled")[0]?.message).toContain("defaults to true");
    const flatcar = findings(({ hosts }) => Object.assign(hosts[3], { os: "flatcar", packagesPreinstalled: false }));
    expect(errorsAt(flatcar, "hosts[3].packagesPreinstalled")).toHaveLength(1);
  });

  it("keepalived is on by default for a free IP: without the block it asks for the interface, and says why", () => {
    const fs = findings(({ cluster }) => delete cluster.endpoint.keepalived);
    const [f] = errorsAt(fs, "cluster.endpoint.keepalived.interface");
    expect(f?.message).toContain("enabled by default");
    expect(f?.message).toContain("keepalived.enabled: false");
    const cfg = clone(DEV);
    (cfg.cluster as { endpoint: Record<string, unknown> }).endpoint.keepalived = { interface: "eth0" };
    const { spec } = validateConfig({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true });
    expect(spec?.cluster.endpoint.keepalived).toEqual({ enabled: true, interface: "eth0", virtualRouterId: 51 });
  });

  it("keepalived stays off for a host's own address or a DNS name", () => {
    const mini = loadStack("mini");
    const { spec } = validateConfig({ cluster: mini.cluster, hosts: mini.hosts, storage: mini.storage, sshPrivateKeySet: true });
    expect(spec?.cluster.endpoint.keepalived).toEqual({ enabled: false });
    const dns = clone(DEV);
    (dns.cluster as { endpoint: Record<string, unknown> }).endpoint = { address: "api.lab.example" };
    expect(
      validateConfig({ cluster: dns.cluster, hosts: dns.hosts, storage: dns.storage, sshPrivateKeySet: true }).spec?.cluster.endpoint
        .keepalived,
    ).toEqual({
      enabled: false,
    });
  });

  it("two control planes behind one host's own address get a warning naming the remedy; one control plane does not", () => {
    const two = findings(({ cluster }) => (cluster.endpoint = { address: "192.168.10.11" }));
    expect(errors(two)).toEqual([]);
    const [w] = warningsAt(two, "cluster.endpoint.address");
    expect(w?.message).toContain("cp-1");
    expect(w?.message).toContain("free IP");
    expect(w?.message).toContain("keepalived");
    const mini = loadStack("mini");
    const one = analyze({ cluster: mini.cluster, hosts: mini.hosts, storage: mini.storage, sshPrivateKeySet: true }).findings;
    expect(warningsAt(one, "cluster.endpoint.address")).toEqual([]);
  });

  it("an explicit keepalived.enabled: true on a host's own address is still an error", () => {
    const fs = findings(
      ({ cluster }) => (cluster.endpoint = { address: "192.168.10.11", keepalived: { enabled: true, interface: "eth0" } }),
    );
    expect(errorsAt(fs, "cluster.endpoint.address")[0]?.message).toContain("free address");
  });
});

describe("disk devices (CONFIG.md Devices, point 4)", () => {
  it("accepts /dev/disk/by-path/ like /dev/disk/by-id/, without a warning", () => {
    const fs = findings(({ hosts }) => ((hosts[0].disks as Record<string, unknown>[])[0].device = "/dev/disk/by-path/pci-0000:00:05.0"));
    expect(fs.filter((f) => f.path.startsWith("hosts[0].disks[0]"))).toEqual([]);
  });

  it("a kernel name is a warning on its device key, also in a Block class", () => {
    const mount = findings(({ hosts }) => ((hosts[0].disks as Record<string, unknown>[])[0].device = "/dev/vdf"));
    expect(errors(mount)).toEqual([]);
    expect(warningsAt(mount, "hosts[0].disks[0].device")[0]?.message).toContain("kernel name");
    // w-3's raw1 is in the Block class raw-block.
    for (const dev of ["/dev/sdb", "/dev/nvme1n1", "/dev/vdf"]) {
      const block = findings(({ hosts }) => ((hosts[4].disks as Record<string, unknown>[])[2].device = dev));
      expect(errors(block)).toEqual([]);
      expect(warningsAt(block, "hosts[4].disks[2].device")).toHaveLength(1);
    }
  });

  it("a Block class refuses a path that is neither stable nor a kernel name", () => {
    const fs = findings(({ hosts }) => ((hosts[4].disks as Record<string, unknown>[])[2].device = "/dev/mapper/raw"));
    expect(errorsAt(fs, "hosts[4].disks[2].device")).toHaveLength(1);
  });
});

describe("paths (point 5): one validator for every path key", () => {
  const PATHS: { path: string; set: (c: Parameters<Edit>[0], v: string) => void }[] = [
    { path: "hosts[0].disks[0].mountpoint", set: (c, v) => ((c.hosts[0].disks as Record<string, unknown>[])[0].mountpoint = v) },
    { path: "storage.longhorn.dataPath", set: (c, v) => (c.storage.longhorn.dataPath = v) },
    {
      path: "storage.localStatic.classes[0].hostDir",
      set: (c, v) => ((c.storage.localStatic.classes as Record<string, unknown>[])[0].hostDir = v),
    },
    { path: "cluster.kubelet.rootDir", set: (c, v) => (c.cluster.kubelet = { rootDir: v }) },
  ];
  const BAD = [
    "/srv/../etc",
    "//var",
    "/var/.",
    "/srv/backup/",
    "srv/backup",
    "/srv/my backup",
    "/srv/a\nb",
    "/srv/a\u0000b",
    "/srv/$(id)",
    "",
  ];

  it.each(PATHS)("$path refuses unnormalised, relative, whitespace and control-character paths", ({ path, set }) => {
    for (const bad of BAD) {
      const fs = findings((c) => set(c, bad));
      expect(errorsAt(fs, path), `${path} = ${JSON.stringify(bad)}`).toHaveLength(1);
    }
  });

  it("the OS-directory refusal can no longer be dodged: /srv/../etc, //var and /var/. are refused, naming what they mean", () => {
    const fs = findings(({ hosts }) => ((hosts[0].disks as Record<string, unknown>[])[0].mountpoint = "/srv/../etc"));
    expect(errorsAt(fs, "hosts[0].disks[0].mountpoint")[0]?.message).toContain("it means /etc");
  });
});

describe("interface, user, labels and taints (points 6-8)", () => {
  it.each(["eth0\n    notify_master /bin/sh", "eth0:1", "a/b", "eth 0", "0123456789abcdef", ".", "..", "-eth0", "eth0#", "}"])(
    "keepalived.interface %j is refused on its key",
    (bad) => {
      const fs = findings(({ cluster }) => ((cluster.endpoint.keepalived as Record<string, unknown>).interface = bad));
      expect(errorsAt(fs, "cluster.endpoint.keepalived.interface")).toHaveLength(1);
      if (bad.includes("\n")) expect(errorsAt(fs, "cluster.endpoint.keepalived.interface")[0].message).toContain("a newline");
    },
  );

  it.each(["eth0", "enp1s0", "bond0.100", "br-lan", "wg_0", "abcdefghijklmno"])("keepalived.interface %j is accepted", (ok) => {
    const fs = findings(({ cluster }) => ((cluster.endpoint.keepalived as Record<string, unknown>).interface = ok));
    expect(errors(fs)).toEqual([]);
  });

  it.each(["-oProxyCommand=touch /tmp/x", "$(id)", "ops\nroot", "Ops", "o ps", "ops$", "a".repeat(33), ""])(
    "ssh.user %j is refused",
    (bad) => {
      const fs = findings(({ cluster }) => (cluster.ssh = { user: bad }));
      expect(errorsAt(fs, "cluster.ssh.user")).toHaveLength(1);
    },
  );

  it.each(["root", "ops", "_svc", "deploy-1"])("ssh.user %j is accepted", (ok) => {
    expect(errors(findings(({ cluster }) => (cluster.ssh = { user: ok })))).toEqual([]);
  });

  it("a comma in a label value cannot add another label; keys and values follow Kubernetes' rules", () => {
    const cases: [Record<string, string>, string][] = [
      [{ zone: "a,node-role.kubernetes.io/control-plane=x" }, "hosts[2].labels.zone"],
      [{ zone: "a b" }, "hosts[2].labels.zone"],
      [{ zone: "a\nb" }, "hosts[2].labels.zone"],
      [{ zone: "x".repeat(64) }, "hosts[2].labels.zone"],
      [{ "bad key": "x" }, "hosts[2].labels.bad key"],
      [{ "Example.com/x": "y" }, "hosts[2].labels.Example.com/x"],
      [{ "a/b/c": "y" }, "hosts[2].labels.a/b/c"],
      [{ "-x": "y" }, "hosts[2].labels.-x"],
    ];
    for (const [labels, path] of cases) {
      const fs = findings(({ hosts }) => (hosts[2].labels = labels));
      expect(errorsAt(fs, path), JSON.stringify(labels)).toHaveLength(1);
    }
    const ok = findings(
      ({ hosts }) => (hosts[2].labels = { "topology.kubernetes.io/zone": "rack-a", tier: "", "example.com/x_y.z": "A-1" }),
    );
    expect(errors(ok)).toEqual([]);
  });

  it("a kubernetes.io label the kubelet may not set on itself is refused, naming kubectl label as the way", () => {
    const fs = findings(({ hosts }) => (hosts[2].labels = { "node-role.kubernetes.io/storage": "" }));
    const [f] = errorsAt(fs, "hosts[2].labels.node-role.kubernetes.io/storage");
    expect(f?.message).toContain("refuses to start");
    expect(f?.message).toContain("kubectl label");
    const allowed = findings(({ hosts }) => (hosts[2].labels = { "node.kubernetes.io/pool": "a", "kubernetes.io/arch": "amd64" }));
    expect(errors(allowed)).toEqual([]);
  });

  it("taints are checked as key, value and effect", () => {
    for (const bad of ["a b=c:NoSchedule", "k=a,b:NoSchedule", "-k=v:NoSchedule", "k=v:Sometimes", "k=v", "a/b/c=v:NoExecute"]) {
      expect(
        errorsAt(
          findings(({ hosts }) => (hosts[0].taints = [bad])),
          "hosts[0].taints[0]",
        ),
        bad,
      ).toHaveLength(1);
    }
    for (const ok of ["dedicated=storage:NoSchedule", "k:NoExecute", "example.com/gpu=true:PreferNoSchedule", "k=:NoSchedule"]) {
      expect(errors(findings(({ hosts }) => (hosts[0].taints = [ok]))), ok).toEqual([]);
    }
  });
});

describe("namespace keys and dependent findings (point 9)", () => {
  it.each([
    ["baremetal-k8s:nodes", "nodes", "baremetal-k8s:hosts"],
    ["baremetal-k8s:host", "host", "baremetal-k8s:hosts"],
    ["baremetal-k8s:storge", "storge", "baremetal-k8s:storage"],
    ["baremetal-k8s:Cluster", "Cluster", "baremetal-k8s:cluster"],
    ["baremetal-k8:hosts", "baremetal-k8:hosts", "baremetal-k8s:hosts"],
  ])("%s is named with a suggestion", (full, path, suggestion) => {
    const fs = findings(() => undefined, {
      configKeys: ["baremetal-k8s:cluster", "baremetal-k8s:hosts", "pulumi:tags", "kubernetes:context", full],
    });
    const [f] = errorsAt(fs, path);
    expect(f?.message).toContain(`did you mean ${suggestion}?`);
    expect(errors(fs)).toHaveLength(1);
  });

  it("a typo in storage.longhorn reports that typo only, not every local disk as naming an unknown class", () => {
    const fs = findings(({ storage }) => (storage.longhorn.replicas = 3));
    expect(errors(fs).map((f) => f.path)).toEqual(["storage.longhorn.replicas"]);
    expect(errors(fs)[0].message).toContain("did you mean replicaCount?");
  });

  it("a broken localStatic section does not report its disks' classes as undefined", () => {
    const fs = findings(({ storage }) => ((storage.localStatic.classes as Record<string, unknown>[])[0].hostDir = "relative"));
    expect(errors(fs).map((f) => f.path)).toEqual(["storage.localStatic.classes[0].hostDir"]);
  });
});

describe("smaller checks (point 10)", () => {
  it("an unquoted kubernetesVersion (a YAML number) says to quote it", () => {
    const fs = findings(({ cluster }) => (cluster.kubernetesVersion = 1.34 as unknown as string));
    expect(errorsAt(fs, "cluster.kubernetesVersion")[0]?.message).toMatch(/quotes/);
  });

  it("port: 1e300 is reported once, with the port's own bound", () => {
    const fs = findings(({ cluster }) => (cluster.endpoint.port = 1e300));
    expect(errorsAt(fs, "cluster.endpoint.port")).toHaveLength(1);
    expect(errorsAt(fs, "cluster.endpoint.port")[0].message).toContain("65535");
  });

  it("a Kubernetes release beyond the supported range is refused, stating the range", () => {
    const fs = findings(({ cluster, storage }) => {
      cluster.kubernetesVersion = "1.99.0";
      storage.rookCeph.enabled = false;
    });
    expect(errorsAt(fs, "cluster.kubernetesVersion")[0]?.message).toMatch(/1\.31 to 1\.\d+/);
  });

  it.each([
    "::1",
    "127.0.0.1",
    "0.0.0.0",
    "::",
    "224.0.0.5",
    "255.255.255.255",
    "169.254.10.11",
    "fe80::1",
    "::ffff:192.168.10.11",
    "240.0.0.1",
  ])("%s is refused as a host address", (bad) => {
    expect(
      errorsAt(
        findings(({ hosts }) => (hosts[5].address = bad)),
        "hosts[5].address",
      ),
    ).toHaveLength(1);
  });

  it("an IPv6 endpoint with IPv4 hosts is refused, and so are hosts of two families", () => {
    const vip6 = findings(({ cluster }) => (cluster.endpoint.address = "fd00::10"));
    expect(errorsAt(vip6, "cluster.endpoint.address")[0]?.message).toContain("IPv4");
    const mixed = findings(({ hosts }) => (hosts[5].address = "fd00::24"));
    expect(errorsAt(mixed, "hosts[5].address")).toHaveLength(1);
  });

  it("a loopback endpoint is refused", () => {
    expect(
      errorsAt(
        findings(({ cluster }) => (cluster.endpoint.address = "127.0.0.1")),
        "cluster.endpoint.address",
      ),
    ).toHaveLength(1);
  });
});
