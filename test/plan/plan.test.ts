import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../plan/markdown";
import { runPlan } from "../../plan/plan";
import { readStackConfig, SECRET_PLACEHOLDER, stackFileFor } from "../../plan/stackfile";
import { REPO_ROOT } from "../harness";

const devFile = stackFileFor("dev", REPO_ROOT);

describe("reading stack files", () => {
  it("keeps secure values secret and out of the config as a placeholder", () => {
    const s = readStackConfig(devFile);
    expect(s.secretKeys).toEqual(["baremetal-k8s:sshPrivateKey"]);
    expect(s.config["baremetal-k8s:sshPrivateKey"]).toBe(SECRET_PLACEHOLDER);
    expect(JSON.parse(s.config["baremetal-k8s:cluster"])).toMatchObject({ name: "homelab" });
  });

  it("takes project-level defaults from Pulumi.yaml, replaced key by key by the stack's values", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bmk8s-"));
    writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      "name: baremetal-k8s\nruntime: nodejs\nconfig:\n  baremetal-k8s:storage:\n    value: {longhorn: {enabled: false}}\n  baremetal-k8s:cluster:\n    default: {name: fromproject}\n",
    );
    writeFileSync(path.join(dir, "Pulumi.x.yaml"), "config:\n  baremetal-k8s:cluster: {name: fromstack}\n");
    const s = readStackConfig(path.join(dir, "Pulumi.x.yaml"));
    expect(JSON.parse(s.config["baremetal-k8s:cluster"])).toEqual({ name: "fromstack" });
    expect(JSON.parse(s.config["baremetal-k8s:storage"])).toEqual({ longhorn: { enabled: false } });
  });
});

describe("the offline plan of the example lab", async () => {
  const run = await runPlan(readStackConfig(devFile));

  it("exits 0 with the fields of CONFIG.md", () => {
    expect(run.exitCode).toBe(0);
    expect(Object.keys(run.plan).sort()).toEqual(["findings", "outputs", "resources", "topology"]);
    expect(run.plan.topology).toMatchObject({
      leader: "cp-1",
      controlPlanes: ["cp-1", "cp-2"],
      etcdVoters: ["cp-1", "cp-2", "w-1"],
      faultTolerance: 1,
    });
    expect(run.plan.resources.length).toBeGreaterThan(0);
    for (const r of run.plan.resources) {
      expect(Object.keys(r).sort()).toEqual(["dependsOn", "host", "inputs", "name", "parent", "type", "urn"]);
      expect(r.urn).toMatch(/^urn:pulumi:/);
    }
  });

  it("names the host of every Host component and its children", () => {
    const hosts = run.plan.resources.filter((r) => r.type === "baremetal-k8s:host:Host");
    expect(hosts.map((h) => h.host).sort()).toEqual(["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4"]);
  });

  it("never prints a secret", () => {
    const json = JSON.stringify(run.plan);
    expect(json).not.toContain(SECRET_PLACEHOLDER);
    expect(json).not.toContain("PRIVATE KEY");
  });

  it("renders markdown with findings, topology, steps per host and a Mermaid graph", () => {
    const md = renderMarkdown(run.plan, run.recorded, "dev", run.waits);
    for (const heading of [
      "## Findings",
      "## Topology",
      "## Bring-up per host, in order",
      "### cp-1",
      "## Waves: what runs in parallel",
      "```mermaid",
    ])
      expect(md).toContain(heading);
    expect(md).toContain("etcd voters: cp-1, cp-2, w-1 (3), survives **1** failure");
    // the leader's drain step for a worker is listed, and said to run only when that worker is removed
    expect(md).toMatch(/^\d+\. `w-2-node` on \*\*cp-1\*\* \(wave \d+; runs nothing now, only when removed\), after:$/m);
    expect(md).toMatch(
      /^\d+\. `w-2-kubeadm-join` \(wave \d+\), after:\n {3}- `w-2-join-token`: the bootstrap token is valid and the CA hash known$/m,
    );
    // Mermaid node ids are readable names
    expect(md).toContain('Host_cp_1["cp-1<br/><small>host:Host</small>"]');
  });
});

describe("the plan command", () => {
  const tsx = path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs");
  const plan = (...args: string[]) => spawnSync(process.execPath, [tsx, "plan/cli.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8" });

  it("prints parseable JSON for --stack dev --format json and exits 0", () => {
    const res = plan("--stack", "dev", "--format", "json");
    expect(res.status).toBe(0);
    const out = JSON.parse(res.stdout) as { findings: unknown[]; topology: { faultTolerance: number }; resources: unknown[] };
    expect(out.topology.faultTolerance).toBe(1);
  });

  it("explains wrong arguments and a missing stack file with exit 2 and no stack trace", () => {
    for (const args of [["--stack", "nosuch"], ["--format", "xml", "--stack", "dev"], []]) {
      const res = plan(...args);
      expect(res.status).toBe(2);
      expect(res.stderr).toMatch(/^plan: /);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
