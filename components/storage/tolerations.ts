import type { HostSpec } from "../config/spec";

export interface Toleration {
  key: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect: string;
}

/** The taint kubeadm puts on control planes. */
export const CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane";

/** `key=value:Effect` or `key:Effect` (the config's taint form) as a toleration. */
export function tolerationFor(taint: string): Toleration {
  const colon = taint.lastIndexOf(":");
  const effect = taint.slice(colon + 1);
  const [key, value] = taint.slice(0, colon).split("=", 2) as [string, string | undefined];
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
    if (h.roles.includes("control-plane")) taints.add(`${CONTROL_PLANE_TAINT}:NoSchedule`);
    for (const t of h.taints) taints.add(t);
  }
  return [...taints].sort().map(tolerationFor);
}

/** Longhorn's `taintToleration` setting: `kubectl taint` syntax joined by ";". */
export function longhornTaintToleration(tolerations: readonly Toleration[]): string {
  return tolerations.map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ""}:${t.effect}`).join(";");
}
