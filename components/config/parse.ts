import type { z } from "zod";
import { type Finding, error, formatPath, type PathSegment } from "./findings";
import {
  type ClusterInput,
  DISK_USES,
  clusterSchema,
  type HostInput,
  hostSchema,
  type IngressInput,
  ingressSchema,
  type StorageInput,
  storageSchema,
} from "./schema";
import { OFFLINE_SECRET_PLACEHOLDER, type SshPrivateKeyShape, sshPrivateKeyFindings } from "./ssh-key";

/** The program's config namespace (the Pulumi project name). */
const NAMESPACE = "baremetal-k8s";
/** The keys the program reads in its namespace; any other is a typo or a leftover. */
export const CONFIG_KEYS = ["sshPrivateKey", "cluster", "hosts", "storage", "ingress", "previousTopology"] as const;
/** Names people reach for instead of a key's real one. */
const KEY_SYNONYMS: Record<string, string> = {
  nodes: "hosts",
  node: "hosts",
  machines: "hosts",
  servers: "hosts",
  inventory: "hosts",
  sshkey: "sshPrivateKey",
  privatekey: "sshPrivateKey",
  key: "sshPrivateKey",
  k8s: "cluster",
  kubernetes: "cluster",
  disks: "storage",
  previousoutputs: "previousTopology",
  topology: "previousTopology",
};

/** The storage sections that parse on their own: a typo in one does not stop the checks of the others. */
export const STORAGE_SECTIONS = ["defaultClass", "longhorn", "rookCeph", "localStatic"] as const;
export type StorageSection = (typeof STORAGE_SECTIONS)[number];

/** The stack config as Pulumi hands it over: structured keys not yet checked. */
export interface RawConfig {
  cluster?: unknown;
  hosts?: unknown;
  storage?: unknown;
  /** `baremetal-k8s:ingress` (Traefik). */
  ingress?: unknown;
  /** The stack's previous outputs (`baremetal-k8s:previousTopology`), for the checks against the deployed cluster. */
  previousTopology?: unknown;
  /** Whether `sshPrivateKey` is set; its value never enters validation. */
  sshPrivateKeySet: boolean;
  /** What `sshPrivateKey` holds, classified where it is read (ssh-key.ts), for the checks of a malformed key. */
  sshPrivateKey?: SshPrivateKeyShape;
  /** Every config key of the stack with its namespace (`baremetal-k8s:hosts`), to name keys the program does not read. */
  configKeys?: readonly string[];
  /** The keys whose value holds a `secure:` value somewhere. */
  secretKeys?: readonly string[];
}

export interface ParsedParts {
  cluster?: ClusterInput;
  /** One entry per listed host; undefined where that host has a shape error. */
  hosts?: (HostInput | undefined)[];
  storage: StorageInput;
  /** Undefined when `ingress` failed to parse (its findings are reported). */
  ingress?: IngressInput;
  /**
   * The parts of the config that failed to parse: the rules skip checks that
   * depend on them, so one mistake is not reported again as false errors elsewhere.
   */
  broken: { cluster: boolean; storage: Record<StorageSection, boolean> };
  /** The `address` of every listed host that has one, parsed or not (for checks against the endpoint). */
  hostAddresses: string[];
  findings: Finding[];
}

/**
 * Checks each key's shape separately, so one malformed host does not hide the
 * problems of the others: every finding comes out of one pass.
 */
