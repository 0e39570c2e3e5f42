/**
 * The one way a host gets etcd's command-line tools: kubeadm runs etcd as a static pod, so a control plane has
 * no etcd, etcdctl or etcdutl of its own. They are copied out of the very etcd image the control planes run
 * (content-addressed by containerd), never downloaded unverified. Used by the witness member (its first
 * install), the upgrade (the witness follows a new etcd) and the etcd backup (etcdctl and etcdutl).
 */

/**
 * Bash: `etcd_from_image IMAGE VERSION DIR` puts etcd, etcdctl and, when the image has it (etcd 3.5 and
 * later), etcdutl of etcd VERSION into DIR, moved into place whole (an interrupted copy never passes for an
 * installed etcd). Pulls the image when containerd lacks it (crictl pulls as the kubelet does: registry
 * mirrors and credentials of containerd's CRI configuration). Needs the caller's `fail MESSAGE`; leaves no
 * mount and no temporary file behind, also when it fails.
 */
export const ETCD_FROM_IMAGE = String.raw`etcd_from_image() {
  local image=$1 version=$2 dir=$3 tmp images got tool
  command -v ctr >/dev/null || fail "needs containerd's ctr to take etcd $version from $image: node preparation installs containerd"
  tmp=$(mktemp -d)
  # Listed first, then searched: with pipefail, grep -q leaving early would make ctr die of SIGPIPE and the pipeline fail.
  if ! images=$(ctr -n k8s.io images ls -q 2>"$tmp/ls.err"); then
    rm -rf "$tmp"
    fail "ctr cannot list the images of containerd here: is containerd running?"
  fi
  if ! grep -qxF -- "$image" <<<"$images"; then
    if command -v crictl >/dev/null; then
      crictl --runtime-endpoint unix:///run/containerd/containerd.sock pull "$image" >/dev/null 2>"$tmp/pull.err" ||
        { got=$(tail -n 1 "$tmp/pull.err"); rm -rf "$tmp"; fail "crictl pull $image failed: $got"; }
    else
      ctr -n k8s.io images pull "$image" >/dev/null 2>"$tmp/pull.err" ||
        { got=$(tail -n 1 "$tmp/pull.err"); rm -rf "$tmp"; fail "ctr images pull $image failed: $got"; }
    fi
  fi
  install -d -m 0700 "$tmp/image"
  if ! ctr -n k8s.io images mount "$image" "$tmp/image" >/dev/null 2>"$tmp/mount.err"; then
    got=$(tail -n 1 "$tmp/mount.err")
    rm -rf "$tmp"
    fail "cannot mount the image $image: $got"
  fi
  got=''
  if [[ -x $tmp/image/usr/local/bin/etcd && -x $tmp/image/usr/local/bin/etcdctl ]]; then
    got=$("$tmp/image/usr/local/bin/etcd" --version | sed -n 's/^etcd Version: //p')
    if [[ $got == "$version" ]]; then
      rm -rf "$dir.partial"
      install -d -m 0755 "$dir.partial"
      for tool in etcd etcdctl etcdutl; do
        if [[ -x $tmp/image/usr/local/bin/$tool ]]; then install -m 0755 "$tmp/image/usr/local/bin/$tool" "$dir.partial/"; fi
      done
    fi
  else
    got=missing
  fi
  ctr -n k8s.io images unmount --rm "$tmp/image" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  [[ $got != missing ]] || fail "the image $image has no /usr/local/bin/etcd and etcdctl"
  [[ -n $got ]] || got=unknown
  [[ $got == "$version" ]] || fail "the etcd in $image is version $got, not $version: nothing was installed"
  rm -rf "$dir"
  mv -T "$dir.partial" "$dir"
}
`;

/**
 * Bash: `etcd_image_of_manifest MANIFEST` prints `VERSION IMAGE` of the etcd static pod kubeadm wrote
 * (`registry.k8s.io/etcd:3.5.21-0` gives `3.5.21 registry.k8s.io/etcd:3.5.21-0`); fails naming the manifest
 * when it has no etcd image with an x.y.z version.
 */
export const ETCD_IMAGE_OF_MANIFEST = String.raw`etcd_image_of_manifest() {
  local manifest=$1 image version
  [[ -f $manifest ]] || fail "has no $manifest: etcd does not run as kubeadm's static pod here"
  image=$(sed -n 's#^ *image: *"\{0,1\}\([^" ]*/etcd[:@][^" ]*\)"\{0,1\} *$#\1#p' "$manifest" | head -n 1)
  version=$(sed -n 's#^ *image: .*/etcd:\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*#\1#p' "$manifest" | head -n 1)
  [[ -n $image && -n $version ]] || fail "cannot read the etcd image and its version from $manifest"
  printf '%s %s\n' "$version" "$image"
}
`;
