import { type Finding, hasErrors, type RawConfig, validateConfig } from "./config";
import { ROLES, type Role } from "./config/schema";
import type { ClusterSpec, HostSpec } from "./config/spec";
import { dataSafetyFindings, previousFootprint, storageFootprint, type StorageFootprint } from "./storage/data-safety";
import { storageFindings } from "./storage/findings";
import { analyzeTopology, type Topology } from "./topology";
import { checkRemovals, parsePreviousTopology } from "./topology/removals";
import { upgradeAnalysis } from "./upgrade/analysis";
import type { UpgradePlan } from "./upgrade/versions";

export interface Analysis {
  findings: Finding[];
  /** Set when no finding is an error: the program may register resources. */
  spec?: ClusterSpec;
  /**
   * Set whenever the hosts can be read (each a name and known roles), even when other keys have errors;
   * without a valid config it holds the roles only (no storage).
   */
  topology?: Topology;
  /** What holds data in this config: compared with the previous one to catch data loss. */
  footprint?: StorageFootprint;
  /** Set when the previous outputs name an older kubernetesVersion: the hops of the upgrade (components/upgrade). */
  upgrade?: UpgradePlan;
}

/**
 * Config validation, then topology analysis, then the storage chart versions:
 * everything `pulumi preview` can know before touching a host. With the
 * previous outputs (`previousTopology`), also the storage changes that could lose data.
 */
export function analyze(raw: RawConfig): Analysis {
  const { spec, findings } = validateConfig(raw);
  if (!spec) {
    const topology = rolesTopology(raw.hosts);
    return topology ? { findings, topology } : { findings };
  }
  const t = analyzeTopology(spec);
  const footprint = storageFootprint(t.topology);
  const previous = previousFootprint(raw.previousTopology);
  const versions = upgradeAnalysis(raw.previousTopology, spec);
  const all = [
    ...findings,
    ...t.findings,
    ...storageFindings(spec),
    ...againstDeployed(raw, spec, t.topology, t.findings),
    ...previous.findings,
    ...(previous.footprint ? dataSafetyFindings(previous.footprint, footprint) : []),
    ...versions.findings,
  ];
  if (hasErrors(all)) return { findings: all, topology: t.topology, footprint };
  return { findings: all, spec, topology: t.topology, footprint, ...(versions.upgrade ? { upgrade: versions.upgrade } : {}) };
}

/** Checks against what the stack deployed before, when the config passes it (see `topology/removals.ts`). */
function againstDeployed(raw: RawConfig, spec: ClusterSpec, topology: Topology, topologyFindings: Finding[]): Finding[] {
  const { previous, findings } = parsePreviousTopology(raw.previousTopology);
  if (!previous) return findings;
  const explicit = (raw.cluster as { faultTolerance?: unknown } | undefined)?.faultTolerance;
  const removals = checkRemovals(previous, spec, topology, typeof explicit === "number" ? explicit : undefined);
  // The config alone already fails faultTolerance: one message about quorum is enough.
  const quorumReported = topologyFindings.some((f) => f.severity === "error" && f.path === "cluster.faultTolerance");
  return quorumReported ? removals.filter((f) => !f.message.startsWith("this change removes etcd voter")) : removals;
}

function isRole(v: unknown): v is Role {
  return (ROLES as readonly unknown[]).includes(v);
}

/**
 * Who leads, which hosts are control planes, workers and etcd voters, from the hosts' names and roles
 * alone: what the plan can still show when another key has an error. Undefined unless every host has a
 * name and a list of known roles. Computed by `analyzeTopology` itself, from a spec with the roles and
 * nothing else (no disks, no storage, no required fault tolerance), so the two cannot disagree.
 */
export function rolesTopology(hosts: unknown): Topology | undefined {
  if (!Array.isArray(hosts) || hosts.length === 0) return undefined;
  const read: Pick<HostSpec, "name" | "roles">[] = [];
  for (const h of hosts) {
    if (h === null || typeof h !== "object") return undefined;
    const { name, roles } = h as { name?: unknown; roles?: unknown };
    if (typeof name !== "string" || name === "" || !Array.isArray(roles) || roles.length === 0 || !roles.every(isRole)) return undefined;
    read.push({ name, roles: [...new Set(roles)] });
  }
  const rolesOnly = {
    cluster: { faultTolerance: 0 },
    hosts: read.map((h) => ({ ...h, disks: [] })),
    storage: { longhorn: { enabled: false }, rookCeph: { enabled: false }, localStatic: { enabled: false, classes: [] } },
  };
  // analyzeTopology reads only these fields of the spec (the test of this function runs it on exactly this).
  return analyzeTopology(rolesOnly as unknown as ClusterSpec).topology;
}
