#!/usr/bin/env bash
# rootfs.sh - the root file system of a bare lab host: Debian 12 as the installer leaves a server with only
# the "SSH server" task (no "standard system utilities"): debootstrap's default variant (every package of
# Priority required and important: apt, systemd, systemd-sysv, kmod, iproute2, nftables, procps, ...) plus
# openssh-server and dbus. None of what the product's node preparation installs (containerd, runc,
# keepalived, curl, gpg, ca-certificates, xfsprogs, mdadm, open-iscsi, nfs-common, cryptsetup, lvm2, the
# Kubernetes packages) is in it: a test checks that.
#
#   rootfs.sh            prints the directory of the unpacked root (building and caching it when missing)
#
# Cached under ${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}/lab-rootfs/, keyed by a hash of this
# script and the mirror: bookworm-KEY.tar (the debootstrap result) and bookworm-KEY/ (that tar unpacked,
# the read-only lower layer of every bare host). A warm run prints the directory and does nothing else.
# Environment: LAB_DEBIAN_MIRROR (default http://deb.debian.org/debian, the machine's own source).
set -euo pipefail

SELF=$(readlink -f "$0")
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
INCLUDE=openssh-server,dbus
CACHE=${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}/lab-rootfs
KEY=$({ cat "$SELF"; echo "$MIRROR $SUITE $INCLUDE $(dpkg --print-architecture)"; } | sha256sum | cut -c1-16)
TAR=$CACHE/$SUITE-$KEY.tar
DIR=$CACHE/$SUITE-$KEY

log() { printf '[%(%T)T] rootfs: %s\n' -1 "$*" >&2; }

if [[ -f $DIR/.complete ]]; then echo "$DIR"; exit 0; fi
command -v debootstrap > /dev/null || { log "debootstrap is missing: apt-get install debootstrap (.ci/run installs it)"; exit 1; }
mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"; flock 9                       # two labs starting at once build it once
if [[ -f $DIR/.complete ]]; then echo "$DIR"; exit 0; fi

if [[ ! -f $TAR ]]; then
  t0=$SECONDS
  tmp=$CACHE/.build-$KEY; rm -rf "$tmp"
  log "debootstrap $SUITE (default variant + $INCLUDE) from $MIRROR into $tmp"
  debootstrap --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" > "$CACHE/.build-$KEY.log" 2>&1 ||
    { log "debootstrap failed, see $CACHE/.build-$KEY.log"; tail -n 20 "$CACHE/.build-$KEY.log" >&2; exit 1; }
  # What makes one installed machine differ from the next is made per host (lab.sh of bare hosts): host
  # keys, machine id, hostname, and the apt sources (an OS installed from a local mirror points at it).
  rm -f "$tmp"/etc/ssh/ssh_host_* "$tmp/etc/apt/sources.list" "$tmp"/var/cache/apt/archives/*.deb
  rm -rf "$tmp"/var/lib/apt/lists/*
  : > "$tmp/etc/machine-id"; rm -f "$tmp/var/lib/dbus/machine-id"
  echo localhost > "$tmp/etc/hostname"
  tar --numeric-owner --xattrs --acls -C "$tmp" -cf "$TAR.part" . && mv "$TAR.part" "$TAR"
  rm -rf "$tmp" "$CACHE/.build-$KEY.log"
  log "built $TAR in $((SECONDS - t0)) s ($(du -h "$TAR" | cut -f1))"
fi
rm -rf "$DIR"; mkdir -p "$DIR"
tar --numeric-owner --xattrs --acls -C "$DIR" -xf "$TAR"
touch "$DIR/.complete"
echo "$DIR"
