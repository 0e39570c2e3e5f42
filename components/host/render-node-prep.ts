import { isControlPlane } from "../config/predicates";
import { containerRuntimeOf, type ClusterSpec, type HostSpec, type PackageMirrors } from "../config/spec";
import { CRIO_CONFIG_SECTION, crioInstallApt, crioInstallDnf, crioRepo } from "./render-crio";
import type { OperatingSystem } from "../config/schema";
import { shQuote } from "./remote-script";
import { needsCephPrereqs, needsLonghornPrereqs, needsRbd, renderMultipathSection } from "./render-iscsi";
import { TRACK_CHANGES, WRITE_FILE, runtimeServices, scriptFooter, scriptHeader, shVar } from "./shell";

/** How a host installs packages. Flatcar has no package manager (packagesPreinstalled is required there). */
export type PackageFamily = "apt" | "dnf" | "none";

export function packageFamily(os: OperatingSystem): PackageFamily {
  switch (os) {
    case "ubuntu":
    case "debian":
      return "apt";
    case "fedora":
    case "rhel":
      return "dnf";
    case "flatcar":
      return "none";
    default: {
      const unknown: never = os;
      throw new Error(`unknown os ${String(unknown)}`);
    }
  }
}

/**
 * The kubelet's volume-plugin (flexvolume) directory on this host. The
 * default lives under /usr, which an immutable root cannot write; there the
 * kubelet (`volumePluginDir`) and controller-manager (`--flex-volume-plugin-dir`)
 * are pointed at a directory on /var instead (FACTS: Node preparation).
 */
export function volumePluginDir(host: HostSpec): string {
  return host.immutableRoot ? "/var/lib/kubelet/volumeplugins" : "/usr/libexec/kubernetes/kubelet-plugins/volume/exec";
}

/** Writable directories an immutable root gets from /var (target, backing directory). */
export const IMMUTABLE_WRITABLE_DIRS: ReadonlyArray<readonly [string, string]> = [
  ["/etc/cni/net.d", "/var/lib/baremetal-k8s/rw/etc-cni-net.d"],
  ["/opt/cni/bin", "/var/lib/baremetal-k8s/rw/opt-cni-bin"],
];

/** Kernel modules every node needs, then the storage ones. */
export function kernelModules(host: HostSpec, spec: ClusterSpec): string[] {
  return ["overlay", "br_netfilter", ...(needsLonghornPrereqs(host, spec) ? ["iscsi_tcp"] : [])];
}

export const SYSCTLS: ReadonlyArray<readonly [string, string]> = [
  ["net.bridge.bridge-nf-call-ip6tables", "1"],
  ["net.bridge.bridge-nf-call-iptables", "1"],
  ["net.ipv4.ip_forward", "1"],
];

/** A command the host must have after preparation, and the package that brings it per family. */
interface Requirement {
  command: string;
  apt: string;
  dnf: string;
}

const KUBE_COMMANDS = ["kubeadm", "kubelet", "kubectl"];

/** Whether this host runs keepalived for the API server VIP: every control plane, when the cluster's keepalived is enabled. */
export function runsKeepalived(host: HostSpec, spec: ClusterSpec): boolean {
  return spec.cluster.endpoint.keepalived.enabled && isControlPlane(host);
}

/** What a host needs besides containerd and the Kubernetes packages, from its roles, disks and storage. */
export function requirements(host: HostSpec, spec: ClusterSpec): Requirement[] {
  const out: Requirement[] = [];
  // The keepalived step (components/controlplane/render-scripts.ts) runs keepalived, and its check_apiserver.sh runs curl.
  if (runsKeepalived(host, spec)) {
    out.push({ command: "keepalived", apt: "keepalived", dnf: "keepalived" }, { command: "curl", apt: "curl", dnf: "curl" });
  }
  const fsTypes = new Set<string>();
  let ephemeral = 0;
  for (const d of host.disks) {
    if (d.use === "ephemeral") ephemeral++;
    else if (d.use !== "ceph" && !(d.use === "local" && d.volumeMode === "Block")) fsTypes.add(d.fsType);
  }
  if (ephemeral > 0) fsTypes.add("xfs");
  if (fsTypes.has("ext4")) out.push({ command: "mkfs.ext4", apt: "e2fsprogs", dnf: "e2fsprogs" });
  if (fsTypes.has("xfs")) out.push({ command: "mkfs.xfs", apt: "xfsprogs", dnf: "xfsprogs" });
  if (ephemeral > 1) out.push({ command: "mdadm", apt: "mdadm", dnf: "mdadm" });
  if (needsLonghornPrereqs(host, spec)) {
    out.push(
      { command: "iscsiadm", apt: "open-iscsi", dnf: "iscsi-initiator-utils" },
      { command: "iscsi-iname", apt: "open-iscsi", dnf: "iscsi-initiator-utils" },
      { command: "mount.nfs", apt: "nfs-common", dnf: "nfs-utils" },
      { command: "cryptsetup", apt: "cryptsetup", dnf: "cryptsetup" },
      { command: "dmsetup", apt: "dmsetup", dnf: "device-mapper" },
    );
  }
  if (needsCephPrereqs(host, spec)) out.push({ command: "lvm", apt: "lvm2", dnf: "lvm2" });
  return out;
}

