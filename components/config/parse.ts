import type { z } from "zod";
import { type Finding, error, formatPath, type PathSegment } from "./findings";
import {
  type ClusterInput,
  DISK_USES,
  clusterSchema,
  type HostInput,
  hostSchema,
  type StorageInput,
  storageSchema,
} from "./schema";

/** The stack config as Pulumi hands it over: structured keys not yet checked. */
export interface RawConfig {
  cluster?: unknown;
  hosts?: unknown;
  storage?: unknown;
  /** The stack's previous outputs (`baremetal-k8s:previousTopology`), for the checks against the deployed cluster. */
  previousTopology?: unknown;
  /** Whether `sshPrivateKey` is set; its value never enters validation. */
  sshPrivateKeySet: boolean;
}

export interface ParsedParts {
  cluster?: ClusterInput;
  /** One entry per listed host; undefined where that host has a shape error. */
  hosts?: (HostInput | undefined)[];
  storage: StorageInput;
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

  const storage = check(storageSchema, raw.storage ?? {}, ["storage"], findings) ?? storageSchema.parse({});
  return { cluster, hosts, storage, findings };
}

function check<S extends z.ZodType>(schema: S, value: unknown, at: PathSegment[], findings: Finding[]): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    findings.push(...issueFindings(issue, at, value));
  }
  return undefined;
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
      const what = issue.origin === "array" ? `have at most ${bound} entries` : issue.origin === "string" ? `be at least ${bound} characters` : `be ${issue.code === "too_big" ? "at most" : "at least"} ${bound}`;
      const fixed = issue.code === "too_small" && issue.origin === "array" ? `have at least ${bound} entr${bound === "1" ? "y" : "ies"}` : what;
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
  [clusterSchema, hostSchema, storageSchema].forEach(walk);
  return keys;
})();

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function suggestKey(key: string): string {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of KNOWN_KEYS) {
    const score = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(k.toLowerCase(), key.toLowerCase());
    if (score < bestScore) {
      best = k;
      bestScore = score;
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
  return `${typeof v} ${String(v)}`;
}
