import { type Finding, hasErrors, type RawConfig, validateConfig } from "./config";
import type { ClusterSpec } from "./config/spec";
import { dataSafetyFindings, previousFootprint, storageFootprint, type StorageFootprint } from "./storage/data-safety";
import { storageFindings } from "./storage/findings";
import { analyzeTopology, type Topology } from "./topology";
import { checkRemovals, parsePreviousTopology } from "./topology/removals";

export interface Analysis {
  findings: Finding[];
  /** Set when no finding is an error: the program may register resources. */
  spec?: ClusterSpec;
  topology?: Topology;
  /** What holds data in this config: compared with the previous one to catch data loss. */
  footprint?: StorageFootprint;
}

/**
 * Config validation, then topology analysis, then the storage chart versions:
 * everything `pulumi preview` can know before touching a host. With the
 * previous outputs (`previousTopology`), also the storage changes that could lose data.
 */
export function analyze(raw: RawConfig): Analysis {
  const { spec, findings } = validateConfig(raw);
  if (!spec) return { findings };
  const t = analyzeTopology(spec);
  const footprint = storageFootprint(t.topology);
  const previous = previousFootprint(raw.previousTopology);
  const all = [
    ...findings,
    ...t.findings,
    ...storageFindings(spec),
    ...againstDeployed(raw, spec, t.topology, t.findings),
    ...previous.findings,
    ...(previous.footprint ? dataSafetyFindings(previous.footprint, footprint) : []),
  ];
  return hasErrors(all) ? { findings: all, topology: t.topology, footprint } : { findings: all, spec, topology: t.topology, footprint };
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
