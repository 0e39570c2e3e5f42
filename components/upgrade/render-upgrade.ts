import type { ClusterSpec, HostSpec } from "../config/spec";
import { ETCD_FROM_IMAGE } from "../controlplane/etcd-binaries";
import { CHECK_APISERVER, KEEPALIVED_CONF } from "../controlplane/render-keepalived";
import { CLIENT_PORT, WITNESS, WITNESS_ETCDCTL_TLS } from "../controlplane/render-witness";
import { shQuote } from "../host/remote-script";
import { CONTAINERD_CONFIG_SECTION, installsPackages, kubePackageFunctions, renderSandboxImageFunction } from "../host/render-node-prep";
import { TRACK_CHANGES, WRITE_FILE, scriptFooter, scriptHeader, shVar } from "../host/shell";
import type { UpgradeRole } from "./schedule";

/** Seconds a drain may take before the step fails naming the pod that blocks it. */
export const DRAIN_TIMEOUT_S = 600;
/** Seconds the upgraded kubelet gets to report Ready with the new version. */
export const READY_TIMEOUT_S = 300;
/** Seconds to wait for Longhorn volumes and Ceph to be healthy before a node goes down. */
export const STORAGE_TIMEOUT_S = 900;
/** Seconds the VIP gets to move to another control plane. */
export const VIP_MOVE_TIMEOUT_S = 60;
/** Written on the node before its drain, removed after its uncordon: a re-run finds the work unfinished and resumes it. */
export const UPGRADING_MARKER = "/var/lib/baremetal-k8s/upgrading";
const LOG_DIR = "/var/log/baremetal-k8s";
const KEEPALIVED_SAVED = `${KEEPALIVED_CONF}.baremetal-k8s-upgrade`;

export interface UpgradeStepArgs {
  spec: ClusterSpec;
  host: HostSpec;
  hop: string;
  role: UpgradeRole;
  /** Whether other nodes exist to take the pods: a single-node cluster is not drained. */
  drain: boolean;
  /** Whether another control plane can take the VIP (keepalived enabled, two or more control planes). */
  moveVip: boolean;
  /** Whether this host runs a witness etcd member, which follows the control planes' etcd version. */
  witness?: boolean;
}

const FUNCTIONS = `version_ge() { [ "$(printf '%s\\n%s\\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]; }
kubelet_version() { kubelet --version 2>/dev/null | sed -n 's/^Kubernetes v//p'; }
apiserver_version() { sed -n 's#^[[:space:]]*image:.*/kube-apiserver:v\\([0-9.]*\\).*#\\1#p' /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null | head -n 1; }
k() { kubectl --kubeconfig "$work/admin.conf" --request-timeout=30s "$@"; }
`;

const DONE_CHECK = `# Finished before (a re-run after a later step failed, or a hop this node has passed): nothing to do.
mark=$(cat "$MARKER" 2>/dev/null || true)
have=$(kubelet_version)
done_here=0
if [ -z "$mark" ] && [ -n "$have" ] && version_ge "$have" "$HOP"; then
  done_here=1
  if [ "$ROLE" != worker ]; then
    api=$(apiserver_version)
    if [ -z "$api" ] || ! version_ge "$api" "$HOP"; then done_here=0; fi
  fi
fi
if [ "$done_here" = 1 ]; then
  note "already runs Kubernetes $have (>= $HOP) and is not cordoned by an upgrade: nothing to do"
  exit 0
fi
note "upgrading to $HOP (kubelet \${have:-unknown}\${mark:+, resuming the upgrade to $mark})"
`;