/** `1.33.4` -> `v1.33`: pkgs.k8s.io has one repository per minor. */
export function kubernetesMinor(version: string): string {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  if (!m) throw new Error(`kubernetesVersion ${version} is not x.y.z`);
  return `v${m[1]}.${m[2]}`;
}

/** Whether the program installs packages on this host; else it only verifies them. A read-only /usr cannot take packages. */
export function installsPackages(host: HostSpec): boolean {
  return !host.packagesPreinstalled && !host.immutableRoot && packageFamily(host.os) !== "none";
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

const SWAP_SECTION = `# Swap off now and after reboots: the kubelet refuses to start with swap on.
if [ -n "$(swapon --show=NAME --noheadings 2>/dev/null)" ]; then
  swapoff -a
  note "turned swap off"
  changed=1
fi
if [ -f /etc/fstab ] && awk '!/^[[:space:]]*#/ && $3 == "swap" { found = 1 } END { exit found ? 0 : 1 }' /etc/fstab; then
  cp -p /etc/fstab /etc/fstab.bak-baremetal-k8s-swap
  tmp=$(mktemp)
  awk '!/^[[:space:]]*#/ && $3 == "swap" { print "# swap disabled by baremetal-k8s (the kubelet needs swap off): " $0; next } { print }' /etc/fstab >"$tmp"
  cat "$tmp" >/etc/fstab
  rm -f "$tmp"
  note "commented out the swap entries of /etc/fstab (copy in /etc/fstab.bak-baremetal-k8s-swap)"
  changed=1
fi
if command -v systemctl >/dev/null 2>&1; then
  while read -r unit load _; do
    case $unit in *.swap) ;; *) continue ;; esac
    [ "$load" = masked ] && continue
    systemctl mask "$unit" >/dev/null 2>&1 || fail "cannot mask swap unit $unit: mask it by hand (systemctl mask $unit) and run again"
    note "masked swap unit $unit"
    changed=1
  done < <(systemctl list-units --type=swap --all --plain --no-legend 2>/dev/null || true)
fi
if [ -e /usr/lib/systemd/zram-generator.conf ] && [ ! -e /etc/systemd/zram-generator.conf ]; then
  write_file /etc/systemd/zram-generator.conf 0644 <<'EOF'
# baremetal-k8s: no zram swap; the kubelet needs swap off.
EOF
fi
`;

const MODULE_FUNCTIONS = `# A module counts as present when loaded, built in, or (for built-in ones
# without a /sys/module entry) when the interface it provides exists.
module_present() {
  case $1 in
    br_netfilter) [ -d /proc/sys/net/bridge ] && return 0 ;;
    rbd) [ -d /sys/bus/rbd ] && return 0 ;;
  esac
  [ -d "/sys/module/$1" ] && return 0
  grep -Eq "/$1\\.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null
}
load_module() {
  module_present "$1" && return 0
  command -v modprobe >/dev/null 2>&1 || fail "kernel module $1 is not loaded and modprobe is missing: install kmod"
  modprobe "$1" || fail "cannot load kernel module $1 (modprobe $1 failed): the kernel must provide it"
  note "loaded kernel module $1"
  changed=1
}
`;

function modulesSection(modules: string[]): string {
  return `# Kernel modules, loaded now and at every boot.
write_file /etc/modules-load.d/k8s.conf 0644 <<'EOF'
${modules.join("\n")}
EOF
for m in ${modules.join(" ")}; do
  load_module "$m"
done
`;
}

function sysctlSection(): string {
  return `# Kernel settings for pod networking, applied now and at every boot.
write_file /etc/sysctl.d/k8s.conf 0644 <<'EOF'
${SYSCTLS.map(([k, v]) => `${k} = ${v}`).join("\n")}
EOF
for kv in ${SYSCTLS.map(([k, v]) => `${k}=${v}`).join(" ")}; do
  key=\${kv%%=*}
  want=\${kv#*=}
  have=$(sysctl -n "$key" 2>/dev/null) || fail "kernel setting $key does not exist: is br_netfilter loaded?"
  if [ "$have" != "$want" ]; then
    sysctl -q -w "$key=$want" >/dev/null
    note "set $key = $want"
    changed=1
  fi
done
`;
}

const SELINUX_SECTION = `# kubeadm's documented install for rpm systems: SELinux permissive, so containers can read the host paths they mount.
if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = Enforcing ]; then
  setenforce 0
  note "set SELinux to permissive"
  changed=1
fi
if [ -f /etc/selinux/config ] && grep -q '^SELINUX=enforcing' /etc/selinux/config; then
  sed -i 's/^SELINUX=enforcing$/SELINUX=permissive/' /etc/selinux/config
  note "set SELinux to permissive in /etc/selinux/config"
  changed=1
fi
`;

/**
 * apt's functions. `APT_SOURCES` holds the options of every apt-get run of this script: empty, or (with
 * cluster.packageMirrors.distribution) a source list and parts directory of the program's own, so an air-gapped
 * host never asks sources it cannot reach. `apt_source NAME` writes a repository's list (stdin) where the host's
 * own apt reads it and, with a distribution mirror, where this script's runs read it too. `apt_signed_source NAME
 * KEYRING REPO` writes the flat repository REPO's list, signed by the key REPO publishes as Release.key (fetched into
 * KEYRING when the list changed or the key is missing).
 */
const APT_FUNCTIONS = `APT_SOURCES=()
APT_PARTS=""
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    apt-get "\${APT_SOURCES[@]}" -o DPkg::Lock::Timeout=300 update -q
    apt_updated=1
  fi
}
apt_source() {
  local name=$1 content any=0
  content=$(cat)
  write_file "/etc/apt/sources.list.d/$name" 0644 <<<"$content"
  [ "$wrote" = 0 ] || any=1
  if [ -n "$APT_PARTS" ]; then
    write_file "$APT_PARTS/$name" 0644 <<<"$content"
    [ "$wrote" = 0 ] || any=1
  fi
  wrote=$any
  [ "$any" = 0 ] || apt_updated=0
}
apt_signed_source() {
  local name=$1 keyring=$2 repo=$3
  apt_source "$name" <<EOF
deb [signed-by=$keyring] $repo /
EOF
  if [ "$wrote" = 1 ] || [ ! -s "$keyring" ]; then
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL "\${repo}Release.key" | gpg --dearmor --batch --yes -o "$keyring"
    chmod 0644 "$keyring"
    note "added the signing key of $repo"
    apt_updated=0
    changed=1
  fi
}
pkg_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ "\${#missing[@]}" -gt 0 ]; then
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get "\${APT_SOURCES[@]}" -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "\${missing[@]}"
    note "installed \${missing[*]}"
    changed=1
  fi
}
`;

/**
 * cluster.packageMirrors.distribution on an apt host: this script's apt runs read only the program's own list (the
 * mirror at the host's release codename) and parts directory; the host's own sources stay as they are.
 */
function distributionMirrorSection(url: string, os: OperatingSystem): string {
  const components = os === "ubuntu" ? "main universe" : "main";
  return `# The distribution's packages from the mirror in cluster.packageMirrors.distribution, for this program's apt runs
# only: an air-gapped host cannot reach its own sources, which stay as they are.
${shVar("DIST_MIRROR", url)}
codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d "\\"'" | head -n 1)
case $codename in
  "" | *[!a-z0-9.-]*) fail "/etc/os-release names no usable VERSION_CODENAME ('$codename'): cannot tell which release to take from $DIST_MIRROR" ;;
esac
APT_PARTS=/etc/apt/baremetal-k8s/sources.list.d
APT_SOURCES=(-o "Dir::Etc::SourceList=/etc/apt/baremetal-k8s/distribution.list" -o "Dir::Etc::SourceParts=$APT_PARTS")
mkdir -p "$APT_PARTS"
write_file /etc/apt/baremetal-k8s/distribution.list 0644 <<EOF
deb $DIST_MIRROR $codename ${components}
EOF
[ "$wrote" = 0 ] || apt_updated=0
`;
}

const DNF_FUNCTIONS = `pkg_install() {
  local missing=() p
  for p in "$@"; do
    rpm -q "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ "\${#missing[@]}" -gt 0 ]; then
    dnf install -y -q "\${missing[@]}"
    note "installed \${missing[*]}"
    changed=1
  fi
}
`;

/** containerd from the distribution (Fedora, Debian, Ubuntu) or Docker's containerd.io (RHEL ships none). Kept when any containerd is there. */
function containerdInstall(host: HostSpec): string {
  if (host.os === "rhel") {
    return `if ! command -v containerd >/dev/null 2>&1; then
  if [ ! -f /etc/yum.repos.d/docker-ce.repo ]; then
    curl -fsSL https://download.docker.com/linux/rhel/docker-ce.repo -o /etc/yum.repos.d/docker-ce.repo
    note "added Docker's repository for containerd.io (RHEL ships no containerd)"
  fi
  pkg_install containerd.io
fi
`;
  }
  return `if ! command -v containerd >/dev/null 2>&1; then
  pkg_install containerd
fi
`;
}

/** The pkgs.k8s.io repository of this minor for a package family, or the same path under cluster.packageMirrors.kubernetes. */
export function kubernetesRepo(version: string, family: "deb" | "rpm", mirror: string | undefined): string {
  return `${mirror ?? "https://pkgs.k8s.io"}/core:/stable:/${kubernetesMinor(version)}/${family}/`;
}

/**
 * kubelet, kubeadm and kubectl from the pkgs.k8s.io repository of a version's minor (under `$K8S_MIRROR`: pkgs.k8s.io
 * or cluster.packageMirrors.kubernetes), as shell functions of that version: `kube_repo V` points the package manager
 * at V's minor, `kube_install V PKG...` installs V of each, `kube_hold PKG...` keeps ordinary updates off them,
 * `kube_version PKG` prints what is installed. The version is an argument, not rendered text: node preparation and
 * the upgrade steps share them.
 */
const KUBE_PACKAGES_APT = `kube_repo() {
  apt_signed_source kubernetes.list /etc/apt/keyrings/kubernetes-apt-keyring.gpg "$K8S_MIRROR/core:/stable:/v\${1%.*}/deb/"
}
kube_version() { { dpkg-query -W -f='\${Version}' "$1" 2>/dev/null || true; } | sed 's/-.*//'; }
# Every apt-get and apt-mark run reads the whole package cache (0.8-1 s each in the lab, on 2 server cores): one of each.
# --allow-change-held-packages installs over a hold, so there is no unhold before it.
kube_install() {
  local v=$1 p pins=()
  shift
  for p in "$@"; do pins+=("$p=$v-*"); done
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get "\${APT_SOURCES[@]}" -o DPkg::Lock::Timeout=300 install -y -q --allow-downgrades --allow-change-held-packages "\${pins[@]}"
}
kube_hold() {
  local held p missing=()
  held=$(apt-mark showhold)
  for p in "$@"; do
    printf '%s\\n' "$held" | grep -qx "$p" || missing+=("$p")
  done
  if [ "\${#missing[@]}" -gt 0 ]; then
    apt-mark hold "\${missing[@]}" >/dev/null
    note "held \${missing[*]}"
    changed=1
  fi
}
`;

/** The same for dnf: the repository excludes the packages from ordinary transactions (that is the hold); an install lifts the exclude once. */
const KUBE_PACKAGES_DNF = `kube_repo() {
  local repo="$K8S_MIRROR/core:/stable:/v\${1%.*}/rpm/"
  write_file /etc/yum.repos.d/kubernetes.repo 0644 <<EOF
[kubernetes]
name=Kubernetes
baseurl=$repo
enabled=1
gpgcheck=1
gpgkey=\${repo}repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
EOF
}
kube_version() { rpm -q --qf '%{VERSION}' "$1" 2>/dev/null || true; }
kube_install() {
  local v=$1 p pkgs=()
  shift
  for p in "$@"; do pkgs+=("$p-$v"); done
  dnf install -y -q --setopt=disable_excludes=kubernetes "\${pkgs[@]}"
}
kube_hold() { :; }
`;

/**
 * The package functions of this host's family, with the apt/dnf helpers they use (see KUBE_PACKAGES_APT), pointed at
 * the mirrors of cluster.packageMirrors: the Kubernetes base in `$K8S_MIRROR`, and on apt hosts the distribution
 * mirror's own source list for every apt-get run.
 */
export function kubePackageFunctions(host: HostSpec, mirrors: PackageMirrors): string {
  const base = shVar("K8S_MIRROR", mirrors.kubernetes ?? "https://pkgs.k8s.io");
  if (packageFamily(host.os) === "dnf") return `${DNF_FUNCTIONS}\n${base}\n${KUBE_PACKAGES_DNF}`;
  const dist = mirrors.distribution !== undefined ? `\n${distributionMirrorSection(mirrors.distribution, host.os)}` : "";
  return `${APT_FUNCTIONS}${dist}\n${base}\n${KUBE_PACKAGES_APT}`;
}

// K8S_VERSION is installed only where no Kubernetes package is, or on a host that has not joined yet.
const KUBE_PACKAGES_COMMON = `kube_ok=1 kube_installed=""
for p in kubelet kubeadm kubectl; do
  have=$(kube_version "$p")
  [ -z "$have" ] || kube_installed="$kube_installed $p $have"
  [ "$have" = "$K8S_VERSION" ] || kube_ok=0
done
if [ "$kube_ok" = 0 ] && [ -n "$kube_installed" ] && [ -f /etc/kubernetes/kubelet.conf ]; then
  # A cluster node keeps the version it runs: a raised cluster.kubernetesVersion reaches it only through
  # its ordered upgrade step (drain, kubeadm upgrade, uncordon), never by swapping packages here.
  :
elif [ "$kube_ok" = 0 ]; then
  kube_repo "$K8S_VERSION"
  kube_install "$K8S_VERSION" kubelet kubeadm kubectl
  note "installed kubelet, kubeadm and kubectl $K8S_VERSION"
  changed=1
fi
kube_hold kubelet kubeadm kubectl
`;

function verifySection(host: HostSpec, reqs: Requirement[], installs: boolean, crio: boolean): string {
  const fam = packageFamily(host.os);
  const pkgOf = (r: Requirement) => (fam === "dnf" ? r.dnf : r.apt);
  const entries = [
    // CRI-O's packages bring their own OCI runtimes (crun, runc) under /usr/libexec/crio.
    ...(crio
      ? [["crio", "cri-o"]]
      : [
          ["containerd", "containerd"],
          ["runc", "runc"],
        ]),
    ...KUBE_COMMANDS.map((c) => [c, c]),
    ...reqs.map((r) => [r.command, pkgOf(r)]),
  ];
  const seen = new Set<string>();
  const unique = entries.filter(([c]) => (seen.has(c) ? false : (seen.add(c), true)));
  const remedy = installs
    ? "the installation above did not provide them: check the host's package sources"
    : host.packagesPreinstalled
      ? "this host has packagesPreinstalled: true, so nothing is installed on it: bake them into its image, or set packagesPreinstalled: false"
      : "this host has an immutable root, where packages cannot be installed: bake them into its image (sysext, rpm-ostree layer) and set packagesPreinstalled: true";
  return `# Everything the next steps run must be there now.
lacking=""
${unique.map(([c, p]) => `command -v ${c} >/dev/null 2>&1 || lacking="$lacking ${c}${p !== c && fam !== "none" ? `(${p})` : ""}"`).join("\n")}
if [ -n "$lacking" ]; then
  fail ${shQuote(`host ${host.name} lacks these commands:`)}"$lacking"${shQuote(`; ${remedy}`)}
fi
`;
}

/**
 * The pause tag kubeadm expects as the container runtime's sandbox image, by Kubernetes minor: kubeadm's
 * `constants.PauseVersion` of that release, which its preflight compares with the runtime's and warns about.
 * Read from `kubeadm config images list` of every patch release 1.31.0-1.36.3 (minikube's
 * constants_kubeadm_images.go): the same within each minor. One table; a newer minor gets the newest tag known.
 */
export const PAUSE_TAG_BY_MINOR: Readonly<Record<number, string>> = {
  31: "3.10",
  32: "3.10",
  33: "3.10",
  34: "3.10.1",
  35: "3.10.1",
  36: "3.10.2",
};

/**
 * `sandbox_image_for VERSION`: PAUSE_TAG_BY_MINOR as a shell function, so a script picks the pause image of
 * the Kubernetes the host runs (on a cluster node that is not the configured version until its upgrade step).
 */
export function renderSandboxImageFunction(): string {
  const minors = Object.keys(PAUSE_TAG_BY_MINOR)
    .map(Number)
    .sort((a, b) => a - b);
  const byTag = new Map<string, number[]>();
  for (const m of minors) byTag.set(PAUSE_TAG_BY_MINOR[m], [...(byTag.get(PAUSE_TAG_BY_MINOR[m]) ?? []), m]);
  const first = PAUSE_TAG_BY_MINOR[minors[0]];
  const last = PAUSE_TAG_BY_MINOR[minors[minors.length - 1]];
  return `sandbox_image_for() {
  local minor=\${1#*.} tag
  minor=\${minor%%.*}
  case $minor in
${[...byTag].map(([tag, ms]) => `    ${ms.join(" | ")}) tag=${tag} ;;`).join("\n")}
    *) if [ "$minor" -lt ${minors[0]} ]; then tag=${first}; else tag=${last}; fi ;;
  esac
  printf 'registry.k8s.io/pause:%s\\n' "$tag"
}
`;
}

