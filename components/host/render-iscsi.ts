import type { ClusterSpec, HostSpec } from "../config/spec";
import { shQuote } from "./remote-script";
import { TRACK_CHANGES, scriptHeader } from "./shell";
import { hasDiskOf, isKubernetesNode } from "../config/predicates";

/** Where open-iscsi keeps the initiator name on every distribution we support. */
export const INITIATOR_FILE = "/etc/iscsi/initiatorname.iscsi";

/**
 * Whether a host gets Longhorn's node prerequisites (open-iscsi, NFS client,
 * cryptsetup/dmsetup, a unique initiator name). Replicas live only on hosts
 * with a `longhorn` disk, but a volume attaches over iSCSI wherever its pod
 * runs, so every Kubernetes node needs them (Longhorn's own environment check
 * fails a node without them).
 */
export function needsLonghornPrereqs(host: HostSpec, spec: ClusterSpec): boolean {
  // Every node may attach a Longhorn volume (over iSCSI), not only the nodes that store replicas;
  // an etcd-only witness runs no pods.
  return spec.storage.longhorn.enabled && isKubernetesNode(host);
}

/** Whether a host gets Rook-Ceph's OSD prerequisites (lvm2, which ceph-volume needs on the disks' host). */
export function needsCephPrereqs(host: HostSpec, spec: ClusterSpec): boolean {
  return spec.storage.rookCeph.enabled && hasDiskOf(host, "ceph");
}

/** Whether a host loads the rbd module: Ceph's CSI plugin maps block volumes on whatever node the pod runs. */
export function needsRbd(host: HostSpec, spec: ClusterSpec): boolean {
  return spec.storage.rookCeph.enabled && isKubernetesNode(host);
}

/** multipathd claims Longhorn's iSCSI block devices (/dev/sdX) unless told to leave them alone. */
export const MULTIPATH_BLACKLIST = `# baremetal-k8s: keep multipathd off Longhorn's iSCSI devices, which it would
# otherwise claim, so that Longhorn volumes fail to mount.
blacklist {
    devnode "^sd[a-z0-9]+"
}
`;

/**
 * The node-prep section for Longhorn hosts (a fragment of the node-prep
 * script, which has installed the packages by then): iscsi_tcp is loaded by
 * the module section; here the multipathd blacklist, where multipathd exists.
 */
export function renderMultipathSection(): string {
  return `# Longhorn: multipathd must not claim Longhorn's iSCSI devices.
if command -v multipathd >/dev/null 2>&1; then
  write_file /etc/multipath/conf.d/longhorn.conf 0644 <<'EOF'
${MULTIPATH_BLACKLIST}EOF
  if [ "$wrote" = 1 ] && systemctl is-active --quiet multipathd 2>/dev/null; then
    systemctl restart multipathd
    note "restarted multipathd with the Longhorn blacklist"
  fi
else
  note "multipathd is not installed: no blacklist needed for Longhorn"
fi
`;
}

/**
 * The initiator-name step of a Longhorn host. Generates a name with
 * `iscsi-iname` only where the file is missing, holds no name, or still says
 * `GenerateName=yes` (a fresh package install); a name that exists is kept,
 * because targets' access lists may already refer to it. Then makes sure
 * iscsid runs with that name. Prints only the name on stdout, so the program
 * can read it back and compare hosts; messages go to stderr.
 */
export function renderInitiatorName(host: HostSpec): string {
  return `${scriptHeader("iSCSI initiator name (Longhorn)", host.name, "stderr")}
${TRACK_CHANGES}file=${shQuote(INITIATOR_FILE)}
command -v iscsi-iname >/dev/null 2>&1 || fail "iscsi-iname is missing: open-iscsi should have been installed by node preparation (on packagesPreinstalled hosts bake open-iscsi / iscsi-initiator-utils into the image)"
name=""
if [ -f "$file" ]; then
  name=$(sed -n 's/^[[:space:]]*InitiatorName[[:space:]]*=[[:space:]]*//p' "$file" | head -n 1 | tr -d '[:space:]')
fi
if [ -z "$name" ] || grep -Eq '^[[:space:]]*GenerateName[[:space:]]*=[[:space:]]*yes' "$file" 2>/dev/null; then
  name=$(iscsi-iname)
  [ -n "$name" ] || fail "iscsi-iname printed no name"
  mkdir -p "$(dirname "$file")"
  tmp=$(mktemp "$file.XXXXXX")
  printf '## Generated once by baremetal-k8s with iscsi-iname: unique per host, keep it.\\nInitiatorName=%s\\n' "$name" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
  note "generated initiator name $name"
  changed=1
else
  note "initiator name $name exists: kept"
fi
if command -v systemctl >/dev/null 2>&1; then
  if ! systemctl is-enabled --quiet iscsid 2>/dev/null; then
    systemctl enable iscsid >&2
    changed=1
  fi
  if ! systemctl is-active --quiet iscsid 2>/dev/null; then
    systemctl start iscsid >&2 || fail "iscsid does not start (journalctl -u iscsid says why; the kernel needs the iscsi_tcp module): Longhorn cannot attach volumes on this host"
    note "started iscsid"
  elif [ "$changed" = 1 ]; then
    systemctl restart iscsid >&2 || fail "iscsid does not restart with the new name (journalctl -u iscsid says why)"
    note "restarted iscsid with the new name"
  fi
fi
printf '%s\\n' "$name"
`;
}

/** Removing the step keeps the name: targets' access lists may refer to it. */
export function renderInitiatorNameDelete(host: HostSpec): string {
  return `${scriptHeader("iSCSI initiator name: removal", host.name)}
note "the iSCSI initiator name stays in ${INITIATOR_FILE}: targets' access lists may refer to it"
`;
}

/** One initiator name claimed by more than one host. */
export interface DuplicateInitiator {
  name: string;
  hosts: string[];
}

/**
 * The initiator names that more than one host reported (cloned images carry
 * the same `/etc/iscsi/initiatorname.iscsi`; iSCSI sessions then flap).
 * Unknown or empty names (a preview, a host not yet prepared) are skipped.
 * Sorted by name, hosts in the order given.
 */
export function findDuplicateInitiators(names: ReadonlyArray<readonly [host: string, name: string | undefined]>): DuplicateInitiator[] {
  const byName = new Map<string, string[]>();
  for (const [host, raw] of names) {
    const name = raw?.trim();
    if (!name) continue;
    const hosts = byName.get(name) ?? [];
    hosts.push(host);
    byName.set(name, hosts);
  }
  return [...byName.entries()]
    .filter(([, hosts]) => hosts.length > 1)
    .map(([name, hosts]) => ({ name, hosts }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The error a person reads when hosts share an initiator name: which hosts, and how to fix it. */
export function describeDuplicateInitiators(dups: DuplicateInitiator[]): string {
  const lines = dups.map((d) => `hosts ${d.hosts.join(" and ")} share the iSCSI initiator name ${d.name}`);
  const keep = dups[0]?.hosts[0] ?? "one host";
  const redo = dups.flatMap((d) => d.hosts.slice(1));
  return (
    `Longhorn needs a unique iSCSI initiator name per host, but ${lines.join("; ")} (cloned disk images copy ${INITIATOR_FILE}). ` +
    `Keep the name on ${keep}; on ${redo.join(", ")} run \`echo GenerateName=yes > ${INITIATOR_FILE}\`, then run \`pulumi up\` again with ` +
    `${redo.map((h) => `--replace <urn of ${h}-iscsi>`).join(" ")} so each of them generates its own name. Longhorn is not installed until the names are unique.`
  );
}
