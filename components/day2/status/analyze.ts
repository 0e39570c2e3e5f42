import type { ClusterSpec, EtcdBackupSpec, HostSpec } from "../../config/spec";
import type { Topology } from "../../topology";
import { snapshotTime, staleAfterSeconds } from "../etcd-backup";
import type { Probe, ProbeId } from "./probes";
import * as p from "./parse";

/** One probe's outcome on one host. */
export interface ProbeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the SSH side collected from one host. */
export type HostProbes = { reachable: false; reason: string } | { reachable: true; results: Partial<Record<ProbeId, ProbeResult>> };

export interface StatusFinding {
  severity: "warning" | "error";
  /** The host it concerns, or `cluster`. */
  subject: string;
  message: string;
}

export interface HostStatus {
  name: string;
  address: string;
  roles: string[];
  reachable: boolean;
  unreachable?: string;
  kubeletVersion?: string;
  kubeadmVersion?: string;
  kubeletActive?: string;
  /** From the API server: the Node's Ready condition and the version its kubelet reports. */
  node?: { ready: string; kubeletVersion: string };
  holdsVip?: boolean;
  etcdVersion?: string;
  certificates?: (p.CertExpiry & { daysLeft: number })[];
  newestBackup?: { name: string; ageSeconds: number } | null;
}

export interface StatusReport {
  cluster: string;
  endpoint: string;
  kubernetesVersion: string;
  checkedAt: string;
  hosts: HostStatus[];
  etcd: { members: (p.EtcdMember & { healthy?: boolean; version?: string; error?: string })[]; expectedVoters: string[] } | null;
  vip: { managed: boolean; holders: string[] };
  backup: (EtcdBackupSpec & { staleAfterSeconds: number }) | null;
  findings: StatusFinding[];
  /** 0: all good; 1: warnings; 2: a host unreachable or a check that could not be made. */
  exitCode: 0 | 1 | 2;
}

export const CERT_WARN_DAYS = 30;

function isNode(h: HostSpec): boolean {
  return h.roles.includes("control-plane") || h.roles.includes("worker");
}

/** Which probes run on a host. */
export function probesFor(host: HostSpec, probes: Probe[]): Probe[] {
  return probes.filter(
    (pr) =>
      pr.scope === "all" || (pr.scope === "node" && isNode(host)) || (pr.scope === "control-plane" && host.roles.includes("control-plane")),
  );
}

function lastLine(s: string): string {
  return s.trim().split("\n").pop()?.slice(0, 300) ?? "";
}

function days(seconds: number): string {
  const d = seconds / 86400;
  return d >= 2
    ? `${Math.floor(d)} days`
    : seconds >= 7200
      ? `${Math.floor(seconds / 3600)} h`
      : `${Math.max(0, Math.floor(seconds / 60))} min`;
}

/** Host of a URL (`https://10.0.0.1:2379` -> `10.0.0.1`, `https://[fd00::1]:2379` -> `fd00::1`). */
function urlHost(url: string): string {
  const m = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+)/.exec(url);
  return (m?.[1] ?? url).replace(/^\[|\]$/g, "").toLowerCase();
}

/**
 * Everything `status` reports, from the spec, the topology and what each host answered: pure, so every
 * warning rule is a unit test.
 */
