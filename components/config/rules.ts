import type { Finding } from "./findings";
import type { ParsedParts } from "./parse";
import type { ClusterSpec, HostSpec, KeepalivedSettings } from "./spec";
import { mirrorBase } from "./strings";
import { clusterRules } from "./rules-cluster";
import { resolveDisks } from "./rules-disks";
import { hostRules, hostsContext, packageMirrorFindings } from "./rules-hosts";
import { networkFindings } from "./rules-network";
import { runtimeFindings } from "./rules-runtime";
import { etcdBackupFindings } from "./rules-day2";
import { localClassRules, storageSystemRules, type StorageOk } from "./rules-storage";

/**
 * The rules that span fields (references between keys, duplicates, overlaps), in
 * the order their findings are listed: cluster, network, hosts, storage classes,
 * disks, package mirrors, runtime, storage systems. Returns the findings and,
 * when none is an error, the resolved spec.
 */
export function applyRules(parts: ParsedParts): { spec?: ClusterSpec; findings: Finding[] } {
  const findings: Finding[] = [];
  const { cluster, storage, broken } = parts;
  const hosts = parts.hosts ?? [];
  const ctx = hostsContext(hosts);
  const keepalived: KeepalivedSettings = cluster ? clusterRules(cluster, ctx, parts.hostAddresses, findings) : { enabled: false };

  // MetalLB's pool, Traefik's address, the Gateway API (rules-network.ts); day-two keys (rules-day2.ts)
  if (cluster) {
    const indexed = hosts.flatMap((h, index) => (h ? [{ host: h, index }] : []));
    findings.push(...etcdBackupFindings(cluster.etcdBackup));
    findings.push(...networkFindings({ cluster, ingress: parts.ingress, hosts: indexed }));
  }

  const complete = parts.hosts !== undefined && ctx.parsed.length === hosts.length;
  hostRules(ctx, cluster, complete, findings);

  const storageOk: StorageOk = (section) => !broken.storage[section];
  const classes = localClassRules(storage, findings);

  // --- disks
  const resolvedHosts: HostSpec[] = [];
  const diskUsesSeen = new Set<string>();
  hosts.forEach((h, i) => {
    if (!h) return;
    const disks = resolveDisks(
      h,
      i,
      storageOk("longhorn") ? storage.longhorn.dataPath : undefined,
      storageOk("localStatic") ? { classes, enabled: storage.localStatic.enabled } : undefined,
      findings,
    );
    for (const d of disks) diskUsesSeen.add(d.use);
    resolvedHosts.push({
      name: h.name,
      address: h.address,
      ...(h.hostKey !== undefined ? { hostKey: h.hostKey.trim() } : {}),
      roles: [...new Set(h.roles)],
      os: h.os,
      immutableRoot: h.immutableRoot,
      packagesPreinstalled: h.packagesPreinstalled ?? (h.immutableRoot || h.os === "flatcar"),
      labels: h.labels,
      taints: h.taints,
      disks,
    });
  });

  if (cluster?.packageMirrors) findings.push(...packageMirrorFindings(cluster.packageMirrors, resolvedHosts));
  // Indexed like hosts[] only when every host parsed (resolvedHosts skips the broken ones).
  if (cluster && resolvedHosts.length === hosts.length) findings.push(...runtimeFindings(cluster.containerRuntime, resolvedHosts));

  if (complete) storageSystemRules(storage, storageOk, diskUsesSeen, resolvedHosts, findings);

  if (!cluster || !complete || !parts.ingress || findings.some((f) => f.severity === "error")) {
    return { findings };
  }

  const controlPlanes = resolvedHosts.filter((h) => h.roles.includes("control-plane")).length;
  const spec: ClusterSpec = {
    cluster: {
      name: cluster.name,
      kubernetesVersion: cluster.kubernetesVersion,
      endpoint: { address: cluster.endpoint.address, port: cluster.endpoint.port, keepalived },
      networking: cluster.networking,
      containerRuntime: cluster.containerRuntime,
      faultTolerance: cluster.faultTolerance ?? (controlPlanes >= 2 ? 1 : 0),
      ssh: cluster.ssh,
      kubelet: cluster.kubelet,
      packageMirrors: {
        ...(cluster.packageMirrors?.distribution !== undefined ? { distribution: mirrorBase(cluster.packageMirrors.distribution) } : {}),
        ...(cluster.packageMirrors?.kubernetes !== undefined ? { kubernetes: mirrorBase(cluster.packageMirrors.kubernetes) } : {}),
      },
      upgrade: cluster.upgrade,
      ...(cluster.etcdBackup ? { etcdBackup: cluster.etcdBackup } : {}),
      ...(cluster.certificates ? { certificates: cluster.certificates } : {}),
    },
    hosts: resolvedHosts,
    storage: {
      ...(storage.defaultClass !== undefined ? { defaultClass: storage.defaultClass } : {}),
      longhorn: storage.longhorn,
      rookCeph: storage.rookCeph,
      localStatic: { enabled: storage.localStatic.enabled, version: storage.localStatic.version, classes: storage.localStatic.classes },
    },
    ingress: parts.ingress,
  };
  return { spec, findings };
}
