import type { EtcdBackupSpec, HostSpec } from "../config/spec";
import { ETCD_FROM_IMAGE, ETCD_IMAGE_OF_MANIFEST } from "../controlplane/etcd-binaries";
import { shQuote } from "../host/remote-script";
import { TRACK_CHANGES, WRITE_FILE, scriptFooter, scriptHeader, shVar } from "../host/shell";

/**
 * `cluster.etcdBackup`: on every control plane, a systemd timer that runs a root-only script taking an etcd
 * snapshot of the local member, verifying it, keeping the newest `keep` and logging to the journal. Pure
 * functions of the spec; the remote step that installs them is in ./index.ts.
 */

export const ETCD_BACKUP = {
  /** The journal tag (logger -t and the service's SyslogIdentifier). */
  tag: "baremetal-k8s-etcd-backup",
  service: "baremetal-k8s-etcd-backup.service",
  timer: "baremetal-k8s-etcd-backup.timer",
  servicePath: "/etc/systemd/system/baremetal-k8s-etcd-backup.service",
  timerPath: "/etc/systemd/system/baremetal-k8s-etcd-backup.timer",
  /** etcdctl and etcdutl of each etcd version, copied out of the etcd image (writable on every OS, also an immutable root). */
  toolsDir: "/var/lib/baremetal-k8s/etcd-tools",
  /** kubeadm's etcd static pod and the client certificate it makes for health checks. */
  manifest: "/etc/kubernetes/manifests/etcd.yaml",
  pkiDir: "/etc/kubernetes/pki/etcd",
  endpoint: "https://127.0.0.1:2379",
} as const;

/**
 * A snapshot's file name: `etcd-snapshot-<UTC yyyymmddTHHMMSSZ>.db`. A contract: `npm run status` reads the
 * newest such file's age. While it is written and verified it is `<name>.part`.
 */
export const SNAPSHOT_NAME_GLOB = "etcd-snapshot-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.db";
export const SNAPSHOT_NAME_RE = /^etcd-snapshot-\d{8}T\d{6}Z\.db$/;

/** Where the backup script lives: /usr/local/sbin, or under /var on a read-only root. */
export function etcdBackupScriptPath(host: HostSpec): string {
  return host.immutableRoot || host.os === "flatcar"
    ? "/var/lib/baremetal-k8s/bin/baremetal-k8s-etcd-backup"
    : "/usr/local/sbin/baremetal-k8s-etcd-backup";
}

/**
 * The script the timer runs. Exit 0 means a verified `etcd-snapshot-<ts>.db` is in place and only the newest
 * `keep` remain; any failure exits non-zero, removes the unfinished `.part` and logs why.
 */