export function parseParts(raw: RawConfig): ParsedParts {
  const findings: Finding[] = [];
  if (!raw.sshPrivateKeySet) {
    findings.push(
      error(
        "sshPrivateKey",
        "is not set: the program connects to every host over SSH with this key. Set it with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
      ),
    );
  }
  findings.push(...sshPrivateKeyFindings(raw.sshPrivateKey));
  findings.push(...unknownKeyFindings(raw.configKeys ?? []));
  findings.push(...secretFindings(raw));

  let cluster: ClusterInput | undefined;
  if (raw.cluster === undefined) {
    findings.push(error("cluster", "is not set: add baremetal-k8s:cluster with at least name, kubernetesVersion and endpoint.address"));
  } else {
    cluster = check(clusterSchema, raw.cluster, ["cluster"], findings);
  }

  let hosts: (HostInput | undefined)[] | undefined;
  if (raw.hosts === undefined) {
    findings.push(error("hosts", "is not set: add baremetal-k8s:hosts listing your machines, at least one with roles [control-plane]"));
  } else if (!Array.isArray(raw.hosts)) {
    findings.push(error("hosts", `must be a list of hosts, got ${describeValue(raw.hosts)}`));
  } else if (raw.hosts.length === 0) {
    findings.push(error("hosts", "lists no host: add at least one host with roles [control-plane]"));
  } else {
    hosts = raw.hosts.map((h, i) => check(hostSchema, h, ["hosts", i], findings));
  }
  const hostAddresses = (Array.isArray(raw.hosts) ? (raw.hosts as unknown[]) : [])
    .map((h) => (h !== null && typeof h === "object" ? (h as { address?: unknown }).address : undefined))
    .filter((a): a is string => typeof a === "string");

  const { storage, broken: storageBroken } = parseStorage(raw.storage, findings);
  const ingress = check(ingressSchema, raw.ingress ?? {}, ["ingress"], findings);
  return {
    cluster,
    hosts,
    storage,
    ingress,
    broken: { cluster: raw.cluster !== undefined && cluster === undefined, storage: storageBroken },
    hostAddresses,
    findings: onePerPath(findings),
  };
}

/**
 * The whole storage key, then, when it fails, each section on its own: a typo
 * in storage.longhorn must not leave the localStatic classes undefined (and
 * every local disk reported as naming an unknown class).
 */
function parseStorage(rawStorage: unknown, findings: Finding[]): { storage: StorageInput; broken: Record<StorageSection, boolean> } {
  const broken: Record<StorageSection, boolean> = { defaultClass: false, longhorn: false, rookCeph: false, localStatic: false };
  const whole = check(storageSchema, rawStorage ?? {}, ["storage"], findings);
  if (whole) return { storage: whole, broken };
  const defaults = storageSchema.parse({});
  const map =
    rawStorage !== null && typeof rawStorage === "object" && !Array.isArray(rawStorage)
      ? (rawStorage as Record<string, unknown>)
      : undefined;
  // An unknown key at the top may be a misspelt section: then no section can be trusted.
  const unknownAtTop = map === undefined || Object.keys(map).some((k) => !(STORAGE_SECTIONS as readonly string[]).includes(k));
  const storage: StorageInput = { ...defaults };
  for (const section of STORAGE_SECTIONS) {
    const r = unknownAtTop ? undefined : storageSchema.shape[section].safeParse(map[section]);
    if (r?.success) (storage as Record<StorageSection, unknown>)[section] = r.data;
    else broken[section] = true;
  }
  return { storage, broken };
}

/** `baremetal-k8s:nodes` and friends: keys in the namespace (or a near miss of it) that the program does not read. */
function unknownKeyFindings(configKeys: readonly string[]): Finding[] {
  const out: Finding[] = [];
  for (const full of configKeys) {
    const colon = full.indexOf(":");
    if (colon < 0) continue;
    const ns = full.slice(0, colon);
    const key = full.slice(colon + 1);
    if (ns === NAMESPACE) {
      if ((CONFIG_KEYS as readonly string[]).includes(key)) continue;
      const near = suggestFrom(key, CONFIG_KEYS) ?? KEY_SYNONYMS[key.toLowerCase()];
      out.push(
        error(
          key,
          `${full} is not a key this program reads${near ? `: did you mean ${NAMESPACE}:${near}?` : "."} Its keys are ${CONFIG_KEYS.map((k) => `${NAMESPACE}:${k}`).join(", ")}; rename or remove this one (keys are case-sensitive)`,
        ),
      );
    } else if (ns !== "pulumi" && editDistance(ns.toLowerCase(), NAMESPACE) <= 2) {
      const near = (CONFIG_KEYS as readonly string[]).includes(key) ? key : (suggestFrom(key, CONFIG_KEYS) ?? key);
      out.push(error(full, `is in the namespace ${ns}, which is not this program's: did you mean ${NAMESPACE}:${near}?`));
    }
  }
  return out;
}

