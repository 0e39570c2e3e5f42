import { shQuote } from "../../host/remote-script";
import { WITNESS } from "../../controlplane/render-witness";

/**
 * The commands `npm run status` sends, each in its own SSH session. All of them only read: this list is the
 * whole of what the command runs on a host (test/day2/status-probes.test.ts checks every word of it against
 * an allow-list of read-only programs and refuses any redirection but to /dev/null).
 */
export type ProbeId =
  | "time"
  | "kubelet-version"
  | "kubeadm-version"
  | "kubelet-active"
  | "addresses"
  | "certs"
  | "etcd-members"
  | "etcd-health"
  | "etcd-status"
  | "nodes"
  | "backups";

/** Where a probe runs: every host, Kubernetes nodes (control planes and workers), control planes (also for `cluster.etcdBackup`). */
export type ProbeScope = "all" | "node" | "control-plane";

export interface Probe {
  id: ProbeId;
  scope: ProbeScope;
  command: string;
}

/**
 * Finds an etcdctl, preferring the one inside the running etcd's own root (the static pod's image, so of the
 * server's version, read through /proc/PID/root: nothing is started in the container), then the witness's,
 * then one on PATH. Says on stderr which one it took.
 */
const FIND_ETCDCTL = [
  "ctl=''",
  "for p in $(pgrep -x etcd 2>/dev/null); do if [ -x /proc/$p/root/usr/local/bin/etcdctl ]; then ctl=/proc/$p/root/usr/local/bin/etcdctl; break; fi; done",
  `if [ -z "$ctl" ] && [ -x ${WITNESS.binDir}/etcdctl ]; then ctl=${WITNESS.binDir}/etcdctl; fi`,
  'if [ -z "$ctl" ] && command -v etcdctl >/dev/null 2>&1; then ctl=$(command -v etcdctl); fi',
  'if [ -z "$ctl" ]; then echo "no etcdctl: no running etcd with /usr/local/bin/etcdctl in its image, no witness etcdctl, none on PATH" >&2; exit 127; fi',
  'echo "etcdctl: $ctl" >&2',
].join("\n");

const ETCD_TLS =
  "--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt " +
  "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key " +
  "--dial-timeout=5s --command-timeout=10s";

function etcdctl(args: string): string {
  return `${FIND_ETCDCTL}\nETCDCTL_API=3 "$ctl" ${ETCD_TLS} ${args}`;
}

const KUBECONFIG = "/etc/kubernetes/admin.conf";

/** The fixed probe list; `backupPath` is `cluster.etcdBackup.path`, validated with the stack (config/schema.ts: an absolute, normalised path). */
export function statusProbes(backupPath?: string): Probe[] {
  const probes: Probe[] = [
    { id: "time", scope: "all", command: "date -u +%s" },
    { id: "kubelet-version", scope: "node", command: "kubelet --version" },
    { id: "kubeadm-version", scope: "node", command: "kubeadm version -o short" },
    { id: "kubelet-active", scope: "node", command: "systemctl is-active kubelet" },
    { id: "addresses", scope: "all", command: "ip -o addr show" },
    { id: "certs", scope: "control-plane", command: "kubeadm certs check-expiration -o json" },
    { id: "etcd-members", scope: "control-plane", command: etcdctl("member list -w simple") },
    { id: "etcd-health", scope: "control-plane", command: etcdctl("endpoint health --cluster -w json") },
    { id: "etcd-status", scope: "control-plane", command: etcdctl("endpoint status --cluster -w json") },
    {
      id: "nodes",
      scope: "control-plane",
      command: `kubectl --kubeconfig ${KUBECONFIG} --request-timeout=10s get nodes -o json`,
    },
  ];
  if (backupPath !== undefined) probes.push({ id: "backups", scope: "control-plane", command: `ls -1A -- ${shQuote(backupPath)}` });
  return probes;
}

/** The command line one probe is sent as: bash for the etcdctl finder; `sudo -n` for a non-root user (never prompts). */
export function probeCommandLine(probe: Probe, user: string): string {
  return `${user === "root" ? "" : "sudo -n "}bash -c ${shQuote(`export LC_ALL=C\n${probe.command}`)}`;
}
