import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { main, ownStackNames } from "../../components/main";
import { evaluate } from "../../plan/evaluate";
import { runPlan } from "../../plan/plan";
import { previousOutputsFrom } from "../../plan/previous";
import { clone, loadStack, runProgram, TEST_SSH_KEY, type TestConfig, toPulumiConfig } from "../harness";

describe("the plan's outputs", async () => {
  const dev = loadStack("dev");
  const run = await runPlan({ ...toPulumiConfig(dev), file: "dev" });
  const program = await runProgram(dev);

  it("are the stack outputs the program exports, secrets as [secret]", () => {
    expect(Object.keys(run.plan.outputs).sort()).toEqual(Object.keys(program.outputs).sort());
    expect(Object.keys(run.plan.outputs)).toContain("kubeconfig");
    expect(run.plan.outputs.kubeconfig).toBe("[secret]");
    expect(JSON.stringify(run.plan.outputs)).not.toContain(TEST_SSH_KEY.split("\n")[1]);
  });

  it("hold the Kubernetes version deployed, the topology and the storage footprint (CONFIG.md, Stack outputs)", () => {
    const version = (dev.cluster as { kubernetesVersion: string }).kubernetesVersion;
    expect(run.plan.outputs.kubernetesVersion).toBe(version);
    expect(program.outputs.kubernetesVersion).toBe(version);
    expect(run.plan.outputs.topology).toEqual({
      leader: "cp-1",
      controlPlanes: ["cp-1", "cp-2"],
      workers: ["w-1", "w-2", "w-3", "w-4"],
      etcdVoters: ["cp-1", "cp-2", "w-1"],
      witnesses: ["w-1"],
      faultTolerance: 1,
    });
    expect(run.plan.outputs.storageFootprint).toMatchObject({ rookCeph: { poolSize: 3 } });
  });

  it("are empty when the config has errors (nothing would be exported)", async () => {
    const broken = clone(dev);
    (broken.cluster as { name: string }).name = "Not A Label";
    const r = await runPlan({ ...toPulumiConfig(broken), file: "broken" });
    expect(r.exitCode).toBe(2);
    expect(r.plan.outputs).toEqual({});
  });
});

describe("what --previous accepts", () => {
  const outputs = { kubernetesVersion: "1.33.4", leader: "cp-1", storageFootprint: {}, kubeconfig: "[secret]" };

  it("stack outputs as pulumi stack output --json prints them, a plan's outputs, and a whole plan", () => {
    expect(previousOutputsFrom(outputs)).toEqual({ outputs });
    expect(previousOutputsFrom({ findings: [], topology: null, resources: [], outputs })).toEqual({ outputs });
    // a stack that was never deployed: pulumi stack output --json prints {}
    expect(previousOutputsFrom({})).toEqual({ outputs: {} });
  });

  it("refuses anything else, saying what it expected", () => {
    for (const doc of [null, [outputs], "cp-1", 3, { foo: 1, bar: 2 }, { findings: [], resources: [] }]) {
      const r = previousOutputsFrom(doc);
      expect("problem" in r ? r.problem : "accepted", JSON.stringify(doc)).toMatch(/pulumi stack output --json|plan/);
    }
    const failed = previousOutputsFrom({ findings: [{ severity: "error" }], topology: null, resources: [], outputs: {} });
    expect("problem" in failed && failed.problem).toContain("config with errors");
  });
});

describe("previousTopology set by hand", () => {
  it("is refused when it is not stack outputs (a whole plan, or a map of other keys), not compared with nothing", () => {
    const cfg = loadStack("dev");
    const findingsWith = (previousTopology: unknown) =>
      analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true, previousTopology }).findings;
    const wholePlan = findingsWith({ findings: [], topology: { leader: "cp-1" }, resources: [], outputs: {} });
    expect(wholePlan.find((f) => f.path === "previousTopology")?.message).toContain("is a whole plan");
    expect(findingsWith({ leeder: "cp-1" })).toContainEqual(expect.objectContaining({ severity: "error", path: "previousTopology" }));
    expect(findingsWith({ apiEndpoint: "https://x:6443" }).filter((f) => f.severity === "error")).toEqual([]);
  });
});