/** The closest of `candidates` to `key`, when it is close enough to be a typo. */
function suggestFrom(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of candidates) {
    const score = editDistance(k.toLowerCase(), key.toLowerCase());
    if (score < bestScore) {
      best = k;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * A `secure:` value where the program needs plain text: node labels, paths and
 * names are written onto the hosts and into the cluster for anyone to read, so
 * encrypting them in the stack file protects nothing and, in the offline plan,
 * renders placeholder text. The offline plan marks the exact value; under
 * `pulumi up` the CLI decrypts it and says only that the key holds a secret.
 */
function secretFindings(raw: RawConfig): Finding[] {
  const out: Finding[] = [];
  const message =
    "is a secret (secure:), but this value is written in plain text onto the hosts and into the cluster (scripts, node labels, kubeadm config), where encryption protects nothing. Write it as plain text";
  for (const key of ["cluster", "hosts", "storage", "ingress"] as const) {
    const found: string[] = [];
    const walk = (v: unknown, at: PathSegment[]): void => {
      if (v === OFFLINE_SECRET_PLACEHOLDER) found.push(formatPath(at));
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
      else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(raw[key], [key]);
    out.push(...found.map((p) => error(p, message)));
    if (found.length === 0 && raw.secretKeys?.includes(`${NAMESPACE}:${key}`)) {
      out.push(
        error(
          key,
          `holds a secure: value: nothing under ${NAMESPACE}:${key} is secret (it is written in plain text onto the hosts and into the cluster). Write every value under it as plain text`,
        ),
      );
    }
  }
  return out;
}

/** The first finding for each key path: a value refused for one reason is not refused again for another. */
function onePerPath(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    if (f.severity !== "error") return true;
    if (seen.has(f.path)) return false;
    seen.add(f.path);
    return true;
  });
}

function check<S extends z.ZodType>(schema: S, value: unknown, at: PathSegment[], findings: Finding[]): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // zod reports a huge number twice (outside the safe-integer range, then above the key's maximum): keep the useful one.
  const issues = [...result.error.issues].sort((a, b) => Number(isSafeIntegerIssue(a)) - Number(isSafeIntegerIssue(b)));
  for (const issue of issues) {
    findings.push(...issueFindings(issue, at, value));
  }
  return undefined;
}

function isSafeIntegerIssue(issue: z.core.$ZodIssue): boolean {
  return (issue.code === "too_big" || issue.code === "too_small") && issue.origin === "int";
}

function issueFindings(issue: z.core.$ZodIssue, at: PathSegment[], root: unknown): Finding[] {
  const path = [...at, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
  const input = valueAt(root, issue.path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) =>
        error(
          formatPath([...path, k]),
          `is not a known key${suggestKey(k)}. Keys are case-sensitive; see the config reference, and remove keys not meant for this program`,
        ),
      );
    case "invalid_type":
      if (input === undefined) {
        return [error(formatPath(path), `is required but missing. ${requiredHint(path)}`)];
      }
      if (issue.expected === "string" && typeof input === "number") {
        return [
          error(
            formatPath(path),
            `must be a string, got the number ${input}: YAML reads an unquoted value like 1.34 as a number (and 1.30 as 1.3). Put the value in quotes${/(version|Version)$/.test(String(path[path.length - 1])) ? ' and give the exact release, e.g. "1.34.2"' : `, e.g. "${input}"`}`,
          ),
        ];
      }
      return [error(formatPath(path), `must be ${article(issue.expected)}, got ${describeValue(input)}`)];
    case "invalid_union": {
      // The disk `use` discriminator: zod reports it at the disk or at its `use` key.
      const usePath = path[path.length - 1] === "use" ? path : [...path, "use"];
      const disk = path[path.length - 1] === "use" ? valueAt(root, issue.path.slice(0, -1)) : input;
      if (disk !== null && typeof disk === "object" && !Array.isArray(disk)) {
        const use = (disk as { use?: unknown }).use;
        if (use === undefined) {
          return [error(formatPath(usePath), `is required but missing: say what the disk is for, one of ${DISK_USES.join(" | ")}`)];
        }
        return [error(formatPath(usePath), `must be one of ${DISK_USES.join(" | ")}, got ${describeValue(use)}`)];
      }
      return [error(formatPath(path), `must be a disk (a map with device and use), got ${describeValue(disk)}`)];
    }
    case "invalid_value": {
      if (!issue.message.startsWith("Invalid")) return [error(formatPath(path), issue.message)];
      const allowed = issue.values.map((v) => String(v)).join(" | ");
      return [error(formatPath(path), `must be one of ${allowed}, got ${describeValue(input)}`)];
    }
    case "too_big":
    case "too_small": {
      if (!issue.message.startsWith("Too")) return [error(formatPath(path), issue.message)];
      const bound = String(issue.code === "too_big" ? issue.maximum : issue.minimum);
      const what =
        issue.origin === "array"
          ? `have at most ${bound} entries`
          : issue.origin === "string"
            ? `be at least ${bound} characters`
            : `be ${issue.code === "too_big" ? "at most" : "at least"} ${bound}`;
      const fixed =
        issue.code === "too_small" && issue.origin === "array" ? `have at least ${bound} entr${bound === "1" ? "y" : "ies"}` : what;
      return [error(formatPath(path), `must ${fixed}, got ${describeValue(input)}`)];
    }
    case "invalid_format":
    case "custom":
    default:
      return [error(formatPath(path), issue.message)];
  }
}

