import { describe, expect, it } from "vitest";
import { skewProblems, upgradeSchedule, type UpgradeStage } from "../../components/upgrade/schedule";
import { NEWEST_PATCH_BY_MINOR, planUpgrade } from "../../components/upgrade/versions";
import { MAX_KUBERNETES_MINOR, MIN_KUBERNETES_MINOR } from "../../components/config/rules-cluster";

const defaults = { maxUnavailableWorkers: 1, waitForStorage: true, intermediateVersions: [] as string[] };

describe("planUpgrade: the hops from the deployed version to the configured one", () => {
  it("plans nothing when nothing was deployed or the version is unchanged", () => {
    expect(planUpgrade(undefined, "1.33.4", defaults)).toEqual({ findings: [] });
    expect(planUpgrade("1.33.4", "1.33.4", defaults)).toEqual({ findings: [] });
  });

  it("a patch upgrade is one hop, a minor upgrade one hop, more minors one hop per minor through the pinned newest patch", () => {
    expect(planUpgrade("1.33.4", "1.33.7", defaults).upgrade).toEqual({ from: "1.33.4", to: "1.33.7", hops: ["1.33.7"] });
    expect(planUpgrade("1.32.9", "1.33.4", defaults).upgrade).toEqual({ from: "1.32.9", to: "1.33.4", hops: ["1.33.4"] });
    expect(planUpgrade("1.31.2", "1.34.1", defaults).upgrade?.hops).toEqual([
      NEWEST_PATCH_BY_MINOR[32],
      NEWEST_PATCH_BY_MINOR[33],
      "1.34.1",
    ]);
  });

  it("an intermediate version from cluster.upgrade.intermediateVersions replaces the pinned patch of its minor", () => {
    const r = planUpgrade("1.31.2", "1.33.1", { ...defaults, intermediateVersions: ["1.32.4"] });
    expect(r.upgrade?.hops).toEqual(["1.32.4", "1.33.1"]);
    expect(r.findings).toEqual([]);
  });

  it("warns about an intermediate version the upgrade does not pass through, and refuses a malformed or doubled one", () => {
    expect(planUpgrade("1.32.2", "1.33.1", { ...defaults, intermediateVersions: ["1.35.1"] }).findings).toEqual([
      expect.objectContaining({ severity: "warning", path: "cluster.upgrade.intermediateVersions[0]" }),
    ]);
    const bad = planUpgrade("1.31.2", "1.33.1", { ...defaults, intermediateVersions: ["v1.32.4", "1.32.1", "1.32.2"] });
    expect(bad.upgrade).toBeUndefined();
    expect(bad.findings.map((f) => [f.severity, f.path])).toEqual([
      ["error", "cluster.upgrade.intermediateVersions[0]"],
      ["error", "cluster.upgrade.intermediateVersions[2]"],
    ]);
    expect(bad.findings[1].message).toContain("1.32.1 is listed before it");
  });

  it("a downgrade is an error on cluster.kubernetesVersion that names the deployed version", () => {
    for (const to of ["1.33.3", "1.32.9"]) {
      const r = planUpgrade("1.33.4", to, defaults);
      expect(r.upgrade).toBeUndefined();
      expect(r.findings).toEqual([expect.objectContaining({ severity: "error", path: "cluster.kubernetesVersion" })]);
      expect(r.findings[0].message).toContain(`older than 1.33.4, the version this stack deployed`);
      expect(r.findings[0].message).toContain("Set it back to 1.33.4");
    }
  });

  it("names the minor it knows no release of, and the key that supplies one", () => {
    const r = planUpgrade("1.28.3", "1.31.0", defaults);
    expect(r.upgrade).toBeUndefined();
    expect(r.findings.map((f) => f.message).join("\n")).toMatch(/passes through 1\.29.*intermediateVersions/);
  });

  it("pins one patch for every minor the program supports", () => {
    for (let m = MIN_KUBERNETES_MINOR; m <= MAX_KUBERNETES_MINOR; m++)
      expect(NEWEST_PATCH_BY_MINOR[m], `1.${m}`).toMatch(new RegExp(`^1\\.${m}\\.\\d+$`));
  });
});

const topo = { leader: "cp-1", controlPlanes: ["cp-1", "cp-2", "cp-3"], workers: ["w-1", "w-2", "w-3"] };

describe("upgradeSchedule: the order of nodes, batches and hops", () => {
  it("per hop: the leader, each other control plane alone, then workers in batches; hop after hop", () => {
    const stages = upgradeSchedule(topo, { from: "1.32.1", to: "1.34.1", hops: ["1.33.7", "1.34.1"] }, 2);
    expect(stages.map((s) => `${s.hop} ${s.role} ${s.nodes.join(",")}`)).toEqual([
      "1.33.7 leader cp-1",
      "1.33.7 control-plane cp-2",
      "1.33.7 control-plane cp-3",
      "1.33.7 worker w-1,w-2",
      "1.33.7 worker w-3",
      "1.34.1 leader cp-1",
      "1.34.1 control-plane cp-2",
      "1.34.1 control-plane cp-3",
      "1.34.1 worker w-1,w-2",
      "1.34.1 worker w-3",
    ]);
  });

  it("keeps every kubelet within the skew policy at every moment, for every schedule it makes", () => {
    for (const batch of [1, 2, 5]) {
      const stages = upgradeSchedule(
        topo,
        { from: "1.31.1", to: "1.36.0", hops: ["1.32.1", "1.33.1", "1.34.1", "1.35.1", "1.36.0"] },
        batch,
      );
      expect(skewProblems("1.31.1", stages, topo.controlPlanes)).toEqual([]);
    }
  });

  it("names the moment a schedule would break the skew policy (control planes racing ahead, a kubelet ahead of an API server)", () => {
    const hops = ["1.32.1", "1.33.1", "1.34.1", "1.35.1"];
    const cpFirst: UpgradeStage[] = [
      ...hops.flatMap((hop) => [
        { hop, role: "leader" as const, nodes: ["cp-1"] },
        { hop, role: "control-plane" as const, nodes: ["cp-2", "cp-3"] },
      ]),
      { hop: "1.35.1", role: "worker", nodes: ["w-1"] },
    ];
    expect(skewProblems("1.31.1", cpFirst, topo.controlPlanes).join("\n")).toContain(
      "the kubelet of w-1 (1.31) is more than 3 minors behind an API server (1.35)",
    );
    const workerFirst: UpgradeStage[] = [{ hop: "1.32.1", role: "worker", nodes: ["w-1"] }];
    expect(skewProblems("1.31.1", workerFirst, topo.controlPlanes).join("\n")).toContain(
      "the kubelet of w-1 (1.32) is newer than an API server (1.31)",
    );
  });
});
