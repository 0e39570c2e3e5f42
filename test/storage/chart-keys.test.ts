import { describe, expect, it } from "vitest";
import type { TestConfig } from "../harness";
import { loadStack } from "../harness";
import { renderLocalStaticValues } from "../../components/storage/values-local-static";
import { renderLonghornValues } from "../../components/storage/values-longhorn";
import { renderRookClusterValues, renderRookOperatorValues } from "../../components/storage/values-rook";
import { renderMetallbValues, renderTraefikValues } from "../../components/network/values";
import { loadChartKeys, unknownPaths } from "./chart-keys/keys";
import { specOf } from "./helpers";
import { cephControlPlanesSeed, longhornWorkersSeed, talosLocalSeed, twoNodeCeph } from "./seeds";

/** The example lab with every branch of the renderers taken: a tainted storage host and a single-copy pool. */
function everything(): TestConfig {
  const cfg = loadStack("dev");
  const hosts = cfg.hosts as { taints?: string[]; disks?: unknown[] }[];
  (hosts[0] as { taints?: string[] }).taints = ["dedicated=storage:NoSchedule"];
  (hosts[0] as { disks: unknown[] }).disks.push(
    { name: "lh", device: "/dev/disk/by-id/nvme-CP1LH", use: "longhorn", mountpoint: "/mnt/lh" },
    { name: "osd9", device: "/dev/disk/by-id/nvme-CP1OSD", use: "ceph" },
  );
  (cfg.storage as { rookCeph: Record<string, unknown> }).rookCeph.poolSize = 1;
  return cfg;
}

const configs: [string, () => TestConfig][] = [
  ["the example lab", () => loadStack("dev")],
  ["the example lab with tolerations and a single-copy pool", everything],
  ["Longhorn on workers", longhornWorkersSeed],
  ["Talos-style local classes", talosLocalSeed],
  ["Rook-Ceph on two control planes", cephControlPlanesSeed],
  ["a 2-node Ceph", twoNodeCeph],
];

describe("every Helm value set exists in its chart's published values or documentation", () => {
  for (const [name, make] of configs) {
    it(name, () => {
      const { spec, topology } = specOf(make());
      if (spec.storage.longhorn.enabled) expect(unknownPaths(renderLonghornValues(spec, topology), loadChartKeys("longhorn"))).toEqual([]);
      if (spec.storage.rookCeph.enabled) {
        expect(unknownPaths(renderRookOperatorValues(spec, topology), loadChartKeys("rook-ceph"))).toEqual([]);
        expect(unknownPaths(renderRookClusterValues(spec, topology), loadChartKeys("rook-ceph-cluster"))).toEqual([]);
      }
      if (spec.storage.localStatic.enabled)
        expect(unknownPaths(renderLocalStaticValues(spec), loadChartKeys("local-static-provisioner"))).toEqual([]);
    });
  }

  it("the key files match the versions the program installs by default", () => {
    const { spec } = specOf(loadStack("dev"));
    expect(loadChartKeys("longhorn").version).toBe(spec.storage.longhorn.version);
    expect(loadChartKeys("rook-ceph").version).toBe(spec.storage.rookCeph.version);
    expect(loadChartKeys("rook-ceph-cluster").version).toBe(spec.storage.rookCeph.version);
    expect(loadChartKeys("local-static-provisioner").version).toBe(spec.storage.localStatic.version);
  });

  it("the check catches a misspelled or invented key, and accepts free-form content where the chart takes it", () => {
    const longhorn = loadChartKeys("longhorn");
    expect(unknownPaths({ persistence: { defaultClas: true }, csi: { kubeletRootDir: "/var/lib/kubelet" } }, longhorn)).toEqual([
      "persistence.defaultClas",
    ]);
    expect(unknownPaths({ global: { tolerations: [{ key: "a", operator: "Exists", effect: "NoSchedule" }] } }, longhorn)).toEqual([]);
    const rook = loadChartKeys("rook-ceph-cluster");
    expect(unknownPaths({ cephClusterSpec: { storage: { nodes: [{ name: "n", disks: [{ name: "/dev/x" }] }] } } }, rook)).toEqual([
      "cephClusterSpec.storage.nodes[].disks[].name",
    ]);
    expect(unknownPaths({ cephBlockPools: [{ storageClass: { parameters: { "csi.storage.k8s.io/fstype": "ext4" } } }] }, rook)).toEqual([]);
  });
});

describe("every network chart value exists in its chart's published values", () => {
  const variants: [string, () => TestConfig][] = [
    ["the example lab (MetalLB, Traefik at an address, Gateway API)", () => loadStack("dev")],
    [
      "Traefik without an address or Gateway API",
      () => {
        const cfg = structuredClone(loadStack("dev"));
        (cfg.ingress as { traefik: Record<string, unknown> }).traefik = { enabled: true };
        (cfg.cluster as { networking: Record<string, unknown> }).networking.gatewayApi = false;
        return cfg;
      },
    ],
  ];
  for (const [name, make] of variants) {
    it(name, () => {
      const { spec } = specOf(make());
      expect(unknownPaths(renderMetallbValues(), loadChartKeys("metallb"))).toEqual([]);
      expect(unknownPaths(renderTraefikValues(spec), loadChartKeys("traefik"))).toEqual([]);
    });
  }

  it("the key files match the versions the program installs by default", () => {
    const { spec } = specOf(loadStack("dev"));
    expect(loadChartKeys("metallb").version).toBe(spec.cluster.networking.loadBalancer?.version);
    expect(loadChartKeys("traefik").version).toBe(spec.ingress?.traefik.version);
  });

  it("catches a key the pinned chart does not have", () => {
    expect(unknownPaths({ speaker: { frr: { enable: false } } }, loadChartKeys("metallb"))).toEqual(["speaker.frr.enable"]);
    expect(
      unknownPaths({ providers: { kubernetesGateway: { enabled: true } }, service: { loadBalancerIP: "x" } }, loadChartKeys("traefik")),
    ).toEqual(["service.loadBalancerIP"]);
  });
});