/** Every key the schema knows, for "did you mean" suggestions. */
const KNOWN_KEYS: ReadonlySet<string> = (() => {
  const keys = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (schema: unknown): void => {
    if (!schema || typeof schema !== "object" || seen.has(schema)) return;
    seen.add(schema);
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return;
    const shape = def.shape as Record<string, unknown> | undefined;
    if (shape) {
      for (const [k, v] of Object.entries(shape)) {
        keys.add(k);
        walk(v);
      }
    }
    for (const inner of [def.innerType, def.element, def.in, def.out]) walk(inner);
    if (Array.isArray(def.options)) def.options.forEach(walk);
  };
  [clusterSchema, hostSchema, storageSchema, ingressSchema].forEach(walk);
  return keys;
})();

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i];
      const prev = d[i - 1];
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function suggestKey(key: string): string {
  let best: string | undefined;
  let bestScore = Infinity;
  let bestDistance = Infinity;
  for (const k of KNOWN_KEYS) {
    // A key that shares all but its last two letters with a known one ("replicas", replicaCount) counts as one edit away.
    let common = 0;
    while (common < Math.min(k.length, key.length) && k[common].toLowerCase() === key[common].toLowerCase()) common++;
    const prefix = common >= Math.max(4, key.length - 2);
    const distance = editDistance(k.toLowerCase(), key.toLowerCase());
    const score = k.toLowerCase() === key.toLowerCase() ? 0 : prefix ? 1 : distance;
    // Among equally good keys the nearest spelling wins ("kubernetess": kubernetes, not kubernetesVersion).
    if (score < bestScore || (score === bestScore && distance < bestDistance)) {
      best = k;
      bestScore = score;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestScore <= Math.max(1, Math.floor(key.length / 4)) ? ` (did you mean ${best}?)` : "";
}

function requiredHint(path: PathSegment[]): string {
  const key = path.filter((p) => typeof p === "string").join(".");
  const hints: Record<string, string> = {
    "cluster.name": 'Set a DNS label, e.g. name: "homelab"',
    "cluster.kubernetesVersion": 'Set the exact version to install, e.g. kubernetesVersion: "1.33.4"',
    "cluster.endpoint": "Set endpoint.address to the API server's virtual IP or DNS name",
    "cluster.endpoint.address": "Set it to the virtual IP that keepalived will hold (a free address on the hosts' network) or a DNS name",
    "hosts.name": "Give every host a unique DNS-label name, e.g. cp-1",
    "hosts.address": "Set the IP address or DNS name the controller reaches the host at over SSH",
    "hosts.roles": "Set roles, e.g. [control-plane] or [worker]",
    "hosts.disks.device": "Set the disk's device, preferably its stable /dev/disk/by-id/... path",
    "hosts.disks.mountpoint": "Set where the disk is mounted, e.g. /mnt/data",
    "hosts.disks.storageClass": "Name the storage.localStatic class this disk belongs to",
    "storage.localStatic.classes.name": "Name the class, e.g. fast-storage",
    "storage.localStatic.classes.hostDir": "Set the directory the provisioner watches, e.g. /var/lib/disks/ssd",
  };
  return hints[key] ?? "See the config reference in the README.";
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    string: "a string",
    number: "a number",
    boolean: "true or false",
    object: "a map of keys",
    array: "a list",
    int: "a whole number",
  };
  return names[expected] ?? expected;
}

export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${v}`;
  return typeof v;
}
