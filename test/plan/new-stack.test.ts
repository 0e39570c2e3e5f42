import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { renderMarkdown } from "../../plan/markdown";
import { runPlan } from "../../plan/plan";
import { readStackConfig } from "../../plan/stackfile";
import { clone, loadStack, REPO_ROOT, runProgramExpectingError, toPulumiConfig } from "../harness";

const KEY_HOWTO = "pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519";

/** The README's step 2, as printed: copy an example and remove its key (a shell snippet). */
function readmeNewStackSteps(): string {
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const cp = /^cp Pulumi\.mini\.yaml Pulumi\.homelab\.yaml\b.*$/m.exec(readme)?.[0];
  const sed = /^sed -i .* Pulumi\.homelab\.yaml\b.*$/m.exec(readme)?.[0];
  if (!cp || !sed) throw new Error("the README no longer shows the cp/sed steps of a new stack");
  return `${cp}\n${sed}\n`;
}

const dir = mkdtempSync(path.join(tmpdir(), "new-stack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a new stack made as the README says, before its key is set", async () => {
  for (const f of ["Pulumi.yaml", "Pulumi.mini.yaml"]) copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
  const steps = spawnSync("bash", ["-euc", readmeNewStackSteps()], { cwd: dir, encoding: "utf8" });
  const stack = readStackConfig(path.join(dir, "Pulumi.homelab.yaml"));
  const run = await runPlan(stack);

  it("has no key after the README's steps", () => {
    expect(steps.status, steps.stderr).toBe(0);
    expect(stack.config["baremetal-k8s:sshPrivateKey"]).toBeUndefined();
  });

  it("plans in full: exit 0, the missing key a warning that says how to set it, the topology and every resource", () => {
    expect(run.exitCode).toBe(0);
    expect(run.plan.findings).toEqual([expect.objectContaining({ severity: "warning", path: "sshPrivateKey" })]);
    expect(run.plan.findings[0]?.message).toContain(KEY_HOWTO);
    expect(run.plan.findings[0]?.message).toContain("pulumi up");
    expect(run.plan.topology).toMatchObject({ leader: "node-1", controlPlanes: ["node-1"], etcdVoters: ["node-1"] });
    expect(run.plan.resources.map((r) => r.name)).toEqual(expect.arrayContaining(["node-1-node-prep", "node-1-kubeadm-init"]));
    expect(run.plan.outputs).toMatchObject({ kubernetesVersion: "1.33.4", kubeconfig: "[secret]" });
  });

  it("shows the one machine as control plane and worker", () => {
    const md = renderMarkdown(run.plan, run.recorded, "homelab");
    expect(md).toContain("- Workers: node-1 (also control plane)");
    expect(run.plan.topology?.controlPlaneWorkers).toEqual(["node-1"]);
    // `workers` keeps its meaning (hosts that join as workers): the stack output the next update compares with
    expect(run.plan.topology?.workers).toEqual([]);
  });
});

describe("pulumi up without the key", () => {
  it("is still refused as an error before anything is registered, naming the key and how to set it", async () => {
    const message = await runProgramExpectingError({ ...loadStack("mini"), sshPrivateKey: undefined });
    expect(message).toContain("error: sshPrivateKey: is not set");
    expect(message).toContain(KEY_HOWTO);
  });

  it("the offline plan with a key set has no finding about it", async () => {
    const run = await runPlan({ ...toPulumiConfig(loadStack("mini")), file: "mini" });
    expect(run.plan.findings.filter((f) => f.path === "sshPrivateKey")).toEqual([]);
  });
});

describe("the topology of a config with errors", () => {
  it("is shown whenever the hosts can be read: errors in cluster and in a disk leave the roles known", async () => {
    const cfg = clone(loadStack("dev"));
    (cfg.cluster as { endpoint: { address: string } }).endpoint.address = "not an address!";
    (cfg.hosts as { disks?: { use: string }[] }[])[3].disks = [{ use: "bogus" }];
    const run = await runPlan({ ...toPulumiConfig(cfg), file: "broken" });
    expect(run.exitCode).toBe(2);
    expect(run.plan.resources).toEqual([]);
    expect(run.plan.outputs).toEqual({});
    expect(run.plan.findings.map((f) => f.path)).toEqual(expect.arrayContaining(["cluster.endpoint.address"]));
    expect(run.plan.topology).toMatchObject({
      leader: "cp-1",
      controlPlanes: ["cp-1", "cp-2"],
      workers: ["w-1", "w-2", "w-3", "w-4"],
      etcdVoters: ["cp-1", "cp-2", "w-1"],
      faultTolerance: 1,
    });
    const md = renderMarkdown(run.plan, run.recorded, "broken");
    expect(md).toContain("## Topology");
    expect(md).toContain("etcd voters: cp-1, cp-2, w-1 (3), survives **1** failure");
  });

  it("is the valid config's topology, roles for roles", () => {
    const cfg = loadStack("dev");
    const valid = analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true }).topology;
    const broken = analyze({ cluster: "nonsense", hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true }).topology;
    expect(broken).toEqual({ ...valid, storage: {} });
  });

  it("is absent when the hosts cannot be read", () => {
    const cfg = loadStack("dev");
    const hosts = clone(cfg.hosts) as { roles: unknown }[];
    hosts[2].roles = "worker";
    expect(analyze({ cluster: cfg.cluster, hosts, storage: cfg.storage, sshPrivateKeySet: true }).topology).toBeUndefined();
    expect(analyze({ cluster: cfg.cluster, hosts: "cp-1", storage: cfg.storage, sshPrivateKeySet: true }).topology).toBeUndefined();
  });
});