export function renderEtcdBackupScript(backup: EtcdBackupSpec): string {
  return `#!/usr/bin/env bash
# baremetal-k8s: an etcd snapshot of this control plane's etcd member (${ETCD_BACKUP.timer} runs it).
# Rendered by the program (components/day2/render-etcd-backup.ts); running it by hand takes a snapshot now.
set -eEuo pipefail
export LC_ALL=C
umask 077
${shVar("dir", backup.path)}
keep=${backup.keep}
tag=${ETCD_BACKUP.tag}
tools=${ETCD_BACKUP.toolsDir}
manifest=${ETCD_BACKUP.manifest}
pki=${ETCD_BACKUP.pkiDir}
# To the journal (priority daemon.LEVEL); to stderr too unless systemd runs it (its stderr is the journal already).
log() {
  local level=$1
  shift
  if ! logger -t "$tag" -p "daemon.$level" -- "$*" 2>/dev/null || [[ -z \${INVOCATION_ID:-} ]]; then
    printf '%s: %s\\n' "$tag" "$*" >&2
  fi
}
fail() {
  log err "FAILED: $*"
  exit 1
}
part=''
# A snapshot that was not verified never stays behind under a name that could pass for one.
trap 'if [[ -n $part ]]; then rm -f -- "$part" "$part.part"; fi' EXIT
trap 'fail "exit $? at line $LINENO: $BASH_COMMAND"' ERR
${ETCD_FROM_IMAGE}${ETCD_IMAGE_OF_MANIFEST}
install -d -m 0700 "$dir"
exec 9>"$dir/.lock"
flock -n 9 || fail "another backup is running (it holds $dir/.lock)"
# Left by a run that was killed (power loss, timeout): never a snapshot.
rm -f -- "$dir"/etcd-snapshot-*.db.part "$dir"/etcd-snapshot-*.db.part.part
etcdutl=''
if [[ -f $manifest ]]; then
  # kubeadm runs etcd as a static pod: its tools come from the very image this member runs.
  vi=$(etcd_image_of_manifest "$manifest") || exit 1
  version=\${vi%% *}
  image=\${vi#* }
  bin=$tools/v$version
  if [[ ! -x $bin/etcdctl ]]; then
    etcd_from_image "$image" "$version" "$bin"
    log info "took etcdctl and etcdutl of etcd $version from the image $image"
  fi
  etcdctl=$bin/etcdctl
  if [[ -x $bin/etcdutl ]]; then etcdutl=$bin/etcdutl; fi
else
  etcdctl=$(command -v etcdctl) || fail "there is no $manifest (etcd is not kubeadm's static pod here) and no etcdctl on PATH"
  etcdutl=$(command -v etcdutl) || etcdutl=''
fi
ts=$(date -u +%Y%m%dT%H%M%SZ)
while [[ -e $dir/etcd-snapshot-$ts.db ]]; do
  sleep 1
  ts=$(date -u +%Y%m%dT%H%M%SZ)
done
final=$dir/etcd-snapshot-$ts.db
part=$final.part
conn=(--endpoints=${ETCD_BACKUP.endpoint} --cacert="$pki/ca.crt" --cert="$pki/healthcheck-client.crt" --key="$pki/healthcheck-client.key" --dial-timeout=10s)
# Asked first: against a member that is down, snapshot save waits out its whole command timeout (measured: etcdctl 3.5).
if ! out=$(ETCDCTL_API=3 "$etcdctl" "\${conn[@]}" --command-timeout=15s endpoint health 2>&1); then
  fail "etcd at ${ETCD_BACKUP.endpoint} is not healthy, no snapshot taken: $(tail -n 1 <<<"$out")"
fi
if ! out=$(ETCDCTL_API=3 "$etcdctl" "\${conn[@]}" --command-timeout=600s snapshot save "$part" 2>&1); then
  fail "etcdctl snapshot save from ${ETCD_BACKUP.endpoint} failed: $(tail -n 1 <<<"$out")"
fi
if [[ -n $etcdutl ]]; then
  status=$("$etcdutl" snapshot status "$part" -w simple 2>&1) || fail "etcdutl snapshot status refuses the snapshot: $(tail -n 1 <<<"$status")"
else
  log warning "there is no etcdutl here (etcd before 3.5): verifying with etcdctl snapshot status instead"
  status=$(ETCDCTL_API=3 "$etcdctl" snapshot status "$part" -w simple 2>&1) || fail "etcdctl snapshot status refuses the snapshot: $(tail -n 1 <<<"$status")"
fi
mv -f -- "$part" "$final"
part=''
sync -f "$final" 2>/dev/null || sync
mapfile -t snaps < <(find "$dir" -maxdepth 1 -type f -name '${SNAPSHOT_NAME_GLOB}' -printf '%f\\n' | sort -r)
removed=0
for old in "\${snaps[@]:keep}"; do
  rm -f -- "\${dir:?}/$old"
  removed=$((removed + 1))
done
log info "snapshot $final taken and verified (hash, revision, keys, size: $(tail -n 1 <<<"$status")); $((\${#snaps[@]} - removed)) kept, $removed older removed"
`;
}

