export * from "./findings";
export * from "./spec";
export type { RawConfig } from "./parse";
import { parseParts, type RawConfig } from "./parse";
import { applyRules } from "./rules";
import type { Finding } from "./findings";
import type { ClusterSpec } from "./spec";

/** Parses and checks the whole stack config in one pass. `spec` is set only when no finding is an error. */
export function validateConfig(raw: RawConfig): { spec?: ClusterSpec; findings: Finding[] } {
  const parts = parseParts(raw);
  const ruled = applyRules(parts);
  const findings = [...parts.findings, ...ruled.findings];
  return findings.some((f) => f.severity === "error") ? { findings } : { spec: ruled.spec, findings };
}
