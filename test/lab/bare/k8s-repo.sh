#!/usr/bin/env bash
# k8s-repo.sh - a local Kubernetes package repository laid out like https://pkgs.k8s.io, with real .deb
# packages built from the real binaries of `npm run -s tools` (kubeadm, kubelet, kubectl), crictl built
# from sigs.k8s.io/cri-tools, and kubernetes-cni made of Debian's containernetworking-plugins.
#
#   k8s-repo.sh VERSION TOOLS_BIN   prints BASE: BASE/core:/stable:/vMAJOR.MINOR/deb/ is the flat repository
#                                   (Packages, Release, Release.gpg, InRelease, Release.key, amd64/*.deb)
#
# Cached under ${BMK8S_TOOLS_CACHE}/lab-k8s-repo/vVERSION-KEY/ (KEY: this script, the binaries' paths, sizes and times).
# The packages follow the upstream packaging (kubernetes/release, cmd/krel/templates/latest) for 1.33:
# kubelet ships /usr/lib/systemd/system/kubelet.service and /etc/default/kubelet, depends on kubernetes-cni,
# mount and util-linux and recommends iptables; kubeadm ships the kubelet drop-in 10-kubeadm.conf and
# depends on nothing (upstream dropped its dependencies in 1.32); kubectl depends on nothing. The unit
# files are written here, to behave like the upstream ones.
# Differences from pkgs.k8s.io, each forced by what this machine can reach:
# - cri-tools is crictl v1.34.0 (pkgs.k8s.io's v1.33 repository has 1.33.0; the Go module proxy does not
#   serve sigs.k8s.io/cri-tools v1.33.0). Without Go or the proxy, cri-tools is a stand-in (a crictl that
#   says so), labelled in its Description.
# - kubernetes-cni is Debian's containernetworking-plugins (1.1.1) linked into /opt/cni/bin, versioned as
#   such, so kubelet depends on kubernetes-cni (>= 1.1.1) where upstream says (>= 1.2.0).
set -euo pipefail
SELF=$(readlink -f "$0")
# shellcheck source=repo-lib.sh source-path=SCRIPTDIR
. "$(dirname "$SELF")/repo-lib.sh"