function storageSection(spec: ClusterSpec): string {
  const longhorn = spec.storage.longhorn.enabled;
  const ceph = spec.storage.rookCeph.enabled;
  if (!spec.cluster.upgrade.waitForStorage || (!longhorn && !ceph)) return "";
  return `# Storage healthy before this node goes down: never two storage nodes down together (cluster.upgrade.waitForStorage).
deadline=$((SECONDS + ${STORAGE_TIMEOUT_S}))
while :; do
  bad=""
${
  longhorn
    ? `  if ! vols=$(k -n longhorn-system get volumes.longhorn.io -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.robustness}{"\\n"}{end}' 2>&1); then
    bad="$bad Longhorn volumes cannot be read ($vols);"
  else
    bad="$bad$(awk '$2 == "degraded" || $2 == "faulted" { printf " Longhorn volume %s is %s;", $1, $2 }' <<<"$vols")"
  fi
`
    : ""
}${
    ceph
      ? `  health=$(k -n rook-ceph get cephclusters.ceph.rook.io -o jsonpath='{range .items[*]}{.status.ceph.health}{end}' 2>/dev/null || true)
  if [ "$health" != HEALTH_OK ]; then
    detail=$(k -n rook-ceph get cephclusters.ceph.rook.io -o jsonpath='{range .items[*]}{.status.ceph.details}{end}' 2>/dev/null || true)
    bad="$bad Ceph reports \${health:-no health} \${detail};"
  fi
`
      : ""
  }  [ -z "$bad" ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail "storage is not healthy after ${STORAGE_TIMEOUT_S} s, so $NODE stays up:$bad wait until it recovers (or repair it) and run pulumi up again; cluster.upgrade.waitForStorage: false skips this wait"
  fi
  sleep 10
done
note "storage is healthy"
`;
}

function vipSection(spec: ClusterSpec): string {
  const ka = spec.cluster.endpoint.keepalived;
  if (!ka.enabled) return "";
  return `# The VIP leaves this node before it goes down: keepalived's priority lowered to 1 (the others have 100 or 150),
# restored when this step ends. An interrupted run left the saved file: that is the original.
${shVar("VIP", spec.cluster.endpoint.address)}
${shVar("IFACE", ka.interface)}
holds_vip() { ip -o addr show dev "$IFACE" 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1 | grep -qxF "$VIP"; }
restore_vip() {
  if [ -f ${KEEPALIVED_SAVED} ]; then
    mv -f ${KEEPALIVED_SAVED} ${KEEPALIVED_CONF}
    systemctl reload keepalived || true
    note "restored keepalived's priority"
  fi
}
trap 'restore_vip; rm -rf "$work"' EXIT
if holds_vip; then
  [ -f ${KEEPALIVED_SAVED} ] || cp -p ${KEEPALIVED_CONF} ${KEEPALIVED_SAVED}
  sed -E 's/^([[:space:]]*priority)[[:space:]]+[0-9]+/\\1 1/' ${KEEPALIVED_SAVED} >${KEEPALIVED_CONF}
  systemctl reload keepalived
  note "holds the VIP $VIP: lowered its keepalived priority, waiting for another control plane to take it"
  deadline=$((SECONDS + ${VIP_MOVE_TIMEOUT_S}))
  until ! holds_vip && k get --raw /readyz >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "the VIP $VIP did not move to another healthy control plane within ${VIP_MOVE_TIMEOUT_S} s: check keepalived and ${CHECK_APISERVER} on the other control planes; nothing was upgraded"
    fi
    sleep 1
  done
  note "another control plane holds the VIP $VIP and the API answers through it"
fi
`;
}

const DRAIN_SECTION = `# Drain, honouring PodDisruptionBudgets (evictions), marked so that a re-run resumes here.
DRAIN_TIMEOUT=${DRAIN_TIMEOUT_S}
install -d -m 0755 "$(dirname "$MARKER")"
printf '%s\\n' "$HOP" >"$MARKER"
if ! k drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout="\${DRAIN_TIMEOUT}s" >"$work/drain.log" 2>&1; then
  tail -n 5 "$work/drain.log" >&2
  blocking=$(sed -nE 's#.*evicting pods/"([^"]+)" -n "([^"]+)".*#\\2/\\1#p; s#.*pod "([^"]+)" in namespace "([^"]+)".*#\\2/\\1#p' "$work/drain.log" | sort -u | tr '\\n' ' ')
  unmanaged=$(sed -nE 's#.*cannot delete [^:]*: (.*)$#\\1#p' "$work/drain.log" | tr '\\n' ' ')
  if [ -n "$unmanaged" ]; then
    fail "cannot drain $NODE: pods without a controller would be lost: $unmanaged- move or delete them, then run pulumi up again (the upgrade resumes at $NODE, which stays cordoned)"
  fi
  fail "cannot drain $NODE within $DRAIN_TIMEOUT s: the pod \${blocking:-(see above)}could not be evicted; a PodDisruptionBudget allows no disruption now. Let it be evicted (more replicas, a looser budget), then run pulumi up again (the upgrade resumes at $NODE, which stays cordoned)"
fi
note "drained"
`;

const NO_DRAIN_SECTION = `install -d -m 0755 "$(dirname "$MARKER")"
printf '%s\\n' "$HOP" >"$MARKER"
note "the only node of the cluster: not drained (its pods have nowhere to go)"
`;

