import { type Finding, hasErrors, type RawConfig, validateConfig } from "./config";
import type { ClusterSpec } from "./config/spec";
import { dataSafetyFindings, previousFootprint, storageFootprint, type StorageFootprint } from "./storage/data-safety";
import { storageFindings } from "./storage/findings";
import { analyzeTopology, type Topology } from "./topology";

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
  const all = [...findings, ...t.findings, ...storageFindings(spec), ...previous.findings, ...(previous.footprint ? dataSafetyFindings(previous.footprint, footprint) : [])];
  return hasErrors(all) ? { findings: all, topology: t.topology, footprint } : { findings: all, spec, topology: t.topology, footprint };
}
