import type { z } from "zod";
import { type Finding, error, formatPath, type PathSegment } from "./findings";
import {
  type ClusterInput,
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
          `is not a known key. Check its spelling and case against the config reference (README, "Config reference"); remove it if it is not meant for this program`,
        ),
      );
    case "invalid_type":
      if (input === undefined) {
        return [error(formatPath(path), `is required but missing. ${requiredHint(path)}`)];
      }
      return [error(formatPath(path), `must be ${article(issue.expected)}, got ${describeValue(input)}`)];
    case "invalid_union":
      // The disk `use` discriminator: zod reports the union at the disk, with our message.
      if (input !== null && typeof input === "object" && "use" in input) {
        const use = (input as { use: unknown }).use;
        return [error(formatPath([...path, "use"]), `${issue.message}, got ${describeValue(use)}`)];
      }
      if (input !== null && typeof input === "object") {
        return [error(formatPath([...path, "use"]), `is required but missing. Say what the disk is for: ${issue.message.replace(/^must be /, "")}`)];
      }
      return [error(formatPath(path), `must be a disk object with device and use, got ${describeValue(input)}`)];
    case "invalid_value":
    case "invalid_format":
    case "too_small":
    case "too_big":
    case "custom":
    default:
      return [error(formatPath(path), `${issue.message}${issue.code === "invalid_value" ? `, got ${describeValue(input)}` : ""}`)];
  }
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