VERSION=${1:?usage: k8s-repo.sh VERSION TOOLS_BIN}
BIN=${2:?usage: k8s-repo.sh VERSION TOOLS_BIN}
[[ $VERSION =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || die "VERSION must be x.y.z, got '$VERSION'"
MINOR=v${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
DEBVER=$VERSION-1.1
CRICTL_VERSION=1.34.0
for b in kubeadm kubelet kubectl; do [[ -x $BIN/$b ]] || die "$BIN/$b is missing: npm run -s tools builds it"; done

# crictl: built once per version from the Go module proxy, with the machine's Go; a stand-in when that fails
CRICTL=$BARE_CACHE/lab-k8s-repo/crictl-v$CRICTL_VERSION/crictl
crictl_desc="CLI tool for CRI-compatible container runtimes (crictl v$CRICTL_VERSION, built from sigs.k8s.io/cri-tools)"
if [[ ! -x $CRICTL ]]; then
  mkdir -p "$(dirname "$CRICTL")"
  exec 8> "$(dirname "$CRICTL")/.lock"; flock 8
  if [[ ! -x $CRICTL ]] && ! { command -v go > /dev/null && GOTOOLCHAIN=local GOBIN=$(dirname "$CRICTL") GOFLAGS=-buildvcs=false \
    go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=v$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@v$CRICTL_VERSION" >&2; }; then
    log "could not build crictl v$CRICTL_VERSION from the Go module proxy: cri-tools is a stand-in"
    CRICTL=$BARE_CACHE/lab-k8s-repo/crictl-standin/crictl
    mkdir -p "$(dirname "$CRICTL")"
    printf '#!/bin/sh\necho "crictl stand-in of the baremetal-k8s lab (crictl could not be built here)" >&2\nexit 1\n' > "$CRICTL"
    chmod 755 "$CRICTL"
  fi
  exec 8>&-
fi
[[ $CRICTL != */crictl-standin/* ]] ||
  crictl_desc="STAND-IN of the baremetal-k8s lab: a crictl that only says it is one (crictl could not be built here)"

KEY=$({ cat "$SELF" "$(dirname "$SELF")/repo-lib.sh"; stat -L -c '%n %s %Y' "$BIN/kubeadm" "$BIN/kubelet" "$BIN/kubectl" "$CRICTL"; } | sha256sum | cut -c1-16)
OUT=$BARE_CACHE/lab-k8s-repo/v$VERSION-$KEY
REPO=$OUT/core:/stable:/$MINOR/deb
if [[ -f $OUT/.complete ]]; then echo "$OUT"; exit 0; fi
mkdir -p "$BARE_CACHE/lab-k8s-repo"
exec 9> "$BARE_CACHE/lab-k8s-repo/.lock"; flock 9
if [[ -f $OUT/.complete ]]; then echo "$OUT"; exit 0; fi
t0=$SECONDS
[[ $("$BIN/kubeadm" version -o short) == "v$VERSION" ]] || die "$BIN/kubeadm is not v$VERSION"
[[ $("$BIN/kubelet" --version) == "Kubernetes v$VERSION" ]] || die "$BIN/kubelet is not v$VERSION"
[[ $("$BIN/kubectl" version --client) == *"Client Version: v$VERSION"* ]] || die "$BIN/kubectl is not v$VERSION"
rm -rf "$OUT"; mkdir -p "$REPO/amd64"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# deb NAME VERSION ROOT CONTROL_EXTRA DESCRIPTION: ROOT/DEBIAN/control and the package, into the repository
deb() {
  local name=$1 ver=$2 root=$3 extra=$4 desc=$5 size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  mkdir -p "$root/DEBIAN"
  {
    echo "Package: $name"
    echo "Version: $ver"
    echo "Architecture: amd64"
    echo "Maintainer: baremetal-k8s lab <lab@baremetal-k8s.invalid>"
    echo "Installed-Size: $size"
    [[ -z $extra ]] || printf '%s\n' "$extra"
    echo "Section: admin"
    echo "Priority: optional"
    echo "Homepage: https://kubernetes.io"
    echo "Description: $desc"
    echo " Built by the baremetal-k8s lab (test/lab/bare/k8s-repo.sh) to stand where pkgs.k8s.io's package does."
  } > "$root/DEBIAN/control"
  dpkg-deb --root-owner-group -Zgzip -z1 --build "$root" "$REPO/amd64/${name}_${ver}_amd64.deb" > /dev/null
}

# kubectl
install -D -m 755 "$BIN/kubectl" "$work/kubectl/usr/bin/kubectl"
deb kubectl "$DEBVER" "$work/kubectl" "" "Command-line utility for interacting with a Kubernetes cluster"

# kubeadm: the binary and the kubelet drop-in that runs the kubelet with what kubeadm writes
install -D -m 755 "$BIN/kubeadm" "$work/kubeadm/usr/bin/kubeadm"
install -d "$work/kubeadm/usr/lib/systemd/system/kubelet.service.d"
cat > "$work/kubeadm/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'UNIT'
# The kubelet as kubeadm runs it: the kubeconfigs and the config file kubeadm init/join write, the flags
# kubeadm computes at runtime (kubeadm-flags.env), then the user's own (KUBELET_EXTRA_ARGS in /etc/default/kubelet).
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
UNIT
deb kubeadm "$DEBVER" "$work/kubeadm" "" "Command-line utility for administering a Kubernetes cluster"

# kubelet: the binary, its unit (restarting forever: it crash-loops until kubeadm gives it a config), its
# defaults file, the directories it needs; enabled and started on install where systemd runs
K=$work/kubelet
install -D -m 755 "$BIN/kubelet" "$K/usr/bin/kubelet"
install -d "$K/usr/lib/systemd/system" "$K/etc/default" "$K/var/lib/kubelet" "$K/etc/kubernetes/manifests"
touch "$K/var/lib/kubelet/.kubelet-keep" "$K/etc/kubernetes/manifests/.kubelet-keep"
cat > "$K/usr/lib/systemd/system/kubelet.service" <<'UNIT'
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
UNIT
chmod 644 "$K/usr/lib/systemd/system/kubelet.service"
echo "KUBELET_EXTRA_ARGS=" > "$K/etc/default/kubelet"
mkdir -p "$K/DEBIAN"; echo /etc/default/kubelet > "$K/DEBIAN/conffiles"
cat > "$K/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  deb-systemd-helper unmask kubelet.service >/dev/null || true
  if deb-systemd-helper --quiet was-enabled kubelet.service; then
    deb-systemd-helper enable kubelet.service >/dev/null || true
  else
    deb-systemd-helper update-state kubelet.service >/dev/null || true
    deb-systemd-helper enable kubelet.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    deb-systemd-invoke restart kubelet.service >/dev/null || true
  fi
fi
exit 0
SH
cat > "$K/DEBIAN/prerm" <<'SH'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  deb-systemd-invoke stop kubelet.service >/dev/null || true
fi
exit 0
SH
cat > "$K/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
if [ "$1" = remove ] && [ -x /usr/bin/deb-systemd-helper ]; then deb-systemd-helper mask kubelet.service >/dev/null || true; fi
if [ "$1" = purge ] && [ -x /usr/bin/deb-systemd-helper ]; then
  deb-systemd-helper purge kubelet.service >/dev/null || true
  deb-systemd-helper unmask kubelet.service >/dev/null || true
fi
exit 0
SH
chmod 755 "$K/DEBIAN/postinst" "$K/DEBIAN/prerm" "$K/DEBIAN/postrm"
deb kubelet "$DEBVER" "$K" "Depends: kubernetes-cni (>= 1.1.1), mount, util-linux
Recommends: iptables (>= 1.8.4)" "Node agent for Kubernetes clusters"

# cri-tools
install -D -m 755 "$CRICTL" "$work/cri-tools/usr/bin/crictl"
deb cri-tools "$CRICTL_VERSION-1.1" "$work/cri-tools" "" "$crictl_desc"

# kubernetes-cni: the kubelet and CNI configs look in /opt/cni/bin; Debian's plugins live in /usr/lib/cni
(cd "$work" && apt-get -o APT::Sandbox::User=root download -q containernetworking-plugins > /dev/null) || die "apt-get download containernetworking-plugins failed"
cni_deb=$(ls "$work"/containernetworking-plugins_*.deb)
cni_ver=$(dpkg-deb -f "$cni_deb" Version); cni_ver=${cni_ver%%+*}
install -d "$work/kubernetes-cni/opt/cni/bin"
for p in $(dpkg-deb -c "$cni_deb" | awk '$6 ~ /^\.\/usr\/lib\/cni\/./ {print $6}'); do ln -s "${p#.}" "$work/kubernetes-cni/opt/cni/bin/${p##*/}"; done
[[ -e $work/kubernetes-cni/opt/cni/bin/bridge || -L $work/kubernetes-cni/opt/cni/bin/bridge ]] || die "no bridge plugin in $cni_deb"
deb kubernetes-cni "$cni_ver-1.1" "$work/kubernetes-cni" "Depends: containernetworking-plugins" \
  "Binaries required to provision kubernetes container networking (Debian's containernetworking-plugins in /opt/cni/bin)"

# the index, signed, and the key as pkgs.k8s.io serves it
(cd "$REPO" && apt-ftparchive packages amd64 > Packages && gzip -9k Packages)
sign_release "$REPO" kubernetes -o APT::FTPArchive::Release::Origin=baremetal-k8s-lab \
  -o APT::FTPArchive::Release::Label=baremetal-k8s-lab -o APT::FTPArchive::Release::Architectures=amd64
cp "$(lab_key kubernetes)/public.asc" "$REPO/Release.key"
touch "$OUT/.complete"
find "$BARE_CACHE/lab-k8s-repo" -mindepth 1 -maxdepth 1 -name "v$VERSION-*" ! -name "v$VERSION-$KEY" -exec rm -rf {} +   # older builds of this version
log "built $REPO in $((SECONDS - t0)) s: $(cd "$REPO/amd64" && echo *.deb)"
echo "$OUT"
