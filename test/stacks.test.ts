import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { clusterSchema } from "../components/config/schema";
import { runPlan } from "../plan/plan";
import { readStackConfig } from "../plan/stackfile";
import { REPO_ROOT } from "./harness";

/** What each example stack is for: the topology the README promises. */
const EXPECTED: Record<string, { controlPlanes: number; voters: number; tolerance: number; workers?: number }> = {
  dev: { controlPlanes: 2, voters: 3, tolerance: 1 },
  prod: { controlPlanes: 3, voters: 3, tolerance: 1, workers: 6 },
  mini: { controlPlanes: 1, voters: 1, tolerance: 0, workers: 0 },
  fedora: { controlPlanes: 1, voters: 1, tolerance: 0, workers: 2 },
};

function stackName(file: string): string {
  return file.replace(/^Pulumi\./, "").replace(/\.yaml$/, "");
}

/**
 * The example stack files of a directory: the ones this repository ships (EXPECTED). A user's own stack
 * beside them (the README's `cp Pulumi.mini.yaml Pulumi.homelab.yaml`) holds their machines, not ours: it
 * is not checked here, and must not fail `npm test`.
 */
function exampleStackFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f) && stackName(f) in EXPECTED)
    .sort();
}

const stackFiles = exampleStackFiles(REPO_ROOT);

describe("example stacks", () => {
  it("are all there: dev, prod, mini and fedora, each with an expected topology", () => {
    expect(stackFiles.map(stackName)).toEqual(Object.keys(EXPECTED).sort());
  });

  it("a user's own stack file beside them (the README's new-stack steps) is not taken for an example", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "user-stack-"));
    try {
      for (const f of [...stackFiles, "Pulumi.yaml"]) writeFileSync(path.join(dir, f), readFileSync(path.join(REPO_ROOT, f)));
      writeFileSync(path.join(dir, "Pulumi.homelab.yaml"), readFileSync(path.join(REPO_ROOT, "Pulumi.mini.yaml")));
      const checked = exampleStackFiles(dir);
      expect(checked).toEqual(stackFiles);
      for (const f of checked) expect(Object.keys(EXPECTED), `${f} would be checked against EXPECTED`).toContain(stackName(f));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const file of stackFiles) {
    it(`${file} plans cleanly (exit 0, no error finding) with its intended topology`, async () => {
      const { plan, exitCode } = await runPlan(readStackConfig(path.join(REPO_ROOT, file)));
      expect(plan.findings.filter((f) => f.severity === "error")).toEqual([]);
      expect(exitCode).toBe(0);
      const want = EXPECTED[stackName(file)];
      if (!want || !plan.topology) throw new Error(`no topology for ${file}`);
      expect(plan.topology.controlPlanes).toHaveLength(want.controlPlanes);
      expect(plan.topology.etcdVoters).toHaveLength(want.voters);
      expect(plan.topology.faultTolerance).toBe(want.tolerance);
      if (want.workers !== undefined) expect(plan.topology.workers).toHaveLength(want.workers);
      expect(plan.resources.length).toBeGreaterThan(0);
    });
  }

  it("fedora: CRI-O on immutable hosts (verified, configured, kubeadm pointed at it); dev: MetalLB, Traefik and the Gateway API", async () => {
    const fedora = await runPlan(readStackConfig(path.join(REPO_ROOT, "Pulumi.fedora.yaml")));
    const create = (name: string): string => {
      const v = fedora.plan.resources.find((r) => r.name === name)?.inputs.create;
      return typeof v === "string" ? v : "";
    };
    expect(create("cp-1-node-prep")).toContain('lacking="$lacking crio(cri-o)"');
    expect(create("cp-1-node-prep")).toContain('storage_driver = "overlay"');
    expect(create("cp-1-kubeadm-init")).toContain("criSocket: unix:///var/run/crio/crio.sock");
    expect(fedora.plan.resources.map((r) => r.name)).toEqual(expect.arrayContaining(["metallb", "metallb-pool", "traefik"]));
    const dev = await runPlan(readStackConfig(path.join(REPO_ROOT, "Pulumi.dev.yaml")));
    expect(dev.plan.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(["metallb", "metallb-pool", "metallb-l2advertisement", "traefik", "cp-1-gateway-api-crds"]),
    );
  });

  it("prod: Ceph on three dedicated storage hosts, three copies; mini: the control plane is also the only worker, local storage only", async () => {
    const prod = await runPlan(readStackConfig(path.join(REPO_ROOT, "Pulumi.prod.yaml")));
    const ceph = prod.plan.topology?.storage.rookCeph;
    expect(ceph?.hosts).toEqual(["s-1", "s-2", "s-3"]);
    expect(ceph?.poolSize).toBe(3);
    expect(prod.plan.topology?.storage.longhorn).toBeUndefined();
    expect(prod.plan.topology?.controlPlanes.some((h) => ceph?.hosts.includes(h))).toBe(false);

    const mini = await runPlan(readStackConfig(path.join(REPO_ROOT, "Pulumi.mini.yaml")));
    expect(mini.plan.topology?.storage).toMatchObject({ localStatic: { classes: [{ name: "local-ssd", hosts: ["node-1"], disks: 1 }] } });
    const cfg = readStackConfig(path.join(REPO_ROOT, "Pulumi.mini.yaml"));
    const hosts = JSON.parse(cfg.config["baremetal-k8s:hosts"] ?? "[]") as { roles: string[] }[];
    expect(hosts).toHaveLength(1);
    expect(hosts[0]?.roles.sort()).toEqual(["control-plane", "worker"]);
  });
});

