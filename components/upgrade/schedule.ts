import type { Topology } from "../topology";
import { KUBELET_MAX_MINOR_SKEW, parseVersion, type UpgradePlan } from "./versions";

/** What a node does in its upgrade step. */
export type UpgradeRole = "leader" | "control-plane" | "worker";

/** Nodes upgraded together: the leader alone, each other control plane alone, or a batch of workers. Stages run in order. */
export interface UpgradeStage {
  hop: string;
  role: UpgradeRole;
  nodes: string[];
}

/**
 * The order of an upgrade, as data: for each hop, the leader (`kubeadm upgrade apply`), then each other
 * control plane alone (`kubeadm upgrade node`), then the workers `maxUnavailableWorkers` at a time; the
 * next hop starts when the last batch of the previous one has finished. So the control planes finish a
 * hop before the next, and no kubelet is ever more than one minor behind an API server.
 */
export function upgradeSchedule(
  topology: Pick<Topology, "leader" | "controlPlanes" | "workers">,
  upgrade: UpgradePlan,
  maxUnavailableWorkers: number,
): UpgradeStage[] {
  const stages: UpgradeStage[] = [];
  const followers = topology.controlPlanes.filter((n) => n !== topology.leader);
  const size = Math.max(1, Math.floor(maxUnavailableWorkers));
  for (const hop of upgrade.hops) {
    stages.push({ hop, role: "leader", nodes: [topology.leader] });
    for (const f of followers) stages.push({ hop, role: "control-plane", nodes: [f] });
    for (let i = 0; i < topology.workers.length; i += size)
      stages.push({ hop, role: "worker", nodes: topology.workers.slice(i, i + size) });
  }
  return stages;
}

/**
 * Replays a schedule and names every moment it would break the version skew policy: a kubelet newer than
 * the oldest API server, or more than KUBELET_MAX_MINOR_SKEW minors older than the newest one, or a
 * control plane more than one minor ahead of another (kubeadm's own rule). Empty for every schedule
 * `upgradeSchedule` makes; the Upgrade component refuses a schedule with problems.
 */
export function skewProblems(from: string, stages: readonly UpgradeStage[], controlPlanes: readonly string[]): string[] {
  const start = parseVersion(from);
  if (!start) return [`${from} is not x.y.z`];
  const minorOf = new Map<string, number>();
  const nodes = new Set([...controlPlanes, ...stages.flatMap((s) => s.nodes)]);
  for (const n of nodes) minorOf.set(n, start[1]);
  const problems: string[] = [];
  for (const s of stages) {
    const hop = parseVersion(s.hop);
    if (!hop) return [`${s.hop} is not x.y.z`];
    for (const n of s.nodes) minorOf.set(n, hop[1]);
    const apiservers = controlPlanes.map((n) => minorOf.get(n) ?? start[1]);
    const oldestApi = Math.min(...apiservers);
    const newestApi = Math.max(...apiservers);
    if (newestApi - oldestApi > 1)
      problems.push(
        `after ${s.nodes.join(", ")} reach ${s.hop}: API servers 1.${oldestApi} and 1.${newestApi} are more than one minor apart`,
      );
    for (const [n, m] of minorOf) {
      if (m > oldestApi && !controlPlanes.includes(n))
        problems.push(
          `after ${s.nodes.join(", ")} reach ${s.hop}: the kubelet of ${n} (1.${m}) is newer than an API server (1.${oldestApi})`,
        );
      if (newestApi - m > KUBELET_MAX_MINOR_SKEW)
        problems.push(
          `after ${s.nodes.join(", ")} reach ${s.hop}: the kubelet of ${n} (1.${m}) is more than ${KUBELET_MAX_MINOR_SKEW} minors behind an API server (1.${newestApi})`,
        );
    }
  }
  return problems;
}
