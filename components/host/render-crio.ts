import { runtimeServices, shVar } from "./shell";

/**
 * CRI-O as the node's container runtime (`cluster.containerRuntime: crio`):
 * installed from the CRI-O project's repository of the cluster's Kubernetes
 * minor on pkgs.k8s.io (CRI-O's minor follows Kubernetes'), configured with a
 * drop-in, and started.
 */

/** kubeadm's `nodeRegistration.criSocket` for CRI-O. */
export const CRIO_SOCKET = "unix:///var/run/crio/crio.sock";

/** Where CRI-O keeps images and containers: on /var, which stays writable on an immutable root. */
export const CRIO_STORAGE_ROOT = "/var/lib/containers/storage";

/** The program's drop-in; CRI-O reads /etc/crio/crio.conf.d/ in lexical order after its own crio.conf. */
export const CRIO_DROP_IN = "/etc/crio/crio.conf.d/10-baremetal-k8s.conf";

/** `<base>/addons:/cri-o:/stable:/v1.33/deb/` (or rpm/): the CRI-O repository of a minor, on pkgs.k8s.io or its mirror. */
export function crioRepo(minor: string, family: "deb" | "rpm", mirror: string | undefined): string {
  return `${mirror ?? "https://pkgs.k8s.io"}/addons:/cri-o:/stable:/${minor}/${family}/`;
}

/** apt: the repository (signed-by its own keyring, from the repository's Release.key), then the cri-o package. Needs APT_FUNCTIONS. */
export function crioInstallApt(repo: string): string {
  return `# CRI-O from the CRI-O project's repository of this Kubernetes minor (or its mirror).
${shVar("CRIO_REPO", repo)}
apt_signed_source cri-o.list /etc/apt/keyrings/cri-o-apt-keyring.gpg "$CRIO_REPO"
if ! command -v crio >/dev/null 2>&1; then
  pkg_install cri-o
fi
`;
}

/** dnf: the repository with priority over the distribution's own cri-o (another minor), then the cri-o package. Needs DNF_FUNCTIONS. */
export function crioInstallDnf(repo: string): string {
  return `# CRI-O from the CRI-O project's repository of this Kubernetes minor (or its mirror); preferred over the
# distribution's cri-o, which may be another minor.
write_file /etc/yum.repos.d/cri-o.repo 0644 <<'EOF'
[cri-o]
name=CRI-O
baseurl=${repo}
enabled=1
gpgcheck=1
gpgkey=${repo}repodata/repomd.xml.key
priority=1
EOF
if ! command -v crio >/dev/null 2>&1; then
  pkg_install cri-o
fi
`;
}

/**
 * The drop-in and the service: the systemd cgroup manager (kubeadm configures
 * the kubelet's cgroup driver as systemd), the pause image kubeadm expects
 * (SANDBOX_IMAGE), and storage on /var with the overlay driver, never btrfs
 * (issue 14: the lesson of a user's immutable Fedora); content left there by a
 * btrfs driver stops the step instead of being silently ignored.
 */
export const CRIO_CONFIG_SECTION = `# CRI-O: systemd cgroup manager (the kubelet's), the pause image kubeadm expects, storage on /var with overlay.
if [ -d ${CRIO_STORAGE_ROOT}/btrfs ] && [ -n "$(ls -A ${CRIO_STORAGE_ROOT}/btrfs 2>/dev/null)" ]; then
  fail "${CRIO_STORAGE_ROOT} holds images of CRI-O's btrfs storage driver; this program runs CRI-O with the overlay driver. Remove them (crio wipe, or delete ${CRIO_STORAGE_ROOT}) and run again"
fi
write_file ${CRIO_DROP_IN} 0644 <<EOF
[crio]
root = "${CRIO_STORAGE_ROOT}"
runroot = "/run/containers/storage"
storage_driver = "overlay"

[crio.runtime]
cgroup_manager = "systemd"

[crio.image]
pause_image = "$SANDBOX_IMAGE"
EOF
crio_restart=$wrote
${runtimeServices("crio", "crio_restart")}`;