/** Node preparation's sandbox image: that of the kubelet installed here, else of K8S_VERSION. */
const NODE_SANDBOX_IMAGE = `# The sandbox image of the Kubernetes this host runs: a cluster node keeps its version until its upgrade step.
node_version=$(kubelet --version 2>/dev/null | sed -n 's/^Kubernetes v//p') || true
SANDBOX_IMAGE=$(sandbox_image_for "\${node_version:-$K8S_VERSION}")
`;

/** `registry.k8s.io/pause:<tag>` for a Kubernetes version `x.y.z`, per PAUSE_TAG_BY_MINOR. */
export function sandboxImage(version: string): string {
  const minor = Number(kubernetesMinor(version).split(".")[1]);
  const known = Object.keys(PAUSE_TAG_BY_MINOR)
    .map(Number)
    .sort((a, b) => a - b);
  const m = known.includes(minor) ? minor : minor > known[known.length - 1] ? known[known.length - 1] : known[0];
  return `registry.k8s.io/pause:${PAUSE_TAG_BY_MINOR[m]}`;
}

export const CONTAINERD_CONFIG_SECTION = `# containerd with the systemd cgroup driver, which kubeadm configures the kubelet for, and the sandbox
# (pause) image kubeadm expects for this Kubernetes version (kubeadm warns in preflight otherwise).
# containerd 1.x reads config version 2, 2.x version 3; the tables differ. SystemdCgroup = true is
# written explicitly (2.0/2.1 defaults omit the line).
# toml_has FILE TABLE KEY VALUE: the table sets KEY to VALUE (a TOML value as written: true, "text"; 'text' counts as "text").
toml_has() {
  awk -v hdr="$2" -v key="$3" -v val="$4" -v q="'" '
    /^[[:space:]]*\\[/ { line = $0; gsub(/^[[:space:]]+|[[:space:]]+$/, "", line); insec = (line == hdr); next }
    insec {
      line = $0; gsub(/^[[:space:]]+|[[:space:]]+$/, "", line)
      n = index(line, "=")
      if (n == 0) next
      k = substr(line, 1, n - 1); v = substr(line, n + 1)
      gsub(/[[:space:]]+$/, "", k); gsub(/^[[:space:]]+/, "", v)
      if (length(v) >= 2 && substr(v, 1, 1) == q && substr(v, length(v), 1) == q) v = "\\"" substr(v, 2, length(v) - 2) "\\""
      if (k == key && v == val) found = 1
    }
    END { exit found ? 0 : 1 }' "$1"
}
# toml_set TABLE KEY VALUE (stdin to stdout): KEY = VALUE first in the table, other KEY lines of it dropped; the table appended when missing.
toml_set() {
  awk -v hdr="$1" -v key="$2" -v val="$3" '
    function keyof(s,  n) { n = index(s, "="); if (n == 0) return ""; s = substr(s, 1, n - 1); gsub(/^[[:space:]]+|[[:space:]]+$/, "", s); return s }
    /^[[:space:]]*\\[/ {
      line = $0; gsub(/^[[:space:]]+|[[:space:]]+$/, "", line); insec = (line == hdr); print
      if (insec) { match($0, /^[[:space:]]*/); print substr($0, 1, RLENGTH) "  " key " = " val; seen = 1 }
      next
    }
    insec && keyof($0) == key { next }
    { print }
    END { if (!seen) { print ""; print hdr; print "  " key " = " val } }'
}
containerd_major=$(containerd --version | awk '{ print $3 }' | sed -E 's/^v//; s/\\..*//')
case $containerd_major in
  1)
    cfg_version=2
    runc_options='[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'
    sandbox_table='[plugins."io.containerd.grpc.v1.cri"]'
    sandbox_key=sandbox_image
    ;;
  2)
    cfg_version=3
    runc_options="[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
    sandbox_table="[plugins.'io.containerd.cri.v1.images'.pinned_images]"
    sandbox_key=sandbox
    ;;
  *) fail "containerd $(containerd --version) is neither 1.x nor 2.x: use containerd 1.7 or 2.x" ;;
esac
printf -v sandbox_value '"%s"' "$SANDBOX_IMAGE"
containerd_config_ok() {
  [ -f "$1" ] && grep -Eq "^version[[:space:]]*=[[:space:]]*$cfg_version([[:space:]]|$)" "$1" &&
    toml_has "$1" "$runc_options" SystemdCgroup true && toml_has "$1" "$sandbox_table" "$sandbox_key" "$sandbox_value"
}
cfg=/etc/containerd/config.toml
containerd_restart=0
if ! containerd_config_ok "$cfg"; then
  tmp=$(mktemp)
  containerd config default | toml_set "$runc_options" SystemdCgroup true | toml_set "$sandbox_table" "$sandbox_key" "$sandbox_value" >"$tmp"
  grep -Eq "^version[[:space:]]*=[[:space:]]*$cfg_version([[:space:]]|$)" "$tmp" ||
    fail "containerd config default did not write 'version = $cfg_version' as containerd $containerd_major.x should"
  containerd_config_ok "$tmp" || fail "could not set SystemdCgroup = true in $runc_options and $sandbox_key = $sandbox_value in $sandbox_table"
  if [ -f "$cfg" ] && [ ! -f "$cfg.bak-baremetal-k8s" ]; then
    cp -p "$cfg" "$cfg.bak-baremetal-k8s"
  fi
  install -D -m 0644 "$tmp" "$cfg"
  rm -f "$tmp"
  note "wrote $cfg (config version $cfg_version, SystemdCgroup = true, sandbox image $SANDBOX_IMAGE)"
  containerd_restart=1
  changed=1
fi
${runtimeServices("containerd", "containerd_restart")}`;

