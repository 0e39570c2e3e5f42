import { type Finding, error } from "../config/findings";
import type { ClusterSpec } from "../config/spec";
import { etcdFaultTolerance, type Topology } from "./index";

/**
 * What the stack deployed last time, from its own outputs: read by the program
 * itself under `pulumi preview`/`up` (`readOwnStackOutputs` in `main.ts`), or
 * given as the config key `baremetal-k8s:previousTopology` (which wins; the
 * offline plan's `--previous` sets it). A new stack has none: then the checks
 * below are skipped.
 */
export interface PreviousTopology {
  leader?: string;
  controlPlanes?: string[];
  workers?: string[];
  etcdVoters?: string[];
  faultTolerance?: number;
}

function list(names: string[]): string {
  return names.join(", ");
}

/**
 * Changes against the deployed cluster that the new config alone cannot show
 * to be dangerous: a different leader, a host changing between control plane
 * and worker, and etcd voters removed so that the cluster survives fewer
 * failures than it did (or than `cluster.faultTolerance` asks, when it is set).
 * `explicitFaultTolerance` is the value written in the config, if any: writing
 * a lower one is how an operator accepts the loss.
 */
export function checkRemovals(
  previous: PreviousTopology,
  spec: ClusterSpec,
  topology: Topology,
  explicitFaultTolerance?: number,
): Finding[] {
  const findings: Finding[] = [];
  const names = new Set(spec.hosts.map((h) => h.name));
  const prevCps = previous.controlPlanes ?? [];
  const prevWorkers = previous.workers ?? [];
  const prevVoters = previous.etcdVoters ?? [];

  if (previous.leader && previous.leader !== topology.leader) {
    const where = names.has(previous.leader)
      ? `${previous.leader} is no longer the first control-plane host in hosts`
      : `${previous.leader} was removed from hosts`;
    findings.push(
      error(
        "hosts",
        `${where}, which makes ${topology.leader || "no host"} the leader. ${previous.leader} ran kubeadm init and every other host joined through it; a new leader would try to initialise a second cluster while the old steps are deleted (kubeadm reset). Keep ${previous.leader} as the first control-plane host in hosts`,
      ),
    );
  }

  for (const h of spec.hosts) {
    const isCp = topology.controlPlanes.includes(h.name);
    if (prevCps.includes(h.name) && !isCp) {
      findings.push(
        error(
          "hosts",
          `${h.name} was a control plane and is not one now: kubeadm cannot turn a control plane into a worker in place. Remove ${h.name} from hosts in one pulumi up (it leaves etcd and is reset), then add it back with its new roles in the next`,
        ),
      );
    } else if (prevWorkers.includes(h.name) && isCp) {
      findings.push(
        error(
          "hosts",
          `${h.name} joined as a worker and now has role control-plane: kubeadm cannot promote a joined worker in place. Remove ${h.name} from hosts in one pulumi up (it is drained and reset), then add it back as a control plane in the next`,
        ),
      );
    }
  }

  const removed = prevVoters.filter((v) => !topology.etcdVoters.includes(v));
  if (removed.length > 0) {
    const required = explicitFaultTolerance ?? Math.max(previous.faultTolerance ?? 0, spec.cluster.faultTolerance);
    const now = etcdFaultTolerance(topology.etcdVoters.length);
    if (now < required) {
      findings.push(
        error(
          "hosts",
          `this change removes etcd voter${removed.length === 1 ? "" : "s"} ${list(removed)}: etcd would go from ${prevVoters.length} voters (survives ${etcdFaultTolerance(prevVoters.length)} failure${etcdFaultTolerance(prevVoters.length) === 1 ? "" : "s"}) to ${topology.etcdVoters.length} (survives ${now}), below the ${required} the cluster must survive. Keep ${list(removed)} (with role etcd or control-plane), or give another host role etcd in the same change (it joins before ${removed.length === 1 ? "it leaves" : "they leave"}), or set cluster.faultTolerance: ${now} explicitly to accept the loss`,
        ),
      );
    }
  }
  return findings;
}

/** The stack outputs the checks against the deployed cluster read (everything else, the kubeconfig above all, is left out). */
export const PREVIOUS_OUTPUT_KEYS = [
  "kubernetesVersion",
  "topology",
  "leader",
  "controlPlanes",
  "workers",
  "etcdVoters",
  "faultTolerance",
  "storageFootprint",
] as const;

/** Every stack output the program exports (`components/main.ts`). */
export const STACK_OUTPUT_KEYS: readonly string[] = ["kubeconfig", "apiEndpoint", ...PREVIOUS_OUTPUT_KEYS];

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * Reads the previous outputs (`pulumi stack output --json`; other keys ignored). The topology is read from the
 * flat keys every update exports, or from the `topology` output when they are absent.
 */
export function parsePreviousTopology(raw: unknown): { previous?: PreviousTopology; findings: Finding[] } {
  if (raw === undefined) return { findings: [] };
  const bad = (what: string) => ({
    findings: [
      error(
        "previousTopology",
        `${what}: set it to the stack's previous outputs unchanged (\`pulumi stack output --json\`), or remove it (\`pulumi config rm baremetal-k8s:previousTopology\`): pulumi preview and up then read the stack's own outputs`,
      ),
    ],
  });
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return bad("is not an object");
  const outputs = raw as Record<string, unknown>;
  if (Array.isArray(outputs.findings) && Array.isArray(outputs.resources)) return bad("is a whole plan, not its outputs");
  const keys = Object.keys(outputs);
  if (keys.length > 0 && !keys.some((k) => STACK_OUTPUT_KEYS.includes(k)))
    return bad(`has none of the stack outputs this program exports (${STACK_OUTPUT_KEYS.join(", ")})`);
  const nested = outputs.topology;
  const flat = ["leader", "controlPlanes", "workers", "etcdVoters", "faultTolerance"].some((k) => outputs[k] !== undefined);
  if (!flat && nested !== undefined && (nested === null || typeof nested !== "object" || Array.isArray(nested)))
    return bad("topology is not an object");
  const o = (flat || nested === undefined ? outputs : nested) as Record<string, unknown>;
  const previous: PreviousTopology = {};
  if (o.leader !== undefined) {
    if (typeof o.leader !== "string") return bad("leader is not a host name");
    previous.leader = o.leader;
  }
  for (const k of ["controlPlanes", "workers", "etcdVoters"] as const) {
    if (o[k] === undefined) continue;
    const v = o[k];
    if (!isStringList(v)) return bad(`${k} is not a list of host names`);
    previous[k] = v;
  }
  if (o.faultTolerance !== undefined) {
    if (typeof o.faultTolerance !== "number" || !Number.isInteger(o.faultTolerance) || o.faultTolerance < 0)
      return bad("faultTolerance is not a whole number >= 0");
    previous.faultTolerance = o.faultTolerance;
  }
  return { previous, findings: [] };
}
