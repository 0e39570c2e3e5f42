import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { checkRemovals, parsePreviousTopology, type PreviousTopology } from "../../components/topology/removals";
import { clone, loadStack, type TestConfig } from "../harness";
import { specOf } from "../controlplane/fixtures";

type HostCfg = { name: string; address: string; roles: string[] };

const DEPLOYED: PreviousTopology = { leader: "cp-1", controlPlanes: ["cp-1", "cp-2"], workers: ["w-1", "w-2", "w-3", "w-4"], etcdVoters: ["cp-1", "cp-2", "w-1"], faultTolerance: 1 };

function edit(mutate: (hosts: HostCfg[], cluster: Record<string, unknown>) => void): TestConfig {
  const cfg = loadStack("dev");
  const hosts = clone(cfg.hosts) as HostCfg[];
  const cluster = clone(cfg.cluster) as Record<string, unknown>;
  mutate(hosts, cluster);
  return { ...cfg, hosts, cluster };
}

function findingsOf(cfg: TestConfig, previous: unknown) {
  return analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true, previousTopology: previous }).findings.filter((f) => f.severity === "error");
}

describe("checks against the deployed cluster", () => {
  it("accepts the unchanged lab, and a new worker", () => {
    const { spec, topology } = specOf();
    expect(checkRemovals(DEPLOYED, spec, topology)).toEqual([]);
    const more = edit((hosts) => hosts.push({ ...clone(hosts[5] as HostCfg), name: "w-5", address: "192.168.10.25" }));
    expect(findingsOf(more, DEPLOYED)).toEqual([]);
  });

  it("refuses removing the witness when that drops etcd below the fault tolerance the cluster had, even if the config's default would allow it", () => {
    // Three control planes before (default faultTolerance 1); two removed now, so the default becomes 0.
    const before: PreviousTopology = { leader: "cp-1", controlPlanes: ["cp-1", "cp-2", "cp-3"], workers: ["w-2"], etcdVoters: ["cp-1", "cp-2", "cp-3"], faultTolerance: 1 };
    const cfg = { ...edit((hosts, cluster) => {
      hosts.splice(1, hosts.length - 1);
      delete cluster.faultTolerance;
    }), storage: undefined };
    const errors = findingsOf(cfg, before);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/^this change removes etcd voters cp-2, cp-3: etcd would go from 3 voters \(survives 1 failure\) to 1 \(survives 0\), below the 1/);
    expect(errors[0]?.message).toContain("set cluster.faultTolerance: 0 explicitly to accept the loss");
    // Writing the lower tolerance is how the operator accepts it.
    const accepted = { ...edit((hosts, cluster) => {
      hosts.splice(1, hosts.length - 1);
      cluster.faultTolerance = 0;
    }), storage: undefined };
    expect(findingsOf(accepted, before)).toEqual([]);
  });

  it("reports the witness removal once when the config alone already fails faultTolerance", () => {
    const cfg = edit((hosts) => ((hosts.find((h) => h.name === "w-1") as HostCfg).roles = ["worker"]));
    const errors = findingsOf(cfg, DEPLOYED);
    expect(errors.map((e) => e.path)).toEqual(["cluster.faultTolerance"]);
  });

  it("refuses a different leader and role changes in place", () => {
    const reordered = edit((hosts) => hosts.splice(0, 2, hosts[1] as HostCfg, hosts[0] as HostCfg));
    expect(findingsOf(reordered, DEPLOYED).map((f) => f.message)).toEqual([expect.stringContaining("cp-1 is no longer the first control-plane host in hosts, which makes cp-2 the leader")]);
    const promoted = edit((hosts) => ((hosts.find((h) => h.name === "w-2") as HostCfg).roles = ["control-plane"]));
    expect(findingsOf(promoted, DEPLOYED).map((f) => f.message)).toEqual([expect.stringContaining("w-2 joined as a worker and now has role control-plane")]);
    const demoted = edit((hosts) => {
      (hosts.find((h) => h.name === "cp-2") as HostCfg).roles = ["worker"];
      (hosts.find((h) => h.name === "w-2") as HostCfg).roles = ["worker", "etcd"];
    });
    expect(findingsOf(demoted, DEPLOYED).map((f) => f.message)).toEqual([expect.stringContaining("cp-2 was a control plane and is not one now")]);
  });

  it("reads the previous outputs and says how to pass them when malformed", () => {
    expect(parsePreviousTopology(undefined)).toEqual({ findings: [] });
    expect(parsePreviousTopology({ ...DEPLOYED, apiEndpoint: "https://x", kubeconfig: "[secret]" }).previous).toEqual(DEPLOYED);
    const bad = parsePreviousTopology({ etcdVoters: "cp-1" });
    expect(bad.findings[0]?.path).toBe("previousTopology");
    expect(bad.findings[0]?.message).toContain("pulumi stack output --json");
  });
});