/** On a host that installs nothing: `check_baked PKG...` fails unless the image brings each at $HOP. */
const CHECK_BAKED = `check_baked() {
  local p got
  for p in "$@"; do
    case $p in
      kubeadm) got=$(kubeadm version -o short 2>/dev/null | sed 's/^v//') ;;
      kubelet) got=$(kubelet_version) ;;
      kubectl) got=$(kubectl version --client -o yaml 2>/dev/null | sed -n 's/^ *gitVersion: v//p' | head -n 1) ;;
    esac
    [ "$got" = "$HOP" ] || fail "$p is \${got:-missing}, not $HOP, and this host installs no packages (packagesPreinstalled or immutableRoot): put $p $HOP into its image, then run pulumi up again"
  done
}
`;

function packagesSection(host: HostSpec, which: "kubeadm" | "kubelet kubectl"): string {
  const pkgs = which.split(" ");
  if (!installsPackages(host)) {
    return `# This host installs no packages: its image must bring ${which} $HOP.
check_baked ${which}
`;
  }
  return `if ${pkgs.map((p) => `[ "$(kube_version ${p})" != "$HOP" ]`).join(" || ")}; then
  kube_repo "$HOP"
  kube_install "$HOP" ${which}
  note ${shQuote(`installed ${which.replace(" ", " and ")} `)}"$HOP"
  changed=1
fi
kube_hold ${which}
`;
}

function kubeadmSection(role: UpgradeRole, hop: string): string {
  const run = (cmd: string, log: string, what: string) => `install -d -m 0700 ${LOG_DIR}
if ! ${cmd} >${LOG_DIR}/${log} 2>&1; then
  tail -n 30 ${LOG_DIR}/${log} >&2
  fail ${shQuote(`${what} failed (log: ${LOG_DIR}/${log}): fix the cause and run pulumi up again; the upgrade resumes on this node`)}
fi`;
  switch (role) {
    case "leader":
      return `# The first control plane of the hop: kubeadm checks the cluster can go to $HOP, then upgrades it (control plane, etcd, addons).
api=$(apiserver_version)
if [ -n "$api" ] && version_ge "$api" "$HOP"; then
  note "the control plane here already runs $api"
else
  ${run(`kubeadm upgrade plan "v$HOP"`, `kubeadm-upgrade-plan-${hop}.log`, "kubeadm upgrade plan").replace(/\n/g, "\n  ")}
  ${run(`kubeadm upgrade apply "v$HOP" --yes`, `kubeadm-upgrade-apply-${hop}.log`, "kubeadm upgrade apply").replace(/\n/g, "\n  ")}
  note "kubeadm upgrade apply v$HOP finished"
  changed=1
fi
`;
    case "control-plane":
      return `api=$(apiserver_version)
if [ -n "$api" ] && version_ge "$api" "$HOP"; then
  note "the control plane here already runs $api"
else
  ${run("kubeadm upgrade node", `kubeadm-upgrade-node-${hop}.log`, "kubeadm upgrade node").replace(/\n/g, "\n  ")}
  note "kubeadm upgrade node finished"
  changed=1
fi
`;
    case "worker":
      return `${run("kubeadm upgrade node", `kubeadm-upgrade-node-${hop}.log`, "kubeadm upgrade node")}
note "kubeadm upgrade node finished"
`;
    default: {
      const never: never = role;
      throw new Error(`unknown role ${String(never)}`);
    }
  }
}

const KUBELET_SECTION = `systemctl daemon-reload
systemctl restart kubelet
deadline=$((SECONDS + READY_TIMEOUT))
until [ "$(k get node "$NODE" -o jsonpath='{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "v$HOP True" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail "the kubelet did not report Ready with v$HOP within $READY_TIMEOUT s: see journalctl -u kubelet on $NODE; the node stays cordoned, and pulumi up resumes here"
  fi
  sleep 2
done
k uncordon "$NODE" >/dev/null
rm -f "$MARKER"
note "Ready with Kubernetes $HOP and uncordoned"
changed=1
`;

/**
 * One node's upgrade to one hop, as one idempotent script: exits at once when the node already runs the
 * hop (or newer) and is not marked as being upgraded; otherwise waits for healthy storage, moves the VIP
 * away, drains (honouring PodDisruptionBudgets), installs the hop's kubeadm, runs `kubeadm upgrade
 * plan`/`apply` (leader) or `kubeadm upgrade node`, installs kubelet and kubectl, sets containerd's sandbox
 * image for the hop, restarts the kubelet, waits for Ready and uncordons. stdin: the admin kubeconfig.
 */
