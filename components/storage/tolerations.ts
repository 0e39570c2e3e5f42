import { CONTROL_PLANE_TAINT, formatTaint, isControlPlane, parseTaint } from "../config/predicates";
import type { HostSpec } from "../config/spec";

export interface Toleration {
  key: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect: string;
}

/** `key=value:Effect` or `key:Effect` (the config's taint form) as a toleration. */
export function tolerationFor(taint: string): Toleration {
  const { key, value, effect } = parseTaint(taint);
  return value === undefined || value === "" ? { key, operator: "Exists", effect } : { key, operator: "Equal", value, effect };
}

/**
 * Tolerations that let a storage pod run on every one of these hosts: the
 * control-plane taint when one of them is a control plane, and each host's
 * configured taints. Sorted and de-duplicated so the values are stable.
 */
export function tolerationsFor(hosts: readonly HostSpec[]): Toleration[] {
  const taints = new Set<string>();
  for (const h of hosts) {
    if (isControlPlane(h)) taints.add(formatTaint(CONTROL_PLANE_TAINT));
    for (const t of h.taints) taints.add(t);
  }
  return [...taints].sort().map(tolerationFor);
}

/** Longhorn's `taintToleration` setting: `kubectl taint` syntax joined by ";". */
export function longhornTaintToleration(tolerations: readonly Toleration[]): string {
  return tolerations.map(formatTaint).join(";");
}
