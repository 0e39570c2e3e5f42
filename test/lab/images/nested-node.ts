// Lab only: what a lab host needs to run the REAL kubelet and kubeadm (test/lab/real-controlplane.test.ts), next to a
// node. Never in the product: see test/lab/README.md, "Real images / real control plane".
import { TOOLS_BIN } from "../../controlplane/k8s-tools";

/**
 * Lab only: what a kubelet nested in a lab host needs that a node has (cf. kind's node image), and the packages
 * node preparation would install (rung 3 of issue 12 will bring them as .deb packages; until then copied in here).
 * - cgroups: the host's /sys is a fresh sysfs; mount the v1 controllers this VM has (no hugetlb) and the v2 tree.
 * - /dev/kmsg: the kubelet's OOM watcher reads it; the host's /dev is private.
 * - /var/lib/containerd on tmpfs: overlayfs snapshots cannot stack on the lab's overlay /var.
 * - containerd: SystemdCgroup = false (no systemd in the lab host), and restrict_oom_score_adj = true: this VM's
 *   root has no CAP_SYS_RESOURCE, so runc cannot give the pod sandbox the -998 oom_score_adj containerd asks for
 *   ("nsexec: failed to update /proc/self/oom_score_adj: Permission denied"); kind sets it in a user namespace.
 * - kubelet: --cgroup-driver=cgroupfs in /etc/default/kubelet (read by kubeadm's drop-in): kubeadm's default
 *   KubeletConfiguration says systemd, and there is no systemd here. A flag overrides the config file.
 * - kubeadm: our kubeadm is built with Go 1.26, whose net/url refuses "https://[10.96.0.1]:1234/" (IPv4 in
 *   brackets); kubeadm 1.33's HTTPProxyCIDR preflight check builds exactly that URL for the service and pod CIDRs
 *   and fails. Upstream's Go 1.24 build does not. /usr/local/bin/kubeadm adds --ignore-preflight-errors=HTTPProxyCIDR
 *   to init and join (not their phases); every other argument and the rendered configuration pass unchanged.
 * - net.ipv4.ip_forward=1: node preparation sets it on a real node; the lab host is a fresh network namespace.
 * - no default route: lab hosts have none, like an air-gapped node with static routes only. (The program's
 *   upload-certs script once ran `kubeadm init phase upload-certs` without --config, which takes the API server's
 *   bind address from the default route: "cannot use "0.0.0.0" as the bind address for the API Server" without one.)
 */
export function nestedNode(images: string[]): string {
  return [
    "set -euo pipefail",
    `T=${TOOLS_BIN}`,
    "if ! mountpoint -q /sys/fs/cgroup; then",
    "  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup",
    "  for c in cpu cpuacct cpuset memory devices freezer blkio pids; do mkdir -p /sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c; done",
    "  mkdir -p /sys/fs/cgroup/systemd; mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd",
    "  mkdir -p /sys/fs/cgroup/unified; mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified",
    "fi",
    "[[ -e /dev/kmsg ]] || mknod -m 644 /dev/kmsg c 1 11",
    "mkdir -p /var/lib/containerd; mountpoint -q /var/lib/containerd || mount -t tmpfs -o size=2g containerd /var/lib/containerd",
    "sysctl -qw net.ipv4.ip_forward=1",
    "mkdir -p /etc/containerd",
    "cat >/etc/containerd/config.toml <<'TOML'",
    "version = 2",
    '[plugins."io.containerd.grpc.v1.cri"]',
    '  sandbox_image = "registry.k8s.io/pause:3.10"',
    "  restrict_oom_score_adj = true",
    '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '    runtime_type = "io.containerd.runc.v2"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    "      SystemdCgroup = false",
    "TOML",
    'for b in kubeadm kubelet kubectl; do install -m 755 "$T/$b" /usr/bin/$b; done',
    "mkdir -p /lib/systemd/system /usr/lib/systemd/system/kubelet.service.d",
    "printf '[Unit]\\nDescription=kubelet\\n[Service]\\nExecStart=/usr/bin/kubelet\\nRestart=always\\nRestartSec=2\\n[Install]\\nWantedBy=multi-user.target\\n' >/lib/systemd/system/kubelet.service",
    "cat >/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf <<'CONF'",
    "[Service]",
    'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"',
    'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"',
    "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
    "EnvironmentFile=-/etc/default/kubelet",
    "ExecStart=",
    "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
    "CONF",
    "echo 'KUBELET_EXTRA_ARGS=--cgroup-driver=cgroupfs' >/etc/default/kubelet",
    "cat >/usr/local/bin/kubeadm <<'SH'",
    "#!/bin/bash",
    "# lab only (test/lab/real-controlplane.test.ts): a Go 1.26 build fails kubeadm's HTTPProxyCIDR preflight check",
    // not `kubeadm init phase upload-certs`: phases other than preflight have no such flag
    'if [[ ${1:-} == init || ${1:-} == join ]] && [[ ${2:-} != phase ]]; then exec /usr/bin/kubeadm "$@" --ignore-preflight-errors=HTTPProxyCIDR; fi',
    'exec /usr/bin/kubeadm "$@"',
    "SH",
    "chmod 755 /usr/local/bin/kubeadm",
    "systemctl daemon-reload",
    "systemctl enable --now containerd >/dev/null",
    "for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done",
    ...images.map((i) => `ctr -n k8s.io images import ${i} >/dev/null`),
    "systemctl enable kubelet >/dev/null",
  ].join("\n");
}
