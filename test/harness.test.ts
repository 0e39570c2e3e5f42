import { describe, expect, it } from "vitest";
import { clone, loadStack, runProgram, runProgramExpectingError } from "./harness";

describe("the test harness", () => {
  it("evaluates the dev stack and records one Host component per host, parented to the cluster", async () => {
    const run = await runProgram(loadStack("dev"));
    const hosts = run.ofType("baremetal-k8s:host:Host");
    expect(hosts.map((h) => h.name).sort()).toEqual(["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4"]);
    const cluster = run.get("homelab", "baremetal-k8s:cluster:Cluster");
    for (const h of hosts) expect(h.parent).toBe(cluster.urn);
    expect(run.outputs.etcdVoters).toEqual(["cp-1", "cp-2", "w-1"]);
    expect(run.outputs.faultTolerance).toBe(1);
  });

  it("refuses a config with errors before registering anything, listing every finding", async () => {
    const cfg = loadStack("dev");
    const hosts = clone(cfg.hosts) as { roles: string[] }[];
    hosts[0].roles = ["boss"];
    const message = await runProgramExpectingError({ ...cfg, hosts });
    expect(message).toContain("hosts[0].roles[0]");
  });
});
