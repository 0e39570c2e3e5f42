#!/usr/bin/env bash
# `npm run -s tools`: builds the real engines from their Go modules into a cache outside the work tree
# (${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}), each component in its own directory keyed by its version,
# and links every binary into <cache>/bin. Runs build-pulumi.sh first, then every other executable
# tools/engines/build-*.sh in name order, each with BMK8S_TOOLS_CACHE in its environment and linking its own
# binaries into <cache>/bin. A warm cache makes it only re-link.
# Progress goes to stderr; the LAST line of stdout is <cache>/bin (checks outside this repository rely on it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "${here}/lib.sh"

BMK8S_TOOLS_CACHE="$(cache_dir)"
export BMK8S_TOOLS_CACHE
mkdir -p "${BMK8S_TOOLS_CACHE}/bin"
use_go

run_part() {
  log "$(basename "$1")"
  # A part's stdout goes to stderr too: our stdout carries only the bin directory.
  "$1" </dev/null >&2
}

run_part "${here}/build-pulumi.sh"
for part in "${here}"/build-*.sh; do
  [[ "${part}" == "${here}/build-pulumi.sh" ]] && continue
  if [[ ! -x "${part}" ]]; then
    log "skipping $(basename "${part}"): not executable"
    continue
  fi
  run_part "${part}"
done

for f in "${BMK8S_TOOLS_CACHE}"/bin/*.unavailable; do
  [[ -e "${f}" ]] || continue
  log "not built: $(basename "${f}" .unavailable): $(cat "${f}")"
done
printf '%s\n' "${BMK8S_TOOLS_CACHE}/bin"
