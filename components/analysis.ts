import { type Finding, hasErrors, type RawConfig, validateConfig } from "./config";
import type { ClusterSpec } from "./config/spec";
import { analyzeTopology, type Topology } from "./topology";
import { checkRemovals, parsePreviousTopology } from "./topology/removals";

export interface Analysis {
  findings: Finding[];
  /** Set when no finding is an error: the program may register resources. */
  spec?: ClusterSpec;
  topology?: Topology;
}

/** Config validation, then topology analysis: everything `pulumi preview` can know before touching a host. */
export function analyze(raw: RawConfig): Analysis {
  const { spec, findings } = validateConfig(raw);
  if (!spec) return { findings };
  const t = analyzeTopology(spec);
  const all = [...findings, ...t.findings, ...againstDeployed(raw, spec, t.topology, t.findings)];
  return hasErrors(all) ? { findings: all, topology: t.topology } : { findings: all, spec, topology: t.topology };
}

/** Checks against what the stack deployed before, when the config passes it (see `topology/removals.ts`). */
function againstDeployed(raw: RawConfig, spec: ClusterSpec, topology: Topology, topologyFindings: Finding[]): Finding[] {
  const { previous, findings } = parsePreviousTopology(raw.previousTopology);
  if (!previous) return findings;
  const explicit = (raw.cluster as { faultTolerance?: unknown } | undefined)?.faultTolerance;
  const removals = checkRemovals(previous, spec, topology, typeof explicit === "number" ? explicit : undefined);
  // The config alone already fails faultTolerance: one message about quorum is enough.
  const quorumReported = topologyFindings.some((f) => f.severity === "error" && f.path === "cluster.faultTolerance");
  return quorumReported ? removals.filter((f) => !f.message.startsWith("this change removes etcd voter")) : removals;
}
