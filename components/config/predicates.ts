import type { Role } from "./schema";
import type { ClusterSpec, DiskSpec, HostSpec } from "./spec";

/**
 * The questions every layer asks of a host, answered in one place: its roles
 * (control plane, Kubernetes node, witness), the disks of one use, and the taints
 * it registers with. Works on the parsed input as on the resolved spec.
 */

interface WithRoles {
  roles: readonly Role[];
}

export function isControlPlane(host: WithRoles): boolean {
  return host.roles.includes("control-plane");
}

/** Joins Kubernetes (kubeadm init or join): a control plane or a worker. A host with role etcd only never does. */
export function isKubernetesNode(host: WithRoles): boolean {
  return host.roles.includes("control-plane") || host.roles.includes("worker");
}

/** Runs a witness etcd member: role etcd on a host that is no control plane (a control plane's etcd is kubeadm's). */
export function isWitness(host: WithRoles): boolean {
  return host.roles.includes("etcd") && !host.roles.includes("control-plane");
}

export function hasDiskOf(host: HostSpec, use: DiskSpec["use"]): boolean {
  return host.disks.some((d) => d.use === use);
}

/** The hosts with at least one disk of this use, in config order. */
export function hostsWithDisk(spec: ClusterSpec, use: DiskSpec["use"]): HostSpec[] {
  return spec.hosts.filter((h) => hasDiskOf(h, use));
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** The taint kubeadm puts on control planes (unless they also have role worker here). */
export const CONTROL_PLANE_TAINT: Readonly<Taint> = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };

/** `"key=value:Effect"` or `"key:Effect"`, the config's taint form (the schema has checked the shape). */
export function parseTaint(s: string): Taint {
  const colon = s.lastIndexOf(":");
  const kv = s.slice(0, colon);
  const effect = s.slice(colon + 1);
  const eq = kv.indexOf("=");
  return eq < 0 ? { key: kv, effect } : { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect };
}

/** The config's taint form of a taint: `key=value:Effect` or `key:Effect`. */
export function formatTaint(t: Taint): string {
  return `${t.key}${t.value !== undefined ? `=${t.value}` : ""}:${t.effect}`;
}