export function analyzeStatus(
  spec: ClusterSpec,
  topology: Topology,
  backup: EtcdBackupSpec | undefined,
  probed: Record<string, HostProbes>,
  now: Date,
): StatusReport {
  const findings: StatusFinding[] = [];
  const warn = (subject: string, message: string) => findings.push({ severity: "warning", subject, message });
  const err = (subject: string, message: string) => findings.push({ severity: "error", subject, message });
  const stale = backup ? staleAfterSeconds(backup.schedule) : undefined;
  const vipAddress = spec.cluster.endpoint.address.toLowerCase();
  const vipManaged = spec.cluster.endpoint.keepalived.enabled;

  /** Parses a probe's stdout (even on a non-zero exit: etcdctl endpoint health exits 1 with its JSON when one is unhealthy). */
  function read<T>(
    host: string,
    results: Partial<Record<ProbeId, ProbeResult>>,
    id: ProbeId,
    parse: (s: string) => p.Parsed<T>,
  ): T | undefined {
    const r = results[id];
    if (!r) return undefined;
    const parsed = parse(r.stdout);
    if (parsed.ok && (r.code === 0 || r.stdout.trim() !== "")) return parsed.value;
    const why = r.code !== 0 ? `exit ${r.code}: ${lastLine(r.stderr) || lastLine(r.stdout)}` : parsed.ok ? "" : parsed.problem;
    err(host, `${id}: could not be read (${why})`);
    return undefined;
  }

  const hosts: HostStatus[] = [];
  let members: p.EtcdMember[] | undefined;
  let health: p.EndpointHealth[] | undefined;
  let status: p.EndpointStatus[] | undefined;
  let nodes: p.NodeState[] | undefined;
  let etcdAsked = false;
  let nodesAsked = false;
  for (const h of spec.hosts) {
    const got = probed[h.name];
    const hs: HostStatus = { name: h.name, address: h.address, roles: [...h.roles], reachable: got?.reachable === true };
    hosts.push(hs);
    if (!got || !got.reachable) {
      hs.unreachable = got && !got.reachable ? got.reason : "not probed";
      err(h.name, `unreachable: ${hs.unreachable}`);
      continue;
    }
    const r = got.results;
    const hostNow = read(h.name, r, "time", p.parseEpochSeconds);
    const at = hostNow !== undefined ? hostNow * 1000 : now.getTime();
    hs.kubeletVersion = read(h.name, r, "kubelet-version", p.parseKubeletVersion);
    hs.kubeadmVersion = read(h.name, r, "kubeadm-version", p.parseKubeadmVersion);
    if (r["kubelet-active"]) {
      // is-active exits 3 for inactive: the word is the answer.
      const state = p.parseActiveState(r["kubelet-active"].stdout);
      hs.kubeletActive = state.ok ? state.value : undefined;
      if (!state.ok) err(h.name, `kubelet-active: ${state.problem}`);
      else if (state.value !== "active") warn(h.name, `kubelet is ${state.value}, not active: see journalctl -u kubelet on ${h.name}`);
    }
    const addrs = read(h.name, r, "addresses", p.parseIpAddresses);
    if (addrs) hs.holdsVip = addrs.some((a) => a.address === vipAddress);
    const certs = read(h.name, r, "certs", p.parseCertExpiration);
    if (certs) {
      hs.certificates = certs.map((c) => ({ ...c, daysLeft: c.missing ? 0 : Math.floor((Date.parse(c.expires) - at) / 86_400_000) }));
      for (const c of hs.certificates) {
        // kubeadm writes super-admin.conf only on the control plane that ran `kubeadm init` (measured: absent on a joined one).
        if (c.missing && !c.externallyManaged) {
          if (c.name !== "super-admin.conf") warn(h.name, `certificate ${c.name} is missing`);
        } else if (!c.missing && c.daysLeft < CERT_WARN_DAYS)
          warn(
            h.name,
            `certificate ${c.name} ${c.daysLeft < 0 ? "has expired" : `expires in ${c.daysLeft} days`} (${c.expires}): ${c.isAuthority ? "a CA is renewed by hand (kubeadm does not renew CAs)" : "renew it (kubeadm certs renew, or an upgrade renews them)"}`,
          );
      }
    }
    if (r["etcd-members"] && !members) {
      etcdAsked = true;
      members = read(h.name, r, "etcd-members", p.parseMemberList);
      health = read(h.name, r, "etcd-health", p.parseEndpointHealth);
      status = read(h.name, r, "etcd-status", p.parseEndpointStatus);
    }
    if (r.nodes && !nodes) {
      nodesAsked = true;
      nodes = read(h.name, r, "nodes", p.parseNodes);
    }
    if (backup && stale && r.backups) {
      if (r.backups.code !== 0) {
        hs.newestBackup = null;
        warn(
          h.name,
          `no etcd snapshot: ${backup.path} cannot be listed (${lastLine(r.backups.stderr)}); is the backup timer installed (pulumi up)?`,
        );
      } else {
        const list = p.parseSnapshotList(r.backups.stdout, snapshotTime);
        const newest = list.ok ? list.value[0] : undefined;
        hs.newestBackup = newest ? { name: newest.name, ageSeconds: Math.round((at - newest.time.getTime()) / 1000) } : null;
        if (!newest)
          warn(h.name, `no etcd snapshot in ${backup.path} (etcd-snapshot-<UTC time>.db): see the backup timer's log (journalctl)`);
        else if (hs.newestBackup && hs.newestBackup.ageSeconds > stale.seconds)
          warn(
            h.name,
            `the newest etcd snapshot ${newest.name} is ${days(hs.newestBackup.ageSeconds)} old, more than ${stale.why}: backups are failing`,
          );
      }
    }
  }

  // Kubernetes nodes and their versions.
  if (nodes) {
    for (const hs of hosts) {
      const n = nodes.find((x) => x.name === hs.name);
      if (n) hs.node = { ready: n.ready, kubeletVersion: n.kubeletVersion };
      const spec_ = spec.hosts.find((x) => x.name === hs.name);
      if (spec_ && isNode(spec_) && !n) warn(hs.name, "has no Node in the cluster: it never joined or was deleted (pulumi up joins it)");
    }
    for (const n of nodes) {
      if (n.ready !== "True") warn(n.name, `Node ${n.name} is NotReady (Ready=${n.ready})`);
      if (!spec.hosts.some((x) => x.name === n.name)) warn(n.name, `Node ${n.name} is in the cluster but not in the stack's hosts`);
    }
  } else if (!nodesAsked) err("cluster", "no control plane answered: the Nodes could not be read");

  const versions = new Map<string, string[]>();
  for (const hs of hosts) {
    const v = hs.node?.kubeletVersion || hs.kubeletVersion;
    if (v) versions.set(v, [...(versions.get(v) ?? []), hs.name]);
  }
  if (versions.size > 1)
    warn(
      "cluster",
      `version skew among the nodes: ${[...versions].map(([v, hs]) => `${v} on ${hs.join(", ")}`).join("; ")}: finish the upgrade (pulumi up)`,
    );
  const behind = [...versions.keys()].filter((v) => v !== spec.cluster.kubernetesVersion);
  if (behind.length > 0 && versions.size > 0)
    warn(
      "cluster",
      `cluster.kubernetesVersion is ${spec.cluster.kubernetesVersion} but ${behind.map((v) => `${versions.get(v)?.join(", ")} run${versions.get(v)?.length === 1 ? "s" : ""} ${v}`).join("; ")}: pulumi up rolls it out`,
    );
  for (const hs of hosts) {
    if (hs.kubeadmVersion && hs.kubeletVersion && hs.kubeadmVersion !== hs.kubeletVersion)
      warn(
        hs.name,
        `kubeadm is ${hs.kubeadmVersion} but the kubelet ${hs.kubeletVersion}: an upgrade stopped half way; pulumi up resumes it`,
      );
  }

  // etcd.
  let etcd: StatusReport["etcd"] = null;
  const voters = topology.etcdVoters;
  if (members) {
    const hostByAddr = new Map(spec.hosts.map((h) => [h.address.toLowerCase(), h.name]));
    const rich = members.map((m) => {
      const hv = health?.find((e) => m.clientUrls.includes(e.endpoint));
      const st = status?.find((e) => m.clientUrls.includes(e.endpoint));
      return {
        ...m,
        ...(hv ? { healthy: hv.health, ...(hv.error ? { error: hv.error } : {}) } : {}),
        ...(st ? { version: st.version } : {}),
      };
    });
    etcd = { members: rich, expectedVoters: voters };
    for (const v of voters) {
      const h = spec.hosts.find((x) => x.name === v);
      const m = rich.find((x) => x.name === v || (h !== undefined && x.peerUrls.some((u) => urlHost(u) === h.address.toLowerCase())));
      if (!m)
        warn(v, `is an etcd voter in the stack but not an etcd member: etcd has one fault tolerance less than planned (pulumi up adds it)`);
      else if (m.status !== "started") warn(v, `etcd member ${m.id} is unstarted: its etcd never came up (see its logs)`);
      else if (m.learner) warn(v, `etcd member ${m.name} is a learner, without a vote: pulumi up promotes it`);
      else if (m.healthy === false) warn(v, `etcd member ${m.name} is unhealthy: ${m.error ?? "no answer"}`);
      else if (m.healthy === undefined) warn(v, `etcd member ${m.name} gave no health answer`);
      const hs = hosts.find((x) => x.name === v);
      if (hs && m?.version) hs.etcdVersion = m.version;
    }
    for (const m of rich) {
      const owner = m.peerUrls.map((u) => hostByAddr.get(urlHost(u))).find((x) => x !== undefined);
      if (!voters.includes(m.name) && !(owner !== undefined && voters.includes(owner)))
        warn(
          m.name || m.id,
          `etcd member ${m.name || m.id} (${m.peerUrls.join(",")}) is not a voter of the stack: remove it (etcdctl member remove ${m.id}) if that host is gone`,
        );
    }
    const ev = new Set(rich.map((m) => m.version).filter((v): v is string => v !== undefined));
    if (ev.size > 1) warn("cluster", `etcd version skew: ${rich.map((m) => `${m.name} ${m.version ?? "?"}`).join(", ")}`);
  } else if (!etcdAsked) err("cluster", "no control plane answered: the etcd members could not be read");

  // The VIP.
  const holders = hosts.filter((h) => h.holdsVip).map((h) => h.name);
  if (vipManaged) {
    const down = hosts.filter((h) => !h.reachable).map((h) => h.name);
    if (holders.length === 0)
      warn(
        "cluster",
        `no host holds the VIP ${spec.cluster.endpoint.address}${down.length ? ` (unreachable: ${down.join(", ")})` : ""}: the API is not reachable at the endpoint; check keepalived on the control planes`,
      );
    else if (holders.length > 1)
      warn(
        "cluster",
        `${holders.join(" and ")} all hold the VIP ${spec.cluster.endpoint.address}: VRRP between them is broken (split brain)`,
      );
  }

  findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  const exitCode = findings.some((f) => f.severity === "error") ? 2 : findings.length > 0 ? 1 : 0;
  return {
    cluster: spec.cluster.name,
    endpoint: `${spec.cluster.endpoint.address}:${spec.cluster.endpoint.port}`,
    kubernetesVersion: spec.cluster.kubernetesVersion,
    checkedAt: now.toISOString(),
    hosts,
    etcd,
    vip: { managed: vipManaged, holders },
    backup: backup && stale ? { ...backup, staleAfterSeconds: stale.seconds } : null,
    findings,
    exitCode,
  };
}

export { days as formatAge };
