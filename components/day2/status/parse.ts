/**
 * Pure parsers of what the status probes print (components/day2/status/probes.ts). Each takes the command's
 * stdout and returns the facts or a `problem` that says what was unexpected; none of them throws.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

function firstLine(s: string): string {
  return s.trim().split("\n")[0]?.slice(0, 200) ?? "";
}

function json(text: string): Parsed<unknown> {
  // kubectl and kubeadm may print warnings before the document on stdout; the document starts at the first { or [.
  const start = text.search(/^[{[]/m);
  if (start < 0) return bad(`no JSON in the output: "${firstLine(text)}"`);
  try {
    return ok(JSON.parse(text.slice(start)) as unknown);
  } catch (e) {
    return bad(`the output is not JSON (${(e as Error).message})`);
  }
}

const VERSION = /v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)/;

/** `kubelet --version` -> `Kubernetes v1.33.4` -> `1.33.4`. */
export function parseKubeletVersion(stdout: string): Parsed<string> {
  const m = /^Kubernetes v(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\s*$/m.exec(stdout);
  return m ? ok(m[1]) : bad(`expected "Kubernetes vX.Y.Z", got "${firstLine(stdout)}"`);
}

/** `kubeadm version -o short` -> `v1.33.4` -> `1.33.4`. */
export function parseKubeadmVersion(stdout: string): Parsed<string> {
  const m = /^v(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\s*$/m.exec(stdout.trim());
  return m ? ok(m[1]) : bad(`expected "vX.Y.Z", got "${firstLine(stdout)}"`);
}

/** `systemctl is-active kubelet`: its one word (`active`, `inactive`, `failed`, `activating`...). */
export function parseActiveState(stdout: string): Parsed<string> {
  const w = stdout.trim();
  return /^[a-z-]+$/.test(w) ? ok(w) : bad(`expected one word from systemctl is-active, got "${firstLine(stdout)}"`);
}

/** `date -u +%s`. */
export function parseEpochSeconds(stdout: string): Parsed<number> {
  const t = stdout.trim();
  return /^\d+$/.test(t) ? ok(Number(t)) : bad(`expected seconds since the epoch, got "${firstLine(stdout)}"`);
}

export interface InterfaceAddress {
  interface: string;
  address: string;
  prefix: number;
}

/** `ip -o addr show`: one line per address (`2: eth0    inet 10.0.0.11/24 brd ... scope global eth0\ ...`). */
export function parseIpAddresses(stdout: string): Parsed<InterfaceAddress[]> {
  const out: InterfaceAddress[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet6?\s+([0-9a-fA-F.:]+)\/(\d+)\s/.exec(line);
    if (m) out.push({ interface: m[1], address: m[2].toLowerCase(), prefix: Number(m[3]) });
  }
  return out.length > 0 || stdout.trim() === "" ? ok(out) : bad(`no address line in "${firstLine(stdout)}"`);
}

export interface CertExpiry {
  name: string;
  /** ISO time. */
  expires: string;
  /** The CA that signed it; empty for a CA itself. */
  authority: string;
  isAuthority: boolean;
  missing: boolean;
  externallyManaged: boolean;
}

interface KubeadmCertInfo {
  name?: unknown;
  expirationDate?: unknown;
  /** kubeadm 1.33 names the signing CA `caName` (measured with the real binary). */
  caName?: unknown;
  externallyManaged?: unknown;
  missing?: unknown;
}

/**
 * `kubeadm certs check-expiration -o json`: kubeadm's `CertificateExpirationInfo` (output.kubeadm.k8s.io/v1alpha3):
 * `certificates` (with `caName`) and `certificateAuthorities`, each with `name`, `expirationDate`, `missing`, `externallyManaged`.
 */
export function parseCertExpiration(stdout: string): Parsed<CertExpiry[]> {
  const doc = json(stdout);
  if (!doc.ok) return doc;
  const d = doc.value as { kind?: unknown; certificates?: unknown; certificateAuthorities?: unknown };
  if (d === null || typeof d !== "object" || d.kind !== "CertificateExpirationInfo")
    return bad("expected kubeadm's CertificateExpirationInfo document");
  const out: CertExpiry[] = [];
  const take = (list: unknown, isAuthority: boolean): string | undefined => {
    if (list === undefined || list === null) return undefined;
    if (!Array.isArray(list)) return "certificates is not a list";
    for (const c of list as KubeadmCertInfo[]) {
      if (typeof c?.name !== "string") return "a certificate without a name";
      const missing = c.missing === true;
      if (!missing && (typeof c.expirationDate !== "string" || Number.isNaN(Date.parse(c.expirationDate))))
        return `certificate ${c.name} has no expirationDate`;
      out.push({
        name: c.name,
        expires: missing ? "" : new Date(c.expirationDate as string).toISOString(),
        authority: typeof c.caName === "string" ? c.caName : "",
        isAuthority,
        missing,
        externallyManaged: c.externallyManaged === true,
      });
    }
    return undefined;
  };
  const problem = take(d.certificates, false) ?? take(d.certificateAuthorities, true);
  return problem ? bad(problem) : ok(out);
}

export interface EtcdMember {
  id: string;
  /** `started` or `unstarted`. */
  status: string;
  /** Empty while unstarted. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
}

/** `etcdctl member list -w simple`: `ID, status, name, peer URLs, client URLs, is-learner` per line. */
export function parseMemberList(stdout: string): Parsed<EtcdMember[]> {
  const out: EtcdMember[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const f = line.split(", ");
    if (f.length < 5 || !/^[0-9a-f]+$/.test(f[0])) return bad(`unexpected member line "${line.slice(0, 200)}"`);
    out.push({
      id: f[0],
      status: f[1],
      name: f[2],
      peerUrls: f[3] ? f[3].split(",") : [],
      clientUrls: f[4] ? f[4].split(",") : [],
      learner: f[5]?.trim() === "true",
    });
  }
  return out.length > 0 ? ok(out) : bad("etcdctl listed no member");
}

export interface EndpointHealth {
  endpoint: string;
  health: boolean;
  error?: string;
}

/** `etcdctl endpoint health --cluster -w json`: `[{"endpoint", "health", "took", "error"?}]` (exit 1 when one is unhealthy). */
export function parseEndpointHealth(stdout: string): Parsed<EndpointHealth[]> {
  const doc = json(stdout);
  if (!doc.ok) return doc;
  if (!Array.isArray(doc.value)) return bad("expected a JSON list of endpoints");
  const out: EndpointHealth[] = [];
  for (const e of doc.value as { endpoint?: unknown; health?: unknown; error?: unknown }[]) {
    if (typeof e?.endpoint !== "string" || typeof e.health !== "boolean") return bad("an endpoint without endpoint/health");
    out.push({ endpoint: e.endpoint, health: e.health, ...(typeof e.error === "string" && e.error ? { error: e.error } : {}) });
  }
  return ok(out);
}

export interface EndpointStatus {
  endpoint: string;
  version: string;
  learner: boolean;
}

/** `etcdctl endpoint status --cluster -w json`: `[{"Endpoint", "Status": {"version", "isLearner", ...}}]`. */
export function parseEndpointStatus(stdout: string): Parsed<EndpointStatus[]> {
  const doc = json(stdout);
  if (!doc.ok) return doc;
  if (!Array.isArray(doc.value)) return bad("expected a JSON list of endpoints");
  const out: EndpointStatus[] = [];
  for (const e of doc.value as { Endpoint?: unknown; Status?: { version?: unknown; isLearner?: unknown } }[]) {
    if (typeof e?.Endpoint !== "string" || typeof e.Status?.version !== "string") return bad("an endpoint without Endpoint/Status.version");
    out.push({ endpoint: e.Endpoint, version: e.Status.version, learner: e.Status.isLearner === true });
  }
  return ok(out);
}

export interface NodeState {
  name: string;
  /** `True`, `False` or `Unknown` (the node's Ready condition); `Unknown` also when it has none. */
  ready: string;
  kubeletVersion: string;
}

/** `kubectl get nodes -o json`. */
export function parseNodes(stdout: string): Parsed<NodeState[]> {
  const doc = json(stdout);
  if (!doc.ok) return doc;
  const items = (doc.value as { items?: unknown }).items;
  if (!Array.isArray(items)) return bad("expected a List with items");
  const out: NodeState[] = [];
  for (const n of items as {
    metadata?: { name?: unknown };
    status?: { conditions?: { type?: unknown; status?: unknown }[]; nodeInfo?: { kubeletVersion?: unknown } };
  }[]) {
    if (typeof n?.metadata?.name !== "string") return bad("a node without a name");
    const ready = (n.status?.conditions ?? []).find((c) => c.type === "Ready")?.status;
    const v = n.status?.nodeInfo?.kubeletVersion;
    out.push({
      name: n.metadata.name,
      ready: typeof ready === "string" ? ready : "Unknown",
      kubeletVersion: typeof v === "string" ? (VERSION.exec(v)?.[1] ?? v) : "",
    });
  }
  return ok(out);
}

/** `ls -1A -- PATH`: the snapshot times of the names that follow the backup contract, newest first. */
export function parseSnapshotList(stdout: string, timeOf: (name: string) => Date | undefined): Parsed<{ name: string; time: Date }[]> {
  const out: { name: string; time: Date }[] = [];
  for (const name of stdout.split("\n")) {
    const time = timeOf(name.trim());
    if (time) out.push({ name: name.trim(), time });
  }
  return ok(out.sort((a, b) => b.time.getTime() - a.time.getTime()));
}