describe("project-level config in Pulumi.yaml", () => {
  const project = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, Record<string, unknown>>;
  };

  it("follows Pulumi's rules: value or default, not both; keys of other namespaces take value", () => {
    for (const [key, spec] of Object.entries(project.config ?? {})) {
      expect("value" in spec && "default" in spec, key).toBe(false);
      const ours = !key.includes(":") || key.startsWith(`${project.name}:`);
      if (!ours) expect(Object.keys(spec), key).toEqual(["value"]);
    }
  });

  it("reaches every stack, and a stack that sets the key replaces it as a whole", () => {
    const cfg = readStackConfig(path.join(REPO_ROOT, "Pulumi.mini.yaml"));
    expect(JSON.parse(cfg.config["pulumi:disable-default-providers"] ?? "null")).toEqual(["kubernetes"]);
  });
});

/** RFC 7396 JSON Merge Patch, which ESC uses to merge imported environments. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

describe("the ESC environment example", () => {
  const read = (f: string) =>
    parse(readFileSync(path.join(REPO_ROOT, "esc", f), "utf8")) as {
      imports?: string[];
      values: { pulumiConfig: Record<string, unknown> };
    };
  const common = read("baremetal-k8s-common.yaml");
  const prodEnv = read("baremetal-k8s-prod.yaml");

  it("holds only values that every example stack shares", () => {
    const shared = common.values.pulumiConfig["baremetal-k8s:cluster"] as Record<string, unknown>;
    for (const file of stackFiles) {
      const cfg = readStackConfig(path.join(REPO_ROOT, file));
      const cluster = clusterSchema.parse(JSON.parse(cfg.config["baremetal-k8s:cluster"] ?? "{}")) as Record<string, unknown>;
      // A stack may add to a shared map (dev adds MetalLB and the Gateway API under networking), never change what it holds.
      for (const [k, v] of Object.entries(shared))
        if (v !== null && typeof v === "object") expect(cluster[k], `${file} cluster.${k}`).toMatchObject(v);
        else expect(cluster[k], `${file} cluster.${k}`).toEqual(v);
    }
  });

  it("merged as ESC merges (common, then prod) gives exactly Pulumi.prod.yaml's cluster", () => {
    expect(prodEnv.imports).toEqual(["baremetal-k8s/common"]);
    const merged = mergePatch(common.values, prodEnv.values) as { pulumiConfig: Record<string, unknown> };
    const cfg = readStackConfig(path.join(REPO_ROOT, "Pulumi.prod.yaml"));
    expect(clusterSchema.parse(merged.pulumiConfig["baremetal-k8s:cluster"])).toEqual(
      clusterSchema.parse(JSON.parse(cfg.config["baremetal-k8s:cluster"] ?? "{}")),
    );
  });
});

describe("the README", () => {
  it("shows a minimal stack that plans cleanly as printed", async () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const block = /A minimal stack:\s*```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!block) throw new Error("README has no minimal stack example");
    const dir = mkdtempSync(path.join(tmpdir(), "readme-stack-"));
    try {
      const file = path.join(dir, "Pulumi.minimal.yaml");
      writeFileSync(file, block);
      const { plan, exitCode } = await runPlan(readStackConfig(file));
      expect(plan.findings).toEqual([]);
      expect(exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