function immutableSection(): string {
  return `# Immutable root: the CNI installer must write these directories; where they are read-only,
# bind-mount a directory on /var over them, in /etc/fstab so it survives reboots.
ensure_writable() {
  local dir=$1 backing=$2 line
  line="$backing $dir none bind,x-systemd.requires-mounts-for=/var 0 0"
  if grep -qxF "$line" /etc/fstab 2>/dev/null && mountpoint -q "$dir"; then
    return 0
  fi
  if ! grep -qxF "$line" /etc/fstab 2>/dev/null && mkdir -p "$dir" 2>/dev/null && touch "$dir/.baremetal-k8s-probe" 2>/dev/null; then
    rm -f "$dir/.baremetal-k8s-probe"
    return 0
  fi
  [ -d "$dir" ] || fail "$dir does not exist and cannot be created on this read-only root: create it in the image"
  mkdir -p "$backing"
  if [ -z "$(ls -A "$backing")" ]; then
    cp -a "$dir/." "$backing/"
  fi
  if ! grep -qxF "$line" /etc/fstab; then
    printf '# baremetal-k8s: writable %s on an immutable root\\n%s\\n' "$dir" "$line" >>/etc/fstab
    note "added a bind mount of $backing at $dir to /etc/fstab"
  fi
  mountpoint -q "$dir" || mount --bind "$backing" "$dir"
  note "$dir is now writable, backed by $backing"
  changed=1
}
${IMMUTABLE_WRITABLE_DIRS.map(([d, b]) => `ensure_writable ${d} ${b}`).join("\n")}
`;
}

