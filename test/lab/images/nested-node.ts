// Lab only: what a lab host needs to run the REAL kubelet and kubeadm (test/lab/real-controlplane.test.ts), next to a
// node. Never in the product: see test/lab/README.md, "Real images / real control plane".
import { TOOLS_BIN, missingTools } from "../../controlplane/k8s-tools";
import { labAvailable } from "../lab";

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
 * - CNI: containerd looks for plugins in /usr/lib/cni (Debian's containernetworking-plugins), see {@link bridgeCni}.
 * - images: imported, then also named by digest (repo@sha256:...), as containerd's CRI names a pulled image.
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
    // Debian's containernetworking-plugins put the CNI plugins in /usr/lib/cni, not containerd's default /opt/cni/bin
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = "${CNI_BIN}"`,
    '    conf_dir = "/etc/cni/net.d"',
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
    // containerd's CRI records a pulled image under its digest too (repo@sha256:...); an import names only the tag.
    // The witness script asks for the etcd image by that digest (what cp-1's containerd recorded).
    "for ref in $(ctr -n k8s.io images ls -q | grep -v '@'); do",
    "  d=$(ctr -n k8s.io images ls \"name==$ref\" | awk 'NR == 2 { print $3 }')",
    '  ctr -n k8s.io images tag "$ref" "${ref%:*}@$d" >/dev/null 2>&1 || true',
    "done",
    "systemctl enable kubelet >/dev/null",
  ].join("\n");
}

/** Where Debian's containernetworking-plugins install the CNI plugins (containerd's default is /opt/cni/bin). */
export const CNI_BIN = "/usr/lib/cni";

/** The lab's node CIDR and pod CIDRs are IPv4 /N; anything else is a test bug, not something to write into a file. */
const CIDR4 = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

/**
 * Lab only: the pod network, as a CNI a user installs would make it (Cilium/Calico images cannot be pulled here):
 * Debian's `bridge` plugin with `host-local` addresses from the Node's own `spec.podCIDR` (the controller manager
 * allocates them from the stack's podSubnet), and a route per other node's pod CIDR through that node's address
 * (what kindnet does in kind). No ipMasq/portmap: they need iptables, which lab hosts lack, and nothing here leaves
 * the lab. containerd finds the file in /etc/cni/net.d and reports the network ready, so the kubelet marks the Node
 * Ready.
 */
export function bridgeCni(podCidr: string, peers: { address: string; podCidr: string }[]): string {
  for (const c of [podCidr, ...peers.flatMap((p) => [p.podCidr, `${p.address}/32`])]) {
    if (!CIDR4.test(c)) throw new Error(`bridgeCni: ${c} is not an IPv4 CIDR`);
  }
  const conf = {
    cniVersion: "0.4.0",
    name: "lab-bridge",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet: podCidr }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
    ],
  };
  return [
    "set -euo pipefail",
    `[[ -x ${CNI_BIN}/bridge && -x ${CNI_BIN}/host-local && -x ${CNI_BIN}/loopback ]] || { echo 'no ${CNI_BIN}/bridge: apt-get install containernetworking-plugins' >&2; exit 1; }`,
    "mkdir -p /etc/cni/net.d",
    "cat >/etc/cni/net.d/10-lab-bridge.conflist.tmp <<'JSON'",
    JSON.stringify(conf, null, 2),
    "JSON",
    "mv /etc/cni/net.d/10-lab-bridge.conflist.tmp /etc/cni/net.d/10-lab-bridge.conflist",
    ...peers.map((p) => `ip route replace ${p.podCidr} via ${p.address}`),
  ].join("\n");
}

/**
 * Lab only: a lab host booted again after `lab.stopHost` (a power cut) has a fresh mount namespace: no cgroup mounts,
 * no tmpfs under /var/lib/containerd (so no images), and its enabled containerd and kubelet started at boot without
 * them. Stopped, node setup and import again, then the kubelet starts the static pods from their manifests and data
 * (/etc/kubernetes, /var/lib/etcd stay on the host's disk), as on a real node after a reboot.
 */
export function nestedNodeAfterBoot(images: string[]): string {
  return ["systemctl stop kubelet containerd || true", nestedNode(images), "systemctl start kubelet"].join("\n");
}

/** The real binaries every real-control-plane lab test runs (tools/engines builds them). */
const REAL_CONTROL_PLANE_TOOLS = [
  "kubeadm",
  "kubelet",
  "kubectl",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kube-proxy",
  "etcd",
  "pause",
] as const;

/** Why a real control plane cannot run in the lab here (no lab, or a tool not built), with EXTRA tools a test also needs. */
export function realControlPlaneUnavailable(extra: readonly string[] = []): string | undefined {
  const lab = labAvailable();
  if (!lab.ok) return lab.reason;
  return missingTools([...REAL_CONTROL_PLANE_TOOLS, ...extra]);
}
