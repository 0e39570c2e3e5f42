import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import type { Finding } from "../../components/config";
import { clone, loadStack, runProgramExpectingError, type TestConfig } from "../harness";
import { planOf, storageOf } from "./helpers";
import { talosLocalSeed } from "./seeds";

function findingsOf(cfg: TestConfig): Finding[] {
  return analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true }).findings;
}

function withVersions(k8s: string, rook: string): TestConfig {
  const cfg = loadStack("dev");
  (cfg.cluster as { kubernetesVersion: string }).kubernetesVersion = k8s;
  storageOf(cfg).rookCeph = { ...storageOf(cfg).rookCeph, version: rook };
  return cfg;
}

const at = (fs: Finding[], path: string) => fs.filter((f) => f.path === path);

describe("Rook chart version against kubernetesVersion", () => {
  it("accepts v1.19.x on Kubernetes 1.31 to 1.35", () => {
    for (const k8s of ["1.31.0", "1.33.4", "1.35.2"])
      expect(at(findingsOf(withVersions(k8s, "v1.19.2")), "storage.rookCeph.version")).toEqual([]);
  });

  it("refuses v1.19.x on Kubernetes 1.36, naming both versions, and the plan exits 2", async () => {
    const cfg = withVersions("1.36.0", "v1.19.2");
    const [f, ...rest] = at(findingsOf(cfg), "storage.rookCeph.version");
    expect(rest).toEqual([]);
    expect(f?.severity).toBe("error");
    expect(f?.message).toContain("Rook v1.19.2 supports Kubernetes 1.30 to 1.35");
    expect(f?.message).toContain("1.36.0");
    const { exitCode, plan } = await planOf(cfg);
    expect(exitCode).toBe(2);
    expect(plan.resources).toEqual([]);
  });

  it("stops pulumi itself (not only the offline plan) before registering anything", async () => {
    const message = await runProgramExpectingError(withVersions("1.36.0", "v1.19.2"));
    expect(message).toContain("storage.rookCeph.version");
  });

  it("refuses v1.20.x clearly: it needs the ceph-csi-drivers chart this program does not install", () => {
    const [f] = at(findingsOf(withVersions("1.33.4", "v1.20.1")), "storage.rookCeph.version");
    expect(f?.severity).toBe("error");
    expect(f?.message).toContain("ceph-csi-drivers");
    expect(f?.message).toContain("v1.19.x");
  });

  it("refuses a version outside the series it knows, and one without the leading v", () => {
    expect(at(findingsOf(withVersions("1.33.4", "v1.18.9")), "storage.rookCeph.version")[0]?.message).toContain("not a Rook release");
    expect(at(findingsOf(withVersions("1.33.4", "1.19.2")), "storage.rookCeph.version")[0]?.message).toContain('write "v1.19.2"');
  });

  it("does not check Rook when it is disabled", () => {
    const cfg = withVersions("1.36.0", "v1.19.2");
    storageOf(cfg).rookCeph = { ...storageOf(cfg).rookCeph, enabled: false };
    storageOf(cfg).defaultClass = "longhorn";
    expect(at(findingsOf(cfg), "storage.rookCeph.version")).toEqual([]);
  });
});

describe("Longhorn and local-static chart versions", () => {
  it("refuses a Longhorn version with a leading v, and warns about an unknown series", () => {
    const cfg = loadStack("dev");
    storageOf(cfg).longhorn = { ...storageOf(cfg).longhorn, version: "v1.10.1" };
    const [f] = at(findingsOf(cfg), "storage.longhorn.version");
    expect(f?.severity).toBe("error");
    expect(f?.message).toContain('write "1.10.1"');
    storageOf(cfg).longhorn = { ...storageOf(cfg).longhorn, version: "1.9.2" };
    expect(at(findingsOf(cfg), "storage.longhorn.version")[0]?.severity).toBe("warning");
  });

  it("refuses a local-static version that is not x.y.z", () => {
    const cfg = loadStack("dev");
    storageOf(cfg).localStatic = { ...storageOf(cfg).localStatic, version: "latest" };
    expect(at(findingsOf(cfg), "storage.localStatic.version")[0]?.severity).toBe("error");
  });
});

describe("local class directories on immutable roots", () => {
  it("refuses a hostDir outside /var on a host with an immutable root, naming the host", () => {
    const cfg = clone(talosLocalSeed());
    const classes = (storageOf(cfg).localStatic as { classes: { hostDir: string }[] }).classes;
    classes[1].hostDir = "/mnt/local-hdd";
    const [f] = at(findingsOf(cfg), "storage.localStatic.classes[1].hostDir");
    expect(f?.severity).toBe("error");
    expect(f?.message).toContain("w-1");
    expect(f?.message).toContain("/var/mnt/local-hdd");
  });

  it("accepts any hostDir on ordinary hosts", () => {
    // The dev example's one warning is about Cilium's Gateway API prerequisites (cluster.networking.gatewayApi), not storage.
    expect(findingsOf(loadStack("dev")).filter((f) => f.path !== "cluster.networking.gatewayApi")).toEqual([]);
  });
});

describe("storage disks on hosts that never join Kubernetes", () => {
  it("refuses a longhorn disk on a witness (role etcd only), naming the host and the fix", () => {
    const cfg = loadStack("dev");
    const hosts = cfg.hosts as { name: string; roles: string[] }[];
    // w-1 carries longhorn and local disks; make it a witness only.
    (hosts[2] as { roles: string[] }).roles = ["etcd"];
    const fs = findingsOf(cfg).filter((f) => f.path.startsWith("hosts[2].disks"));
    expect(fs.map((f) => [f.severity, f.path])).toEqual([
      ["error", "hosts[2].disks[0].use"],
      ["error", "hosts[2].disks[1].use"],
    ]);
    expect(fs[0]?.message).toContain("Add role worker to w-1");
  });
});
