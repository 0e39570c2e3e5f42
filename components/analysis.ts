import { type Finding, hasErrors, type RawConfig, validateConfig } from "./config";
import type { ClusterSpec } from "./config/spec";
import { dataSafetyFindings, storageFootprint, type StorageFootprint } from "./storage/data-safety";
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
 * previous config's storage footprint, also the changes that could lose data.
 */
export function analyze(raw: RawConfig, previous?: StorageFootprint): Analysis {
  const { spec, findings } = validateConfig(raw);
  if (!spec) return { findings };
  const t = analyzeTopology(spec);
  const footprint = storageFootprint(t.topology);
  const all = [...findings, ...t.findings, ...storageFindings(spec), ...(previous ? dataSafetyFindings(previous, footprint) : [])];
  return hasErrors(all) ? { findings: all, topology: t.topology, footprint } : { findings: all, spec, topology: t.topology, footprint };
}

/** The storage footprint of a config, or undefined when it does not validate (then there is nothing to protect yet). */
export function footprintOf(raw: RawConfig): StorageFootprint | undefined {
  const { spec } = validateConfig(raw);
  return spec ? storageFootprint(analyzeTopology(spec).topology) : undefined;
}