export function renderUpgradeScript(a: UpgradeStepArgs): string {
  const { spec, host, hop, role } = a;
  return [
    scriptHeader(
      `upgrade to Kubernetes ${role === "leader" ? "(leader, kubeadm upgrade apply)" : `(${role}, kubeadm upgrade node)`}`,
      host.name,
    ),
    TRACK_CHANGES,
    shVar("HOP", hop),
    shVar("NODE", host.name),
    shVar("ROLE", role),
    shVar("MARKER", UPGRADING_MARKER),
    `READY_TIMEOUT=${READY_TIMEOUT_S}`,
    "umask 077",
    "work=$(mktemp -d)",
    "trap 'rm -rf \"$work\"' EXIT",
    'cat >"$work/admin.conf"',
    '[ -s "$work/admin.conf" ] || fail "expected the admin kubeconfig on stdin"',
    "",
    FUNCTIONS,
    a.witness ? witnessSection() : "",
    DONE_CHECK,
    storageSection(spec),
    a.moveVip ? vipSection(spec) : "",
    a.drain ? DRAIN_SECTION : NO_DRAIN_SECTION,
    installsPackages(host) ? `${WRITE_FILE}\n${kubePackageFunctions(host, spec.cluster.packageMirrors)}` : CHECK_BAKED,
    packagesSection(host, "kubeadm"),
    kubeadmSection(role, hop),
    packagesSection(host, "kubelet kubectl"),
    renderSandboxImageFunction(),
    'SANDBOX_IMAGE=$(sandbox_image_for "$HOP")',
    CONTAINERD_CONFIG_SECTION,
    KUBELET_SECTION,
    scriptFooter("upgrade"),
  ]
    .filter((p) => p !== "")
    .join("\n");
}

/** The step leaving the program (the upgrade finished, or the next one began): an upgrade is not undone. */
export function renderUpgradeDeleteScript(host: HostSpec): string {
  return `${scriptHeader("upgrade step: removal", host.name)}note "an upgrade step is not undone: nothing to do"
`;
}

/**
 * A witness etcd member follows the control planes' etcd: after they ran the hop (kubeadm upgrade apply moves
 * their static etcd pods to the hop's etcd image), the witness takes etcd and etcdctl from that same image
 * (content-addressed by containerd, as its first install did), restarts on them, and waits until healthy.
 * Nothing happens when it already runs that version.
 */
function witnessSection(): string {
  return `${ETCD_FROM_IMAGE}# The witness etcd member follows the control planes' etcd version.
etcd_image=$(k -n kube-system get pods -l component=etcd -o jsonpath='{.items[0].spec.containers[0].image}') ||
  fail "cannot read the control planes' etcd image (kube-system pods with label component=etcd)"
etcd_version=\${etcd_image##*:}
etcd_version=\${etcd_version#v}
etcd_version=\${etcd_version%%-*}
re='^[0-9]+\\.[0-9]+\\.[0-9]+$'
[[ $etcd_version =~ $re ]] || fail "cannot tell the etcd version from the image $etcd_image"
etcd_running=$(${WITNESS.binDir}/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p' || true)
if [ "$etcd_running" != "$etcd_version" ]; then
  dir=${WITNESS.binDir}/v$etcd_version
  if [ ! -x "$dir/etcd" ] || [ ! -x "$dir/etcdctl" ]; then
    etcd_from_image "$etcd_image" "$etcd_version" "$dir"
  fi
  ln -sfn "$dir/etcd" ${WITNESS.binDir}/etcd
  ln -sfn "$dir/etcdctl" ${WITNESS.binDir}/etcdctl
  systemctl restart ${WITNESS.unit}
  deadline=$((SECONDS + 60))
  until ETCDCTL_API=3 ${WITNESS.binDir}/etcdctl --endpoints=https://127.0.0.1:${CLIENT_PORT} ${WITNESS_ETCDCTL_TLS} --dial-timeout=5s endpoint health >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the witness etcd member is not healthy a minute after moving to etcd $etcd_version: see journalctl -u ${WITNESS.unit}"
    sleep 1
  done
  note "the witness etcd member runs etcd $etcd_version (was \${etcd_running:-unknown}), like the control planes"
  changed=1
fi
`;
}