function volumePluginSection(host: HostSpec): string {
  if (!host.immutableRoot) return "";
  return `# The kubelet's volume-plugin directory on /var (the default under /usr is read-only here).
if [ ! -d ${volumePluginDir(host)} ]; then
  mkdir -p ${volumePluginDir(host)}
  note "created ${volumePluginDir(host)}"
  changed=1
fi
`;
}

function cephSection(): string {
  return `# Rook-Ceph: the rbd module where the kernel has it (Rook's CSI loads it too; here it fails early and visibly).
if module_present rbd || { command -v modprobe >/dev/null 2>&1 && modprobe rbd 2>/dev/null; }; then
  write_file /etc/modules-load.d/rbd.conf 0644 <<'EOF'
rbd
EOF
else
  note "kernel module rbd is not available: Ceph block volumes (RBD) will not attach on this host"
fi
`;
}

/**
 * Node preparation for kubeadm on one host, as one idempotent bash script
 * (one SSH session): swap off, modules and sysctls, packages (or their
 * verification), containerd with the systemd cgroup driver, writable paths on
 * immutable roots, and the node prerequisites of the storage it carries.
 */
export function renderNodePrep(host: HostSpec, spec: ClusterSpec): string {
  const fam = packageFamily(host.os);
  const installs = installsPackages(host);
  const reqs = requirements(host, spec);
  const longhorn = needsLonghornPrereqs(host, spec);
  const rbd = needsRbd(host, spec);
  const version = spec.cluster.kubernetesVersion;
  const mirrors = spec.cluster.packageMirrors;
  const crio = containerRuntimeOf(spec) === "crio";
  const parts: string[] = [
    // No config text in comments: the host's name, OS and version reach the script only as quoted values.
    scriptHeader(
      `node preparation (${installs ? `installs packages with ${fam}` : "verifies the packages the image brings"}${host.immutableRoot ? ", immutable root" : ""})`,
      host.name,
    ),
    TRACK_CHANGES,
    shVar("K8S_VERSION", version),
    WRITE_FILE,
    MODULE_FUNCTIONS,
    SWAP_SECTION,
    modulesSection(kernelModules(host, spec)),
    sysctlSection(),
  ];
  if (fam === "dnf") parts.push(SELINUX_SECTION);
  if (installs) {
    const pkgs = uniq([
      ...(fam === "apt" ? ["ca-certificates", "curl", "gpg"] : ["ca-certificates", "curl"]),
      ...reqs.map((r) => (fam === "apt" ? r.apt : r.dnf)),
    ]);
    parts.push(
      kubePackageFunctions(host, mirrors),
      `# Packages from the distribution.\npkg_install ${pkgs.join(" ")}\n`,
      crio
        ? fam === "apt"
          ? crioInstallApt(crioRepo(kubernetesMinor(version), "deb", mirrors.kubernetes))
          : crioInstallDnf(crioRepo(kubernetesMinor(version), "rpm", mirrors.kubernetes))
        : containerdInstall(host),
      KUBE_PACKAGES_COMMON,
    );
  } else {
    parts.push(
      `note ${shQuote(host.packagesPreinstalled ? "packagesPreinstalled: installing nothing, verifying what the image brings" : "immutable root: installing nothing, verifying what the image brings")}\n`,
    );
  }
  parts.push(verifySection(host, reqs, installs, crio));
  if (!installs) {
    parts.push(`kubelet_version=$(kubelet --version 2>/dev/null | sed -n 's/^Kubernetes v//p')
if [ -n "$kubelet_version" ] && [ "$kubelet_version" != "$K8S_VERSION" ]; then
  note "kubelet $kubelet_version is baked into this image while cluster.kubernetesVersion is $K8S_VERSION: a kubelet may lag the control plane by up to three minors but never lead it; bake $K8S_VERSION to match"
fi
`);
  }
  parts.push(renderSandboxImageFunction(), NODE_SANDBOX_IMAGE, crio ? CRIO_CONFIG_SECTION : CONTAINERD_CONFIG_SECTION);
  if (host.immutableRoot) parts.push(immutableSection(), volumePluginSection(host));
  if (longhorn) parts.push(renderMultipathSection());
  if (rbd) parts.push(cephSection());
  parts.push(scriptFooter("node preparation"));
  return parts.filter((p) => p !== "").join("\n");
}

/** The node-prep step's delete: packages and settings stay (other software may rely on them); it says so. */
export function renderNodePrepDelete(host: HostSpec): string {
  return `${scriptHeader("node preparation: removal", host.name)}
note "node preparation is left in place (packages, containerd config, kernel settings): nothing of it holds data, and other software may rely on it"
`;
}
