import { error, warning, type Finding } from "../config/findings";
import type { ClusterSpec } from "../config/spec";
import { installsPackages } from "../host/render-node-prep";
import { parsePreviousTopology } from "../topology/removals";
import { planUpgrade, previousKubernetesVersion, type UpgradePlan } from "./versions";

/**
 * The version rules against what the stack deployed: the previous outputs' `kubernetesVersion` against
 * `cluster.kubernetesVersion` (a downgrade is an error), the hops of an upgrade, and what cannot happen in
 * the same update as an upgrade.
 */
export function upgradeAnalysis(previousOutputs: unknown, spec: ClusterSpec): { upgrade?: UpgradePlan; findings: Finding[] } {
  const previous = previousKubernetesVersion(previousOutputs);
  const planned = planUpgrade(previous.version, spec.cluster.kubernetesVersion, spec.cluster.upgrade);
  const findings = [...previous.findings, ...planned.findings];
  const upgrade = planned.upgrade;
  if (!upgrade) return { findings };
  const deployed = parsePreviousTopology(previousOutputs).previous;
  const known = new Set([...(deployed?.controlPlanes ?? []), ...(deployed?.workers ?? []), ...(deployed?.etcdVoters ?? [])]);
  spec.hosts.forEach((h, i) => {
    if (known.size > 0 && !known.has(h.name))
      findings.push(
        error(
          `hosts[${i}]`,
          `${h.name} is new, and this update also raises the version from ${upgrade.from} to ${upgrade.to}: a node that joins during an upgrade would miss its ordered upgrade step. Upgrade first (this config without ${h.name}), then add ${h.name} in a later update`,
        ),
      );
    else if (!installsPackages(h))
      findings.push(
        warning(
          `hosts[${i}]`,
          `${h.name} installs no packages (packagesPreinstalled or immutableRoot): its upgrade step expects kubeadm, kubelet and kubectl ${upgrade.hops.join(", then ")} already in its image, and stops naming what it found otherwise`,
        ),
      );
  });
  return { upgrade, findings };
}
