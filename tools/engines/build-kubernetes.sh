#!/usr/bin/env bash
# Builds the Kubernetes binaries at the version of the example stacks, from their Go modules, into
# ${BMK8S_TOOLS_CACHE}/kubernetes-v<version>/bin and links each into ${BMK8S_TOOLS_CACHE}/bin:
#   kubeadm, kubectl, kubelet, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy (k8s.io/kubernetes),
#   etcd, etcdctl and etcdutl at the version kubeadm of that minor uses (read from kubeadm's constants),
#   pause: k/k's build/pause/linux/pause.c compiled statically with gcc, stamped with kubeadm's PauseVersion,
#   coredns at kubeadm's CoreDNSVersion (github.com/coredns/coredns),
#   helm v3 (stamped with the Kubernetes version it assumes for charts).
# test/lab/images/ packs these into the registry.k8s.io images kubeadm names.
# Each binary is built into bin/ only when absent, and a completion marker is written last: a warm run (marker and
# every binary there) does nothing but re-link. Progress goes to stderr; stdout stays empty.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
cache="${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}"
helm_version="v3.18.6" # helm 3.18 is built against the k8s.io v0.33 libraries

say() { printf 'build-kubernetes: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# The Kubernetes version: cluster.kubernetesVersion of every example stack; they must agree.
stack_version() {
  sed -n -E 's/^[[:space:]]*kubernetesVersion:[[:space:]]*"?([0-9]+\.[0-9]+\.[0-9]+)"?[[:space:]]*$/\1/p' "$1" | head -n 1
}
version=""
for stack in "${repo}"/Pulumi.*.yaml; do
  [[ "${stack}" == */Pulumi.yaml ]] && continue
  v="$(stack_version "${stack}")"
  [[ -n "${v}" ]] || continue
  if [[ -z "${version}" ]]; then
    version="${v}"
  elif [[ "${v}" != "${version}" ]]; then
    die "the example stacks disagree on kubernetesVersion: ${stack} has ${v}, another has ${version}; make them agree"
  fi
done
[[ -n "${version}" ]] || die "no kubernetesVersion found in ${repo}/Pulumi.*.yaml"
major="${version%%.*}"
minor="${version#*.}"
minor="${minor%%.*}"

dir="${cache}/kubernetes-v${version}"
bin="${dir}/bin"
marker="${dir}/.complete"
binaries=(kubeadm kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd etcdctl etcdutl pause coredns helm)

all_built() {
  local b
  for b in "${binaries[@]}"; do
    [[ -x "${bin}/${b}" ]] || return 1
  done
}

link_all() {
  mkdir -p "${cache}/bin"
  local b
  for b in "${binaries[@]}"; do
    ln -sfn "${bin}/${b}" "${cache}/bin/${b}"
  done
}

# A binary added to the list after a cache was completed is built by the next run; the others are kept.
if [[ -f "${marker}" ]] && all_built; then
  link_all
  exit 0
fi

command -v go >/dev/null || die "go is not installed; install Go >= 1.24"
export GOTOOLCHAIN=local
export GOFLAGS="-trimpath -mod=mod"
export CGO_ENABLED=0
mkdir -p "${bin}" "${dir}/src/kubernetes" "${dir}/src/etcd" "${dir}/src/helm"

# Time and size of one build, for the log.
timed_build() {
  local name="$1"
  shift
  if [[ -x "${bin}/${name}" ]]; then
    say "${name}: already built"
    return 0
  fi
  say "${name}: building"
  local start end
  start="$(date +%s)"
  "$@"
  end="$(date +%s)"
  say "${name}: built in $((end - start)) s, $(du -h "${bin}/${name}" | cut -f1)"
}

# --- Kubernetes -------------------------------------------------------------------------------------------------------
# A throwaway module requiring k8s.io/kubernetes. Its staging modules (k8s.io/api, ...) are required at v0.0.0 and
# replaced by ./staging/... in its own go.mod, which a dependency's replaces cannot do: replace each by its published
# v0.<minor>.<patch>, the list read from k/k's go.mod.
k8s_src="${dir}/src/kubernetes"
if [[ ! -f "${k8s_src}/go.mod" ]]; then
  say "resolving k8s.io/kubernetes@v${version}"
  kk_gomod="$(cd "${k8s_src}" && go mod download -json "k8s.io/kubernetes@v${version}" | sed -n -E 's/^[[:space:]]*"GoMod": "(.*)",?$/\1/p')"
  [[ -f "${kk_gomod}" ]] || die "go mod download k8s.io/kubernetes@v${version} gave no go.mod"
  go_line="$(sed -n -E 's/^go ([0-9.]+)$/\1/p' "${kk_gomod}")"
  godebug_line="$(sed -n -E 's/^godebug (.*)$/\1/p' "${kk_gomod}")"
  staging="$(sed -n -E 's#^[[:space:]]*(k8s\.io/[A-Za-z0-9._-]+) => \./staging/.*$#\1#p' "${kk_gomod}")"
  [[ -n "${staging}" ]] || die "found no staging replaces in ${kk_gomod}"
  {
    printf 'module bmk8s.local/kubernetes-build\n\ngo %s\n\n' "${go_line}"
    [[ -z "${godebug_line}" ]] || printf 'godebug %s\n\n' "${godebug_line}"
    printf 'require k8s.io/kubernetes v%s\n\nreplace (\n' "${version}"
    while IFS= read -r m; do
      printf '\t%s => %s v0.%s.%s\n' "${m}" "${m}" "${minor}" "${version##*.}"
    done <<<"${staging}"
    printf ')\n'
  } >"${k8s_src}/go.mod.tmp"
  mv "${k8s_src}/go.mod.tmp" "${k8s_src}/go.mod"
fi

# kubeadm takes its default kubernetesVersion from component-base's gitVersion and compares the kubelet's with it;
# kubectl's client version comes from client-go's. The build date is the release's (the module's time), so two builds
# of one version are the same; the commit is unknown from a module zip and left empty rather than "$Format:%H$".
git_version="v${version}"
build_date="$(cd "${k8s_src}" && go mod download -json "k8s.io/kubernetes@v${version}" | sed -n -E 's/^[[:space:]]*"Info": "(.*)",?$/\1/p' | xargs sed -n -E 's/.*"Time":"([^"]+)".*/\1/p')"
[[ -n "${build_date}" ]] || build_date="1970-01-01T00:00:00Z"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X ${pkg}.gitVersion=${git_version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
  k8s_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date} -X ${pkg}.gitCommit="
done

build_k8s() {
  (cd "${k8s_src}" && go build -ldflags "${k8s_ldflags}" -o "${bin}/$1.tmp" "k8s.io/kubernetes/cmd/$1")
  mv "${bin}/$1.tmp" "${bin}/$1"
}
for b in kubeadm kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
  timed_build "${b}" build_k8s "${b}"
done

got="$("${bin}/kubeadm" version -o short)"
[[ "${got}" == "${git_version}" ]] || die "kubeadm version -o short prints ${got}, expected ${git_version}"
got="$("${bin}/kubelet" --version)"
[[ "${got}" == "Kubernetes ${git_version}" ]] || die "kubelet --version prints ${got}, expected Kubernetes ${git_version}"

# --- etcd at the version kubeadm of this minor uses -------------------------------------------------------------------
kk_dir="$(cd "${k8s_src}" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)"
constants="${kk_dir}/cmd/kubeadm/app/constants/constants.go"
etcd_version="$(sed -n -E "s/^[[:space:]]*${minor}: \"([0-9]+\.[0-9]+\.[0-9]+)-[0-9]+\",$/\1/p" "${constants}" | head -n 1)"
[[ -n "${etcd_version}" ]] || die "no SupportedEtcdVersion for minor ${minor} in ${constants}"
etcd_src="${dir}/src/etcd"
if [[ ! -f "${etcd_src}/go.mod" ]]; then
  printf 'module bmk8s.local/etcd-build\n\ngo 1.23\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 v%s\n\tgo.etcd.io/etcd/etcdctl/v3 v%s\n\tgo.etcd.io/etcd/etcdutl/v3 v%s\n)\n' \
    "${etcd_version}" "${etcd_version}" "${etcd_version}" >"${etcd_src}/go.mod"
fi
# A go.mod written before etcdutl was built: pinned to the same release (-mod=mod would otherwise resolve the newest).
if ! grep -q 'go.etcd.io/etcd/etcdutl/v3' "${etcd_src}/go.mod"; then
  (cd "${etcd_src}" && go mod edit -require="go.etcd.io/etcd/etcdutl/v3@v${etcd_version}")
fi
build_etcd() {
  (cd "${etcd_src}" && go build -ldflags "-s -w" -o "${bin}/$1.tmp" "$2")
  mv "${bin}/$1.tmp" "${bin}/$1"
}
timed_build etcd build_etcd etcd go.etcd.io/etcd/server/v3
timed_build etcdctl build_etcd etcdctl go.etcd.io/etcd/etcdctl/v3
# etcdutl: what registry.k8s.io/etcd images ship beside etcdctl since 3.5 (snapshot status and restore moved there).
timed_build etcdutl build_etcd etcdutl go.etcd.io/etcd/etcdutl/v3

# --- pause, from k/k's C source, at the tag kubeadm of this minor expects -------------------------------------------------
pause_version="$(sed -n -E 's/^[[:space:]]*PauseVersion = "([0-9.]+)"$/\1/p' "${constants}")"
[[ -n "${pause_version}" ]] || die "no PauseVersion in ${constants}"
pause_c="${kk_dir}/build/pause/linux/pause.c"
[[ -f "${pause_c}" ]] || die "no ${pause_c} in the k8s.io/kubernetes module"
build_pause() {
  command -v gcc >/dev/null || die "gcc is not installed; install gcc and libc6-dev (the static libc)"
  # As k/k's build/pause/Makefile, with the module's version for the git revision it cannot know.
  gcc -Os -Wall -Werror -static "-DVERSION=v${pause_version}-k8s-v${version}" -o "${bin}/pause.tmp" "${pause_c}"
  mv "${bin}/pause.tmp" "${bin}/pause"
}
timed_build pause build_pause

# --- CoreDNS at the version kubeadm of this minor deploys -------------------------------------------------------------
coredns_version="$(sed -n -E 's/^[[:space:]]*CoreDNSVersion = "(v[0-9.]+)"$/\1/p' "${constants}")"
[[ -n "${coredns_version}" ]] || die "no CoreDNSVersion in ${constants}"
coredns_src="${dir}/src/coredns"
mkdir -p "${coredns_src}"
if [[ ! -f "${coredns_src}/go.mod" ]]; then
  printf 'module bmk8s.local/coredns-build\n\ngo 1.23\n\nrequire github.com/coredns/coredns %s\n' "${coredns_version}" >"${coredns_src}/go.mod"
fi
build_coredns() {
  (cd "${coredns_src}" && go build -ldflags "-s -w" -o "${bin}/coredns.tmp" github.com/coredns/coredns)
  mv "${bin}/coredns.tmp" "${bin}/coredns"
}
timed_build coredns build_coredns

# --- helm v3 ----------------------------------------------------------------------------------------------------------
helm_src="${dir}/src/helm"
if [[ ! -f "${helm_src}/go.mod" ]]; then
  printf 'module bmk8s.local/helm-build\n\ngo 1.24.0\n\nrequire helm.sh/helm/v3 %s\n' "${helm_version}" >"${helm_src}/go.mod"
fi
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${helm_version}"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ldflags+=" -X ${pkg}.k8sVersionMajor=${major} -X ${pkg}.k8sVersionMinor=${minor}"
done
build_helm() {
  (cd "${helm_src}" && go build -ldflags "${helm_ldflags}" -o "${bin}/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "${bin}/helm.tmp" "${bin}/helm"
}
timed_build helm build_helm

printf 'kubernetes v%s\netcd v%s\npause %s\ncoredns %s\nhelm %s\n' "${version}" "${etcd_version}" "${pause_version}" "${coredns_version}" \
  "${helm_version}" >"${dir}/versions"
touch "${marker}"
link_all
say "done: ${bin}"
