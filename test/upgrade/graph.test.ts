// Raising cluster.kubernetesVersion, on the graph the program registers (issue 13, upgrades): the order of the
// upgrade steps, the batch size, hop after hop, what else changes (nothing that acts), and the version findings.
import { describe, expect, it } from "vitest";
import { engineOp, ignoringChanges } from "../lab/executor";
import { clone, loadStack, runProgram, runProgramExpectingError, toPulumiConfig, type ProgramRun, type TestConfig } from "../harness";
import { runPlan } from "../../plan/plan";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { renderMarkdown, renderUpgrade } from "../../plan/markdown";
import { REPO_ROOT } from "../harness";

const CMD = "command:remote:Command";

/** The dev stack as deployed at `deployed`, configured at `configured`, with its previous outputs as previousTopology. */
async function deployedThenRaised(deployed: string, configured: string, change: (c: TestConfig) => void = () => {}) {
  const base = loadStack("dev");
  (base.cluster as { kubernetesVersion: string }).kubernetesVersion = deployed;
  const before = await runProgram(base);
  const previous = { ...before.outputs, kubeconfig: "[secret]" };
  const raised = clone(base);
  (raised.cluster as { kubernetesVersion: string }).kubernetesVersion = configured;
  change(raised);
  return { before, cfg: { ...raised, previousTopology: previous } };
}

const upgradeSteps = (run: ProgramRun) => run.resources.filter((r) => r.type === CMD && /-upgrade-\d/.test(r.name));

describe("upgrade steps on the graph (dev stack: cp-1 leader, cp-2, workers w-1..w-4)", () => {
  it("registers none when the version is unchanged", async () => {
    const { before, cfg } = await deployedThenRaised("1.33.4", "1.33.4");
    expect(upgradeSteps(before)).toEqual([]);
    expect(upgradeSteps(await runProgram(cfg))).toEqual([]);
  });

  it("orders one step per node per hop: leader, the other control plane, then each worker alone; the second hop after the first", async () => {
    const { cfg } = await deployedThenRaised("1.32.9", "1.34.3");
    const run = await runProgram(cfg);
    const names = upgradeSteps(run).map((r) => r.name);
    const order = ["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4"];
    expect(names).toEqual([...order.map((h) => `${h}-upgrade-1.33.13`), ...order.map((h) => `${h}-upgrade-1.34.3`)]);
    const chain = names;
    for (let i = 1; i < chain.length; i++) run.assertAfter(chain[i], chain[i - 1]);
    // the first step waits for the cluster as configured: every node joined, CNI, storage
    for (const dep of ["w-4-node", "cp-2-kubeadm-join", "cni-cilium", "cp-1-node-prep"]) run.assertAfter("cp-1-upgrade-1.33.13", dep);
    // the leader is upgraded with kubeadm upgrade apply, the others with kubeadm upgrade node
    expect(String(run.get("cp-1-upgrade-1.33.13").plainInputs.create)).toContain('kubeadm upgrade apply "v$HOP" --yes');
    expect(String(run.get("cp-2-upgrade-1.33.13").plainInputs.create)).not.toContain("kubeadm upgrade apply");
    expect(String(run.get("w-1-upgrade-1.34.3").plainInputs.create)).toContain("HOP='\\''1.34.3'\\''");
    // the witness etcd member on w-1 follows the control planes' etcd in w-1's step, after every control plane of the hop
    expect(String(run.get("w-1-upgrade-1.33.13").plainInputs.create)).toContain("The witness etcd member follows the control planes");
    expect(String(run.get("w-2-upgrade-1.33.13").plainInputs.create)).not.toContain("witness etcd");
    // the admin kubeconfig reaches each step as a secret on stdin, never in the script
    expect(run.isSecretInput("w-1-upgrade-1.34.3", "stdin")).toBe(true);
    // nothing to undo when the steps leave the program: no session then
    expect(run.get("w-1-upgrade-1.34.3").plainInputs.delete).toBeUndefined();
  });

  it("drains maxUnavailableWorkers workers at a time: a batch runs together, the next batch waits for all of it", async () => {
    const { cfg } = await deployedThenRaised("1.33.4", "1.33.7", (c) => {
      (c.cluster as { upgrade?: unknown }).upgrade = { maxUnavailableWorkers: 3 };
    });
    const run = await runProgram(cfg);
    for (const w of ["w-1", "w-2", "w-3"]) run.assertAfter(`${w}-upgrade-1.33.7`, "cp-2-upgrade-1.33.7");
    for (const [a, b] of [
      ["w-1", "w-2"],
      ["w-2", "w-3"],
      ["w-1", "w-3"],
    ]) {
      expect(run.waitsFor(`${a}-upgrade-1.33.7`, `${b}-upgrade-1.33.7`), `${a} / ${b}`).toBe(false);
      expect(run.waitsFor(`${b}-upgrade-1.33.7`, `${a}-upgrade-1.33.7`), `${b} / ${a}`).toBe(false);
    }
    for (const w of ["w-1", "w-2", "w-3"]) run.assertAfter("w-4-upgrade-1.33.7", `${w}-upgrade-1.33.7`);
  });

  it("exports the new kubernetesVersion only once the last step has finished (a failed upgrade keeps the old output, so the next up resumes)", async () => {
    const { cfg } = await deployedThenRaised("1.33.4", "1.33.7");
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reached: () => void = () => {};
    const lastStepReached = new Promise<void>((resolve) => (reached = resolve));
    let settled = false;
    const running = runProgram(cfg, {
      handler: async (args) => {
        if (args.name === "w-4-upgrade-1.33.7") {
          reached();
          await gate;
        }
        return args.inputs as Record<string, unknown>;
      },
    }).finally(() => (settled = true));
    await lastStepReached;
    await new Promise((r) => setTimeout(r, 200));
    // every other resource has been registered, but the outputs (kubernetesVersion) wait for the last step
    expect(settled).toBe(false);
    open();
    const run = await running;
    expect(run.outputs.kubernetesVersion).toBe("1.33.7");
  });

  it("changes nothing else that acts: only node preparation (its K8S_VERSION line) and the leader's guarded kubeadm init differ, as in-place updates", async () => {
    const { before, cfg } = await deployedThenRaised("1.33.4", "1.34.3");
    const after = await runProgram(cfg);
    const changed: string[] = [];
    for (const b of before.resources.filter((r) => r.type === CMD)) {
      const a = after.get(b.name, CMD);
      const inputs = ignoringChanges(a.ignoreChanges, b.plainInputs, a.plainInputs);
      const op = engineOp(a, b.plainInputs, inputs);
      expect(op, b.name).not.toBe("replace");
      if (op === "same") continue;
      changed.push(b.name);
      const lines = (s: unknown) => String(s).split("\n");
      const diff = lines(inputs.create).filter((l, i) => l !== lines(b.plainInputs.create)[i]);
      if (b.name.endsWith("-node-prep")) {
        // the version is the only difference, and the script installs it only where no Kubernetes is installed
        expect(diff, b.name).toEqual(["K8S_VERSION='\\''1.34.3'\\''"]);
      } else {
        expect(b.name).toBe("cp-1-kubeadm-init");
        // the kubeadm config inside the branch that runs only when /etc/kubernetes/admin.conf does not exist
        expect(diff).toEqual(["kubernetesVersion: v1.34.3"]);
        expect(String(inputs.create)).toContain("if [[ -f /etc/kubernetes/admin.conf ]]; then");
      }
    }
    expect(changed.sort()).toEqual(
      [...before.resources.filter((r) => r.name.endsWith("-node-prep")).map((r) => r.name), "cp-1-kubeadm-init"].sort(),
    );
  });
});

