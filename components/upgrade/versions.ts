import { error, warning, type Finding } from "../config/findings";
import type { UpgradeSettings } from "../config/spec";

/** What raising cluster.kubernetesVersion does: the plan's field `upgrade`. */
export interface UpgradePlan {
  /** The version the previous update deployed (the stack output `kubernetesVersion`). */
  from: string;
  to: string;
  /** The versions the cluster passes through, in order, ending with `to`: one per minor (kubeadm upgrades one minor at a time). */
  hops: string[];
}

/**
 * The newest patch release of each minor known to this program: where a hop through a minor stops when
 * the version is raised by more than one minor. One table; `cluster.upgrade.intermediateVersions` overrides
 * an entry (a newer patch, or one a package mirror carries). Only minors strictly between the deployed
 * version and the configured one are read from it: the last hop is always the configured version.
 * Read on 2026-11-29 from the Go module proxy's version list of k8s.io/kubernetes (one tag per release:
 * `go list -m -versions k8s.io/kubernetes`), the newest tag of each minor.
 */
export const NEWEST_PATCH_BY_MINOR: Readonly<Record<number, string>> = {
  31: "1.31.14",
  32: "1.32.13",
  33: "1.33.13",
  34: "1.34.4",
  35: "1.35.4",
  36: "1.36.3",
};

/**
 * How many minors a kubelet may be older than the oldest kube-apiserver it talks to (the Kubernetes version
 * skew policy since 1.28; never newer). The upgrade order keeps every kubelet within one minor: see
 * `upgradeSchedule` and `skewProblems`.
 */
export const KUBELET_MAX_MINOR_SKEW = 3;

export type Version = readonly [number, number, number];

export function parseVersion(v: string): Version | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The `kubernetesVersion` of the previous outputs, or a finding when it is there but not a version. */
export function previousKubernetesVersion(previousOutputs: unknown): { version?: string; findings: Finding[] } {
  if (previousOutputs === null || typeof previousOutputs !== "object" || Array.isArray(previousOutputs)) return { findings: [] };
  const v = (previousOutputs as Record<string, unknown>).kubernetesVersion;
  if (v === undefined) return { findings: [] };
  if (typeof v !== "string" || !parseVersion(v))
    return {
      findings: [
        error(
          "previousTopology.kubernetesVersion",
          `is ${JSON.stringify(v)}, not an x.y.z version: set previousTopology to the stack's previous outputs unchanged (pulumi stack output --json)`,
        ),
      ],
    };
  return { version: v, findings: [] };
}

/**
 * The hops from the deployed version to the configured one, or the findings that stop it: a downgrade, a
 * change of major, an intermediate minor with no known patch. Undefined `upgrade` and no finding: nothing
 * to upgrade (same version, or nothing deployed yet).
 */
export function planUpgrade(
  from: string | undefined,
  to: string,
  settings: UpgradeSettings,
): { upgrade?: UpgradePlan; findings: Finding[] } {
  const findings: Finding[] = [];
  const overrides = new Map<number, string>();
  settings.intermediateVersions.forEach((v, i) => {
    const p = parseVersion(v);
    const path = `cluster.upgrade.intermediateVersions[${i}]`;
    if (!p) findings.push(error(path, `must be x.y.z, got ${JSON.stringify(v)}: write the exact release, e.g. "1.34.6"`));
    else if (overrides.has(p[1]))
      findings.push(error(path, `names a second release of 1.${p[1]} (${overrides.get(p[1])} is listed before it): keep one per minor`));
    else overrides.set(p[1], v);
  });
  const target = parseVersion(to);
  const deployed = from === undefined ? undefined : parseVersion(from);
  if (!target || !deployed || from === undefined || findings.length > 0) return { findings };
  const order = compareVersions(target, deployed);
  if (order === 0) return { findings };
  if (order < 0)
    return {
      findings: [
        error(
          "cluster.kubernetesVersion",
          `is ${to}, older than ${from}, the version this stack deployed: kubeadm cannot downgrade a cluster. Set it back to ${from} (or a newer release) to keep the cluster as it is`,
        ),
      ],
    };
  if (target[0] !== deployed[0])
    return {
      findings: [
        error(
          "cluster.kubernetesVersion",
          `is ${to}, another major version than the deployed ${from}: kubeadm upgrades within a major version only`,
        ),
      ],
    };
  const hops: string[] = [];
  for (let minor = deployed[1] + 1; minor < target[1]; minor++) {
    const hop = overrides.get(minor) ?? NEWEST_PATCH_BY_MINOR[minor];
    if (hop === undefined) {
      findings.push(
        error(
          "cluster.kubernetesVersion",
          `raising ${from} to ${to} passes through 1.${minor}, and this program knows no release of 1.${minor}: add one to cluster.upgrade.intermediateVersions, e.g. ["1.${minor}.0"]`,
        ),
      );
      continue;
    }
    hops.push(hop);
  }
  hops.push(to);
  for (const [minor, v] of overrides) {
    if (minor <= deployed[1] || minor >= target[1])
      findings.push(
        warning(
          `cluster.upgrade.intermediateVersions[${settings.intermediateVersions.indexOf(v)}]`,
          `${v} is not used: the upgrade from ${from} to ${to} passes through ${hops.length > 1 ? hops.slice(0, -1).join(", ") : "no other minor"}`,
        ),
      );
  }
  if (findings.some((f) => f.severity === "error")) return { findings };
  return { upgrade: { from, to, hops }, findings };
}
