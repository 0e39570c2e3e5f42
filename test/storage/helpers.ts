import { analyze } from "../../components/analysis";
import type { ClusterSpec } from "../../components/config/spec";
import type { Topology } from "../../components/topology";
import { storageFootprint } from "../../components/storage/data-safety";
import { type PlanRun, runPlan } from "../../plan/plan";
import { type ProgramRun, type TestConfig, TEST_SSH_KEY, toPulumiConfig } from "../harness";

export const RELEASE = "kubernetes:helm.sh/v3:Release";
export const NODE_PATCH = "kubernetes:core/v1:NodePatch";

/** The validated spec and topology of a config; throws listing the findings when it has errors. */
export function specOf(cfg: TestConfig): { spec: ClusterSpec; topology: Topology } {
  const a = analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, ingress: cfg.ingress, sshPrivateKeySet: true });
  if (!a.spec || !a.topology) throw new Error(`config has errors:\n${a.findings.map((f) => `${f.path}: ${f.message}`).join("\n")}`);
  return { spec: a.spec, topology: a.topology };
}

/** The Helm values a release was registered with. */
export function valuesOf(run: ProgramRun, release: string): Record<string, unknown> {
  return run.get(release, RELEASE).inputs.values as Record<string, unknown>;
}

/**
 * The offline plan of a config, as `npm run plan` computes it; with a previous
 * config, against the storage footprint that config's update would have
 * exported, or against given previous outputs (as `plan --previous` passes them).
 */
export function planOf(cfg: TestConfig, previous?: TestConfig, previousOutputs?: unknown): Promise<PlanRun> {
  const previousTopology = previous ? { storageFootprint: storageFootprint(specOf(previous).topology) } : previousOutputs;
  return runPlan({
    ...toPulumiConfig({ sshPrivateKey: TEST_SSH_KEY, ...cfg, ...(previousTopology ? { previousTopology } : {}) }),
    file: "test",
  });
}

/** Host list of a config, typed loosely for mutation in tests. */
export interface MutableHost {
  name: string;
  roles: string[];
  taints?: string[];
  disks?: { name?: string; device: string; use: string; storageClass?: string; mountpoint?: string }[];
}

export function hostsOf(cfg: TestConfig): MutableHost[] {
  return cfg.hosts as MutableHost[];
}

/** The storage key of a config, typed loosely for mutation in tests. */
export interface MutableStorage {
  defaultClass?: string;
  longhorn: Record<string, unknown>;
  rookCeph: Record<string, unknown>;
  localStatic: Record<string, unknown>;
}

export function storageOf(cfg: TestConfig): MutableStorage {
  return cfg.storage as MutableStorage;
}
