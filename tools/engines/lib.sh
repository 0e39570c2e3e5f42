# shellcheck shell=bash
# Helpers shared by tools/engines/build*.sh. Sourced, never run. Keep these names stable: other build-*.sh use them.
#   log MSG...          progress to stderr (stdout of the driver carries only the bin directory)
#   die MSG...          log and exit 1
#   cache_dir           the tools cache: ${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}
#   link_bin FILE...    symlink each built binary into $(cache_dir)/bin under its own name
#   use_go              put Go on PATH (/usr/local/go/bin if needed), never download a toolchain, and keep the module
#                       and build caches under the tools cache unless the caller set GOMODCACHE/GOCACHE
#   component_dir NAME VERSION   $(cache_dir)/NAME-VERSION, the directory of one component at one version
#   is_complete DIR     true when DIR's completion marker exists (written last by mark_complete)
#   mark_complete DIR   write DIR's completion marker

log() { printf '%s: %s\n' "${BMK8S_LOG_NAME:-$(basename "$0" .sh)}" "$*" >&2; }

die() {
  log "error: $*"
  exit 1
}

cache_dir() { printf '%s\n' "${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}"; }

link_bin() {
  local bin_dir f
  bin_dir="$(cache_dir)/bin"
  mkdir -p "${bin_dir}"
  for f in "$@"; do
    [[ -x "${f}" ]] || die "link_bin: ${f} is not an executable file"
    ln -sfn "${f}" "${bin_dir}/$(basename "${f}")"
  done
}

use_go() {
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:${PATH}"
  fi
  command -v go >/dev/null 2>&1 || die "go is not installed (looked on PATH and in /usr/local/go/bin); install Go >= 1.25"
  export PATH GOTOOLCHAIN=local
  export GOMODCACHE="${GOMODCACHE:-$(cache_dir)/go/mod}"
  export GOCACHE="${GOCACHE:-$(cache_dir)/go/build}"
}

component_dir() { printf '%s/%s-%s\n' "$(cache_dir)" "$1" "$2"; }

is_complete() { [[ -f "$1/.complete" ]]; }

mark_complete() { date -u +%Y-%m-%dT%H:%M:%SZ >"$1/.complete"; }