/** A valid config that makes cp-2 the leader in place of the deployed cp-1: only the checks against the deployed cluster refuse it. */
function leaderSwapped(): TestConfig {
  const cfg = clone(loadStack("dev"));
  const hosts = cfg.hosts as { name: string }[];
  const cp2 = hosts.findIndex((h) => h.name === "cp-2");
  cfg.hosts = [hosts[cp2], ...hosts.filter((_, i) => i !== cp2)];
  return cfg;
}

async function evaluateWith(cfg: TestConfig, stackOutputs: (name: string) => Record<string, unknown>, organization?: string) {
  const { config, secretKeys } = toPulumiConfig({ sshPrivateKey: TEST_SSH_KEY, ...cfg });
  const reads: string[] = [];
  const answer = (name: string) => {
    reads.push(name);
    return stackOutputs(name);
  };
  try {
    const ev = await evaluate({ config, secretKeys, program: main, stackOutputs: answer, organization });
    return { ev, reads, error: undefined };
  } catch (e) {
    return { ev: undefined, reads, error: e instanceof Error ? e.message : String(e) };
  }
}

describe("the program reads its own stack's previous outputs (pulumi preview / up)", async () => {
  const deployed = (await runProgram(loadStack("dev"))).outputs;

  it("by its fully qualified name, and refuses a dangerous change against them exactly as against previousTopology", async () => {
    const own = await evaluateWith(leaderSwapped(), () => deployed);
    expect(own.reads).toEqual(["organization/baremetal-k8s/plan"]);
    expect(own.error).toContain("cp-1 is no longer the first control-plane host in hosts");
    const viaConfig = await evaluateWith({ ...leaderSwapped(), previousTopology: deployed }, () => ({}));
    expect(viaConfig.error).toBe(own.error);
  });

  it("accepts the unchanged config against its own outputs", async () => {
    const same = await evaluateWith(loadStack("dev"), () => deployed);
    expect(same.error).toBeUndefined();
    expect(same.ev?.resources.length).toBeGreaterThan(0);
  });

  it("lets previousTopology win: set to {} it compares with nothing, and the stack is not read", async () => {
    const r = await evaluateWith({ ...leaderSwapped(), previousTopology: {} }, () => deployed);
    expect(r.error).toBeUndefined();
    expect(r.reads).toEqual([]);
  });

  it("does not fail a new stack: no outputs yet, or a read that fails (then tried by its bare name, as legacy DIY state names it)", async () => {
    const fresh = await evaluateWith(leaderSwapped(), () => ({}));
    expect(fresh.error).toBeUndefined();
    const failing = await evaluateWith(leaderSwapped(), (name) => {
      throw new Error(`unknown stack "${name}"`);
    });
    expect(failing.error).toBeUndefined();
    expect(failing.reads).toEqual(["organization/baremetal-k8s/plan", "plan"]);
  });

  it("on Pulumi Cloud reads only organization/project/stack: the bare name would mean the default organization", async () => {
    const r = await evaluateWith(loadStack("dev"), () => ({}), "acme");
    expect(r.reads).toEqual(["acme/baremetal-k8s/plan"]);
    expect(ownStackNames("acme", "p", "s")).toEqual(["acme/p/s"]);
    expect(ownStackNames("organization", "p", "s")).toEqual(["organization/p/s", "s"]);
    expect(ownStackNames(undefined, "p", "s")).toEqual(["s"]);
  });

  it("reads the topology from the nested topology output when the flat keys are absent", async () => {
    const nestedOnly = { topology: deployed.topology, storageFootprint: deployed.storageFootprint };
    const r = await evaluateWith(leaderSwapped(), () => nestedOnly);
    expect(r.error).toContain("cp-1 is no longer the first control-plane host in hosts");
  });
});
