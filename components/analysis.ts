import { type Finding, hasErrors, type RawConfig, validateConfig } from "./config";
import type { ClusterSpec } from "./config/spec";
import { analyzeTopology, type Topology } from "./topology";

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
  const all = [...findings, ...t.findings];
  return hasErrors(all) ? { findings: all, topology: t.topology } : { findings: all, spec, topology: t.topology };
}