describe("version findings against the previous outputs", () => {
  it("refuses a downgrade on cluster.kubernetesVersion, before anything is registered", async () => {
    const { cfg } = await deployedThenRaised("1.33.4", "1.32.9");
    const message = await runProgramExpectingError(cfg);
    expect(message).toContain("cluster.kubernetesVersion: is 1.32.9, older than 1.33.4, the version this stack deployed");
  });

  it("refuses a new host in the update that upgrades, naming the host", async () => {
    const { cfg } = await deployedThenRaised("1.33.4", "1.33.7", (c) => {
      const hosts = c.hosts as { name: string; address: string; hostKey?: string; roles: string[]; disks?: unknown[] }[];
      hosts.push({ ...hosts[hosts.length - 1], name: "w-9", address: "192.168.10.99", disks: [] });
    });
    const message = await runProgramExpectingError(cfg);
    expect(message).toMatch(/hosts\[\d+\]: w-9 is new, and this update also raises the version from 1\.33\.4 to 1\.33\.7/);
  });

  it("puts upgrade {from, to, hops} into the plan, and the order of nodes, batches and hops into its markdown", async () => {
    const { cfg } = await deployedThenRaised("1.32.9", "1.34.3", (c) => {
      (c.cluster as { upgrade?: unknown }).upgrade = { maxUnavailableWorkers: 2 };
    });
    const { plan, recorded, exitCode } = await runPlan({ ...toPulumiConfig(cfg), file: "Pulumi.dev.yaml" });
    expect(exitCode).toBe(0);
    expect(plan.upgrade).toEqual({ from: "1.32.9", to: "1.34.3", hops: ["1.33.13", "1.34.3"] });
    const md = renderMarkdown(plan, recorded, "dev");
    expect(md).toContain("From **1.32.9** to **1.34.3**, through 1.33.13 then 1.34.3.");
    const section = md.slice(md.indexOf("### Hop to 1.33.13"), md.indexOf("## Bring-up"));
    expect(section).toContain("1. cp-1 (leader");
    expect(section).toContain("2. cp-2 (control plane");
    expect(section).toContain("3. workers w-1, w-2 (batch of 2)");
    expect(section).toContain("4. workers w-3, w-4 (batch of 2)");
    expect(section).toContain("### Hop to 1.34.3\n\n5. cp-1 (leader");
  });
});

describe("README, Day two", () => {
  it("shows the real plan of the example lab raised from 1.33.4 to 1.35.2 with maxUnavailableWorkers: 2", async () => {
    const { cfg } = await deployedThenRaised("1.33.4", "1.35.2", (c) => {
      (c.cluster as { upgrade?: unknown }).upgrade = { maxUnavailableWorkers: 2 };
    });
    const { plan } = await runPlan({ ...toPulumiConfig(cfg), file: "Pulumi.dev.yaml" });
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    expect(readme).toContain(
      `"upgrade": ${JSON.stringify(plan.upgrade)
        .replace(/([:,])/g, "$1 ")
        .replace(/^\{/, "{ ")
        .replace(/\}$/, " }")}`,
    );
    expect(readme).toContain(renderUpgrade(plan).join("\n").trim());
  });
});