/** The oneshot service the timer starts. */
export function renderEtcdBackupService(host: HostSpec): string {
  return `[Unit]
Description=baremetal-k8s: etcd snapshot of this control plane's member
After=network-online.target containerd.service kubelet.service

[Service]
Type=oneshot
ExecStart=${etcdBackupScriptPath(host)}
SyslogIdentifier=${ETCD_BACKUP.tag}
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
`;
}

/** The timer: `schedule` (validated: config/rules-day2.ts calendarProblem), and a missed run made up at boot. */
export function renderEtcdBackupTimer(backup: EtcdBackupSpec): string {
  return `[Unit]
Description=baremetal-k8s: scheduled etcd snapshots (cluster.etcdBackup)

[Timer]
OnCalendar=${backup.schedule}
Persistent=true

[Install]
WantedBy=timers.target
`;
}

const EOF = "BAREMETAL_K8S_EOF";

function heredoc(path: string, mode: string, content: string): string {
  if (content.split("\n").includes(EOF)) throw new Error(`heredoc: content of ${path} contains the delimiter ${EOF}`);
  return `write_file ${path} ${mode} <<'${EOF}'\n${content.replace(/\n$/, "")}\n${EOF}\n`;
}

/**
 * The remote step's create (and update): checks the schedule with the host's own systemd, installs the script,
 * the service and the timer, and (re)starts the timer. Idempotent; says when nothing changed.
 */
export function renderEtcdBackupInstallScript(backup: EtcdBackupSpec, host: HostSpec): string {
  const script = etcdBackupScriptPath(host);
  return `${scriptHeader("scheduled etcd snapshots (cluster.etcdBackup)", host.name)}${TRACK_CHANGES}${WRITE_FILE}${shVar("SCHEDULE", backup.schedule)}
command -v systemctl >/dev/null || fail "cluster.etcdBackup needs systemd (a timer runs the snapshots), which this host lacks"
if ! out=$(systemd-analyze calendar "$SCHEDULE" 2>&1); then
  fail "cluster.etcdBackup.schedule: this host's systemd refuses \\"$SCHEDULE\\" ($(tail -n 1 <<<"$out")): give an OnCalendar expression it accepts (man systemd.time), e.g. daily"
fi
install -d -m 0700 ${shQuote(backup.path)}
${heredoc(script, "0700", renderEtcdBackupScript(backup))}${heredoc(ETCD_BACKUP.servicePath, "0644", renderEtcdBackupService(host))}${heredoc(ETCD_BACKUP.timerPath, "0644", renderEtcdBackupTimer(backup))}if [ "$changed" = 1 ]; then systemctl daemon-reload; fi
systemctl enable ${ETCD_BACKUP.timer} >/dev/null 2>&1 || fail "systemctl enable ${ETCD_BACKUP.timer} failed"
if [ "$changed" = 1 ] || ! systemctl is-active --quiet ${ETCD_BACKUP.timer}; then
  systemctl restart ${ETCD_BACKUP.timer}
  note "${ETCD_BACKUP.timer} runs on: $SCHEDULE (next: $(systemctl show -P NextElapseUSecRealtime ${ETCD_BACKUP.timer} 2>/dev/null || echo unknown))"
  changed=1
fi
${scriptFooter("scheduled etcd snapshots")}`;
}

/** cluster.etcdBackup removed (or the control plane leaves): the timer stops and goes; the snapshots stay. */
export function renderEtcdBackupRemoveScript(host: HostSpec): string {
  return `${scriptHeader("scheduled etcd snapshots removed", host.name)}if [ ! -f ${ETCD_BACKUP.timerPath} ] && [ ! -f ${ETCD_BACKUP.servicePath} ]; then
  note "no etcd backup timer here; nothing to undo"
  exit 0
fi
systemctl disable --now ${ETCD_BACKUP.timer} >/dev/null 2>&1 || true
rm -f ${ETCD_BACKUP.timerPath} ${ETCD_BACKUP.servicePath} ${etcdBackupScriptPath(host)}
systemctl daemon-reload || true
note "the etcd backup timer is stopped and removed; the snapshots taken stay where they are"
`;
}
