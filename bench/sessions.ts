import { connectionHost, type InputsRecord } from "./compare";
import { isRemoteStep } from "./graph";

/**
 * SSH sessions per host by role: every remote command or copy is one SSH
 * session on the host it connects to. Pure.
 */

export type BenchRole = "leader" | "follower" | "witness" | "worker";

export interface RoleTopology {
  leader: string;
  controlPlanes: string[];
  witnesses: string[];
  workers: string[];
}

export interface HostSessions {
  host: string;
  role: BenchRole;
  sessions: number;
}

/** The role a host plays in the bring-up; a worker that is also a witness counts as witness (it does both). */
export function roleOf(host: string, t: RoleTopology): BenchRole | undefined {
  if (host === t.leader) return "leader";
  if (t.controlPlanes.includes(host)) return "follower";
  if (t.witnesses.includes(host)) return "witness";
  if (t.workers.includes(host)) return "worker";
  return undefined;
}

/** Remote steps per host, attributed by the connection's address (else by the `<host>-` name prefix). */
export function sessionsPerHost(
  resources: readonly (InputsRecord & { custom?: boolean })[],
  hosts: readonly { name: string; address: string }[],
  t: RoleTopology,
): HostSessions[] {
  const byAddress = new Map(hosts.map((h) => [h.address, h.name]));
  const counts = new Map(hosts.map((h) => [h.name, 0]));
  for (const r of resources) {
    if (!isRemoteStep(r)) continue;
    const addr = connectionHost(r);
    const host = (addr !== undefined ? byAddress.get(addr) : undefined) ?? hosts.find((h) => r.name.startsWith(`${h.name}-`))?.name;
    if (host !== undefined) counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  const out: HostSessions[] = [];
  for (const h of hosts) {
    const role = roleOf(h.name, t);
    if (role !== undefined) out.push({ host: h.name, role, sessions: counts.get(h.name) ?? 0 });
  }
  return out;
}

/** The most sessions any host of each role opens (the slowest host of that role sets the pace). */
export function maxSessionsByRole(per: readonly HostSessions[]): Partial<Record<BenchRole, number>> {
  const out: Partial<Record<BenchRole, number>> = {};
  for (const p of per) out[p.role] = Math.max(out[p.role] ?? 0, p.sessions);
  return out;
}
