import type { ClusterSpec, HostSpec } from "../../config/spec";
import { WITNESS, peerUrl } from "../../controlplane/render-witness";
import { shQuote } from "../../host/remote-script";
import type { Topology } from "../../topology";

/**
 * Restoring etcd from a snapshot after quorum is lost (issue 13, point 7): the scripts `npm run etcd-restore`
 * runs, pure. Nothing is deleted: the manifests are moved aside and back, every member's old data directory is
 * kept beside the restored one (`<data>.before-restore-<tag>`).
 */

export const MANIFESTS = "/etc/kubernetes/manifests";
export const STATIC_PODS_STOPPED = ["etcd", "kube-apiserver"] as const;

/** `20261205T093000Z`: names the aside directory, the copied snapshot and the kept data of one restore. */
const TAG = /^\d{8}T\d{6}Z$/;
/** An absolute path without quoting trouble (the snapshot path comes from the command line). */
const SAFE_PATH = /^\/[A-Za-z0-9._/+-]*[A-Za-z0-9._+-]$/;

export function restoreTag(t: Date): string {
  return t
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export function asideDir(tag: string): string {
  return `/etc/kubernetes/etcd-restore-${tag}`;
}

/** `host:/path` of `--snapshot`, checked against the stack's hosts. */
export function parseSnapshotArg(arg: string, spec: ClusterSpec): { host: HostSpec; path: string } | { problem: string } {
  const m = /^([^:]+):(.+)$/.exec(arg);
  if (!m) return { problem: `--snapshot ${arg}: expected HOST:/path/to/snapshot.db (HOST one of the stack's hosts)` };
  const host = spec.hosts.find((h) => h.name === m[1]);
  if (!host) return { problem: `--snapshot ${arg}: ${m[1]} is not a host of the stack (${spec.hosts.map((h) => h.name).join(", ")})` };
  if (!SAFE_PATH.test(m[2]) || m[2].split("/").includes(".."))
    return { problem: `--snapshot ${arg}: the path must be absolute, of letters, digits and . _ - + /, without ".."` };
  return { host, path: m[2] };
}

function header(title: string, host: string): string[] {
  return [
    "#!/usr/bin/env bash",
    `# baremetal-k8s etcd restore: ${title}`,
    "set -euo pipefail",
    "export LC_ALL=C",
    `host=${shQuote(host)}`,
    'say() { echo "$host: $*" >&2; }',
    'fail() { echo "$host: ERROR: $*" >&2; exit 1; }',
    "umask 077",
    "work=$(mktemp -d) mounted=''",
    'trap \'[[ -z $mounted ]] || ctr -n k8s.io images unmount --rm "$work/image" >/dev/null 2>&1 || true; rm -rf "$work"\' EXIT',
  ];
}

/**
 * `find_util [MANIFEST]` sets `$util` to an etcdutl (or, failing that, the etcdctl of etcd 3.5, whose
 * `snapshot status`/`restore` still work, deprecated) and `$util_kind`: the one in a running etcd's image
 * (/proc/PID/root), the witness's, one on PATH, or the etcd image named by the static pod manifest, mounted
 * with containerd's ctr (as the witness takes its etcd).
 */
const FIND_UTIL = [
  "find_util() {",
  "  local manifest=${1:-} image='' p",
  "  util='' util_kind=''",
  "  for p in $(pgrep -x etcd 2>/dev/null || true); do",
  "    if [[ -x /proc/$p/root/usr/local/bin/etcdutl ]]; then util=/proc/$p/root/usr/local/bin/etcdutl util_kind=etcdutl; return 0; fi",
  "  done",
  `  if [[ -x ${WITNESS.binDir}/etcdutl ]]; then util=${WITNESS.binDir}/etcdutl util_kind=etcdutl; return 0; fi`,
  "  if command -v etcdutl >/dev/null 2>&1; then util=$(command -v etcdutl) util_kind=etcdutl; return 0; fi",
  "  if [[ -n $manifest && -f $manifest ]] && command -v ctr >/dev/null 2>&1; then",
  '    image=$(sed -n \'s/^ *image: *//p\' "$manifest" | head -n 1 | tr -d "\\"\'")',
  "    if [[ -n $image ]]; then",
  '      install -d -m 0700 "$work/image"',
  '      if ctr -n k8s.io images mount "$image" "$work/image" >/dev/null 2>"$work/mount.err"; then',
  "        mounted=yes",
  "        if [[ -x $work/image/usr/local/bin/etcdutl ]]; then util=$work/image/usr/local/bin/etcdutl util_kind=etcdutl; return 0; fi",
  "        # etcd 3.5's etcdctl still restores (deprecated); 3.6 dropped it, and its images have etcdutl.",
  '        if [[ -x $work/image/usr/local/bin/etcdctl ]] && "$work/image/usr/local/bin/etcdctl" snapshot restore --help >/dev/null 2>&1; then',
  "          util=$work/image/usr/local/bin/etcdctl util_kind=etcdctl; return 0",
  "        fi",
  "      fi",
  "    fi",
  "  fi",
  "  for p in $(pgrep -x etcd 2>/dev/null || true); do",
  '    if [[ -x /proc/$p/root/usr/local/bin/etcdctl ]] && "/proc/$p/root/usr/local/bin/etcdctl" snapshot restore --help >/dev/null 2>&1; then',
  "      util=/proc/$p/root/usr/local/bin/etcdctl util_kind=etcdctl; return 0",
  "    fi",
  "  done",
  `  if [[ -x ${WITNESS.binDir}/etcdctl ]] && ${WITNESS.binDir}/etcdctl snapshot restore --help >/dev/null 2>&1; then util=${WITNESS.binDir}/etcdctl util_kind=etcdctl; return 0; fi`,
  `  if [[ -x ${WITNESS.binDir}/etcdctl ]] && ${WITNESS.binDir}/etcdctl snapshot restore --help >/dev/null 2>&1; then util=${WITNESS.binDir}/etcdctl util_kind=etcdctl; return 0; fi`,
  "  fail \"no etcdutl here: none in a running etcd's image, none in " +
    WITNESS.binDir +
    ", none on PATH, and the etcd image${image:+ $image} could not be mounted with ctr. Put the etcdutl of the cluster's etcd version on PATH (from the etcd release archive) and run the command again\"",
  "}",
  'util_run() { if [[ $util_kind == etcdctl ]]; then ETCDCTL_API=3 "$util" "$@"; else "$util" "$@"; fi; }',
];

/** `running NAME`: a live process of that name (a zombie left to its parent to reap does not count). */
const RUNNING = [
  "running() {",
  "  local p st",
  '  for p in $(pgrep -x "$1" 2>/dev/null || true); do',
  "    st=$(awk '{print $3}' /proc/$p/stat 2>/dev/null || true)",
  "    [[ -n $st && $st != Z ]] && return 0",
  "  done",
  "  return 1",
  "}",
];

/** On the snapshot's host: `etcdutl snapshot status` of the file; prints its JSON (hash, revision, totalKey, totalSize). */
export function renderSnapshotCheckScript(host: HostSpec, snapshot: string): string {
  return [
    ...header(`check the snapshot ${snapshot}`, host.name),
    `snap=${shQuote(snapshot)}`,
    '[[ -f $snap ]] || fail "there is no file $snap"',
    ...FIND_UTIL,
    `find_util ${MANIFESTS}/etcd.yaml`,
    'util_run snapshot status -w json "$snap" 2>"$work/status.err" || fail "$snap is not a usable etcd snapshot: $(tail -n 1 "$work/status.err")"',
    'say "snapshot $snap checked with $util_kind ($util)"',
    "",
  ].join("\n");
}

/** Streams a file to stdout (the snapshot, copied through the machine running the command). */
export function renderCatScript(path: string): string {
  return `set -euo pipefail\ncat -- ${shQuote(path)}\n`;
}

/**
 * On a control plane: moves the etcd and kube-apiserver static pod manifests aside (the kubelet stops them),
 * waits until no etcd and kube-apiserver process is left, and prints the member's `data=` and `peer=` read
 * from etcd's manifest. A re-run finds them aside already and carries on.
 */
export function renderStopControlPlaneScript(host: HostSpec, tag: string): string {
  if (!TAG.test(tag)) throw new Error(`restore tag ${tag} is not yyyymmddTHHMMSSZ`);
  const aside = asideDir(tag);
  return [
    ...header("stop etcd and the API server (static pod manifests moved aside)", host.name),
    `aside=${aside}`,
    'install -d -m 0700 "$aside"',
    `for m in ${STATIC_PODS_STOPPED.join(" ")}; do`,
    `  if [[ -f ${MANIFESTS}/$m.yaml ]]; then mv -f ${MANIFESTS}/$m.yaml "$aside/$m.yaml"; say "moved ${MANIFESTS}/$m.yaml to $aside"`,
    '  elif [[ -f $aside/$m.yaml ]]; then say "$m.yaml is in $aside already"',
    "  # An earlier restore run that stopped half way moved it aside under its own time.",
    '  elif earlier=$(ls -1d /etc/kubernetes/etcd-restore-*/"$m.yaml" 2>/dev/null | sort | tail -n 1) && [[ -n $earlier ]]; then',
    '    mv -f "$earlier" "$aside/$m.yaml"; say "took $m.yaml from the earlier restore run ($earlier)"',
    `  else fail "there is no ${MANIFESTS}/$m.yaml (nor in $aside): is this a kubeadm control plane?"; fi`,
    "done",
    "# The kubelet notices a removed manifest within its file check period (20 s) and stops the pod; a loaded node takes longer.",
    ...RUNNING,
    "for _ in $(seq 1 300); do",
    "  if ! running etcd && ! running kube-apiserver; then break; fi",
    "  sleep 1",
    "done",
    "if running etcd || running kube-apiserver; then",
    '  fail "still running 5 minutes after the manifests were moved aside: $(ps -o pid=,stat=,comm= -C etcd,kube-apiserver | tr "\\n" " "). Is the kubelet running? (systemctl status kubelet)"',
    "fi",
    "data=$(sed -n 's/^ *- --data-dir=//p' \"$aside/etcd.yaml\" | head -n 1)",
    "peer=$(sed -n 's/^ *- --initial-advertise-peer-urls=//p' \"$aside/etcd.yaml\" | head -n 1)",
    '[[ $data == /* ]] || fail "$aside/etcd.yaml has no --data-dir"',
    '[[ -n $peer ]] || fail "$aside/etcd.yaml has no --initial-advertise-peer-urls"',
    'say "etcd and kube-apiserver are stopped"',
    'echo "data=$data"',
    'echo "peer=$peer"',
    "",
  ].join("\n");
}

/** On a witness: stops its etcd service; prints `data=` and `peer=`. */
export function renderStopWitnessScript(host: HostSpec): string {
  return [
    ...header("stop the witness etcd member", host.name),
    `systemctl stop ${WITNESS.unit}`,
    ...RUNNING,
    "for _ in $(seq 1 60); do running etcd || break; sleep 1; done",
    '! running etcd || fail "etcd still runs a minute after systemctl stop"',
    `peer=$(sed -n 's/^ETCD_INITIAL_ADVERTISE_PEER_URLS=//p' ${WITNESS.envFile} | head -n 1)`,
    `echo "data=${WITNESS.dataDir}"`,
    `echo "peer=\${peer:-${peerUrl(host)}}"`,
    "",
  ].join("\n");
}

export interface VoterPlace {
  name: string;
  host: HostSpec;
  witness: boolean;
  /** From the member's own manifest or env file. */
  data: string;
  peer: string;
}

/** `--initial-cluster` of the restored cluster: every voter of the topology at its peer URL. */
export function initialCluster(voters: VoterPlace[]): string {
  return voters.map((v) => `${v.name}=${v.peer}`).join(",");
}

const URL = /^https?:\/\/[A-Za-z0-9.:[\]-]+$/;

/**
 * On one voter, stdin the snapshot: checks its sha256, restores it with the member's name, peer URL and the
 * whole `--initial-cluster` into `<data>.restored-<tag>`, moves the old data to `<data>.before-restore-<tag>`
 * (kept, never deleted) and the restored one into place. A re-run after a success keeps the first kept data.
 */
export function renderRestoreMemberScript(voter: VoterPlace, voters: VoterPlace[], tag: string, sha256: string): string {
  if (!TAG.test(tag)) throw new Error(`restore tag ${tag} is not yyyymmddTHHMMSSZ`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error("sha256 must be 64 hex digits");
  for (const v of voters) {
    if (!URL.test(v.peer)) throw new Error(`${v.name}: the peer URL ${v.peer} read from its etcd config is not a URL`);
    if (!/^\/[A-Za-z0-9._/-]+$/.test(v.data))
      throw new Error(`${v.name}: the data directory ${v.data} read from its etcd config is not a plain absolute path`);
  }
  const manifest = voter.witness ? "" : `${asideDir(tag)}/etcd.yaml`;
  return [
    ...header(`restore etcd member ${voter.name} from the snapshot on stdin`, voter.host.name),
    `name=${shQuote(voter.name)}`,
    `peer=${shQuote(voter.peer)}`,
    `initial=${shQuote(initialCluster(voters))}`,
    `data=${shQuote(voter.data)}`,
    `tag=${shQuote(tag)}`,
    `want=${shQuote(sha256)}`,
    'snap="$(dirname "$data")/etcd-restore-$tag.db"',
    'cat >"$snap.part"',
    'got=$(sha256sum "$snap.part" | cut -d" " -f1)',
    '[[ $got == "$want" ]] || fail "the snapshot arrived damaged (sha256 $got, expected $want)"',
    'mv -f "$snap.part" "$snap"',
    ...RUNNING,
    '! running etcd || fail "etcd still runs here: stop it first (the command\'s stop step)"',
    ...FIND_UTIL,
    `find_util ${shQuote(manifest)}`,
    'restored="$data.restored-$tag"',
    'rm -rf "$restored"',
    "extra=()",
    "# Kubernetes' advice for a restore: revisions jump ahead and old ones count as compacted, so watches resume cleanly.",
    "if util_run snapshot restore --help 2>&1 | grep -q -- --bump-revision; then extra=(--bump-revision 1000000000 --mark-compacted); fi",
    'util_run snapshot restore "$snap" --name "$name" --initial-cluster "$initial" --initial-advertise-peer-urls "$peer" --data-dir "$restored" "${extra[@]}" >"$work/restore.out" 2>&1 || fail "$util_kind snapshot restore failed: $(tail -n 3 "$work/restore.out")"',
    '[[ -d $restored/member ]] || fail "the restore made no $restored/member"',
    'kept="$data.before-restore-$tag"',
    "if [[ -e $kept ]]; then",
    "  # A second run of the same restore: the data from before it is kept already; this run's replaces the first run's.",
    '  [[ ! -e $data ]] || mv -T "$data" "$data.superseded-$(date +%s)"',
    "elif [[ -e $data ]]; then",
    '  mv -T "$data" "$kept"',
    '  say "kept the old data in $kept"',
    "fi",
    'mv -T "$restored" "$data"',
    'chmod 0700 "$data"',
    'say "restored member $name ($peer) of $initial into $data with $util_kind${extra:+ (revision bumped, old ones marked compacted)}"',
    "",
  ].join("\n");
}

/** On a control plane: puts the manifests of `pods` back (the kubelet starts them). */
export function renderStartControlPlaneScript(host: HostSpec, tag: string, pods: readonly string[]): string {
  if (!TAG.test(tag)) throw new Error(`restore tag ${tag} is not yyyymmddTHHMMSSZ`);
  return [
    ...header(`start ${pods.join(" and ")} again`, host.name),
    `aside=${asideDir(tag)}`,
    `for m in ${pods.join(" ")}; do`,
    `  if [[ -f $aside/$m.yaml ]]; then mv -f "$aside/$m.yaml" ${MANIFESTS}/$m.yaml; say "moved $m.yaml back to ${MANIFESTS}"`,
    `  elif [[ -f ${MANIFESTS}/$m.yaml ]]; then say "$m.yaml is back already"`,
    '  else fail "$m.yaml is neither in $aside nor in ' + MANIFESTS + '"; fi',
    "done",
    "",
  ].join("\n");
}

export function renderStartWitnessScript(host: HostSpec): string {
  return [...header("start the witness etcd member", host.name), `systemctl start ${WITNESS.unit}`, 'say "started"', ""].join("\n");
}

/** On a voter: waits up to `seconds` for its etcd to answer a health check (quorum reached). */
export function renderWaitEtcdScript(host: HostSpec, witness: boolean, seconds: number): string {
  const pki = witness ? WITNESS.pkiDir : "/etc/kubernetes/pki/etcd";
  return [
    ...header("wait for etcd to be healthy", host.name),
    "ctl=''",
    "for _ in $(seq 1 " + String(seconds) + "); do",
    `  for p in $(pgrep -x etcd 2>/dev/null || true); do [[ -x /proc/$p/root/usr/local/bin/etcdctl ]] && ctl=/proc/$p/root/usr/local/bin/etcdctl; done`,
    `  [[ -n $ctl ]] || { [[ -x ${WITNESS.binDir}/etcdctl ]] && ctl=${WITNESS.binDir}/etcdctl; } || true`,
    `  if [[ -n $ctl ]] && ETCDCTL_API=3 "$ctl" --endpoints=https://127.0.0.1:2379 --cacert=${pki}/ca.crt --cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key --dial-timeout=3s --command-timeout=5s endpoint health >/dev/null 2>&1; then say "etcd is healthy"; exit 0; fi`,
    "  sleep 1",
    "done",
    `fail "etcd did not become healthy within ${seconds} s: see the etcd container's log (crictl logs) or journalctl -u ${WITNESS.unit}"`,
    "",
  ].join("\n");
}

/** On a control plane: waits for the API server through admin.conf (`/readyz`); prints the node list. */
export function renderWaitApiScript(host: HostSpec, seconds: number): string {
  return [
    ...header("wait for the API server", host.name),
    `for _ in $(seq 1 ${seconds}); do`,
    "  if [[ $(kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=5s get --raw /readyz 2>/dev/null) == ok ]]; then",
    '    say "the API server answers"; kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name; exit 0',
    "  fi",
    "  sleep 1",
    "done",
    `fail "the API server did not answer /readyz within ${seconds} s: see crictl logs of kube-apiserver"`,
    "",
  ].join("\n");
}

/** What the command would do, step by step (printed without --yes, and before it starts with it). */
export function describeRestore(spec: ClusterSpec, topology: Topology, source: { host: HostSpec; path: string }, tag: string): string[] {
  const cps = topology.controlPlanes;
  const wit = topology.witnesses;
  return [
    `1. check ${source.host.name}:${source.path} with etcdutl snapshot status, copy it here and to every etcd voter (sha256 checked)`,
    `2. stop the static pods etcd and kube-apiserver on ${cps.join(", ")} (manifests moved to ${asideDir(tag)})${wit.length ? `; stop ${WITNESS.unit} on ${wit.join(", ")}` : ""}`,
    `3. etcdutl snapshot restore on every voter (${topology.etcdVoters.join(", ")}) with its name, peer URL and --initial-cluster of all ${topology.etcdVoters.length}, into a new data directory; the old one is kept as <data>.before-restore-${tag}`,
    `4. start etcd on every voter and wait until each is healthy, then start kube-apiserver on ${cps.join(", ")}`,
    `5. wait until the API server answers (/readyz) on ${cps[0] ?? "?"}`,
    `Cluster ${spec.cluster.name}: everything written to etcd after the snapshot is lost.`,
  ];
}
