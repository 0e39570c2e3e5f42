#!/usr/bin/env bash
# debian-mirror.sh - the lab's local Debian mirror: the .deb files of every package the product's node
# preparation installs on Debian 12, plus the dependencies a bare host (rootfs.sh) lacks, and nothing
# else, as a signed repository laid out like a Debian mirror (dists/bookworm/main/binary-amd64, pool/).
#
#   debian-mirror.sh K8S_VERSION TOOLS_BIN   prints DIR: DIR/debian is the mirror's root,
#                                            DIR/lab-debian-mirror.gpg the key its Release is signed with
#
# The set is what apt itself chooses: in a throwaway copy of the bare root, with this machine's Debian
# sources and the lab's Kubernetes repository (k8s-repo.sh), `apt-get install --download-only` of the
# distribution packages as node preparation asks for them (--no-install-recommends), then of kubelet,
# kubeadm and kubectl as node preparation asks for them (recommends included: kubelet recommends iptables).
# The list below is components/host/render-node-prep.ts's: ca-certificates curl gpg always, containerd
# (runc comes with it), keepalived and curl for a keepalived control plane, e2fsprogs/xfsprogs/mdadm for
# disks, open-iscsi nfs-common cryptsetup dmsetup for Longhorn, lvm2 for Ceph. A package the product
# starts installing that is not here fails the bare-host test with apt's "Unable to locate package".
# Cached under ${BMK8S_TOOLS_CACHE}/lab-debian-mirror/KEY/ (KEY: this script, the root, the Kubernetes
# repository, the machine's apt sources).
set -euo pipefail
SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
# shellcheck source=repo-lib.sh source-path=SCRIPTDIR
. "$HERE/repo-lib.sh"

DIST_PKGS="ca-certificates curl gpg containerd keepalived e2fsprogs xfsprogs mdadm open-iscsi nfs-common cryptsetup dmsetup lvm2"
KUBE_PKGS="kubelet kubeadm kubectl"
SUITE=bookworm

VERSION=${1:?usage: debian-mirror.sh K8S_VERSION TOOLS_BIN}
BIN=${2:?usage: debian-mirror.sh K8S_VERSION TOOLS_BIN}
ROOTFS=$("$HERE/rootfs.sh")
K8S=$("$HERE/k8s-repo.sh" "$VERSION" "$BIN")
MINOR=$(cd "$K8S/core:/stable:" && ls -d v*)
sources=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2> /dev/null || true)
KEY=$({ cat "$SELF" "$HERE/repo-lib.sh"; echo "$ROOTFS $K8S $DIST_PKGS $KUBE_PKGS"; echo "$sources"; } | sha256sum | cut -c1-16)
OUT=$BARE_CACHE/lab-debian-mirror/$KEY
if [[ -f $OUT/.complete ]]; then echo "$OUT"; exit 0; fi
mkdir -p "$BARE_CACHE/lab-debian-mirror"
exec 9> "$BARE_CACHE/lab-debian-mirror/.lock"; flock 9
if [[ -f $OUT/.complete ]]; then echo "$OUT"; exit 0; fi
t0=$SECONDS
rm -rf "$OUT"; mkdir -p "$OUT"
work=$(mktemp -d /var/tmp/bmk8s-debian-mirror.XXXXXX); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/upper" "$work/work" "$work/root"

# The copy of the bare root: an overlay in a mount namespace of its own, with this machine's sources, its
# resolver, and the Kubernetes repository as a file: source.
# shellcheck disable=SC2016  # expanded by the inner bash
unshare --mount --propagation private bash -euo pipefail -c '
  work=$1 rootfs=$2 k8s=$3 minor=$4 dist=$5 kube=$6
  r=$work/root
  mount -t overlay bmk8s-mirror -o "lowerdir=$rootfs,upperdir=$work/upper,workdir=$work/work" "$r"
  mount --rbind /dev "$r/dev"; mount -t proc proc "$r/proc"
  mkdir -p "$r/k8s"; mount --bind "$k8s" "$r/k8s"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  [ ! -f /etc/apt/sources.list ] || cp /etc/apt/sources.list "$r/etc/apt/sources.list"
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ ! -f "$f" ] || cp "$f" "$r/etc/apt/sources.list.d/"; done
  echo "deb [trusted=yes] file:/k8s/core:/stable:/$minor/deb/ /" > "$r/etc/apt/sources.list.d/lab-kubernetes.list"
  chroot "$r" apt-get update -q >&2
  # shellcheck disable=SC2086
  chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only --no-install-recommends $dist >&2
  # shellcheck disable=SC2086
  chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only $kube >&2
' _ "$work" "$ROOTFS" "$K8S" "$MINOR" "$DIST_PKGS" "$KUBE_PKGS" || die "apt-get --download-only in a copy of the bare root failed"

# the mirror: the Debian packages apt fetched (the Kubernetes ones stay in their own repository)
D=$OUT/debian
mkdir -p "$D/pool/main" "$D/dists/$SUITE/main/binary-amd64"
n=0
for f in "$work"/upper/var/cache/apt/archives/*.deb; do
  [[ -e $f ]] || continue
  # named as in Debian's pool (apt's cache names an epoch's colon %3a)
  IFS=' ' read -r p v a <<< "$(dpkg-deb -f "$f" Package Version Architecture | awk -F': ' '{printf "%s ", $2}')"
  cp "$f" "$D/pool/main/${p}_${v#*:}_${a}.deb"; n=$((n + 1))
done
(( n > 0 )) || die "apt downloaded nothing"
(cd "$D" && apt-ftparchive packages pool/main > "dists/$SUITE/main/binary-amd64/Packages")
gzip -9k "$D/dists/$SUITE/main/binary-amd64/Packages"
sign_release "$D/dists/$SUITE" debian -o APT::FTPArchive::Release::Origin=Debian \
  -o APT::FTPArchive::Release::Label="baremetal-k8s lab mirror" -o APT::FTPArchive::Release::Suite=$SUITE \
  -o APT::FTPArchive::Release::Codename=$SUITE -o APT::FTPArchive::Release::Architectures=amd64 \
  -o APT::FTPArchive::Release::Components=main
cp "$(lab_key debian)/public.gpg" "$OUT/lab-debian-mirror.gpg"
(cd "$D/pool/main" && ls) > "$OUT/packages.txt"
touch "$OUT/.complete"
find "$BARE_CACHE/lab-debian-mirror" -mindepth 1 -maxdepth 1 ! -name "$KEY" ! -name .lock -exec rm -rf {} +   # older builds
log "built $D in $((SECONDS - t0)) s: $n packages ($(du -sh "$D" | cut -f1))"
echo "$OUT"
