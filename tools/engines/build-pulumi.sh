#!/usr/bin/env bash
# Builds the Pulumi CLI, its nodejs language host and the resource providers this program uses, from their Go modules,
# each into $(cache_dir)/<name>-v<version>/bin, and links the binaries into $(cache_dir)/bin.
#
# Each component is built from a throwaway module of our own (written here, under the cache, never in the repository)
# that requires the upstream module: a dependency's own replace directives do not apply there, so the ones that point
# to other modules are copied, and its go:generate'd files are made by our own main where needed.
# A completion marker is written last: a killed build is redone from scratch on the next run, a complete one is only
# re-linked. A module version the Go module proxy refuses is recorded as <binary>.unavailable next to the links, with
# the proxy's answer, and skipped (set BMK8S_TOOLS_RETRY=1 to ask again). Progress goes to stderr; stdout stays empty.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
source "${here}/lib.sh"

cache="$(cache_dir)"
bin_dir="${cache}/bin"
mkdir -p "${bin_dir}"

# --- What we build ----------------------------------------------------------------------------------------------------
# The versions package.json pins. Providers publish no Go-proxy tags for their provider modules, so each is asked for by
# the pseudo-version of its release commit (read from the upstream git history; see README "Real engines").
pulumi_version="3.248.0"
pulumi_commit_pseudo="20260624180030-dc7edd58bc13" # the commit tagged pkg/v3.248.0 and sdk/v3.248.0
command_version="1.2.1"
command_pseudo="v0.0.0-20260303235922-7f3eb6f3b77c" # tag v1.2.1
random_version="4.21.2"
# v4.21.2 is not in the upstream history we could read; v4.21.1 (f2d8b029d0f7) is the nearest we can name.
random_pseudo="v4.0.0-20260722185042-f2d8b029d0f7"
# 4.34.2 is the SDK package.json pins; the module proxy serves the provider module only at the v4.25.0 release commit.
kubernetes_version="4.25.0"
kubernetes_pseudo="v4.0.0-20260115033456-f47bc2d6f199" # tag v4.25.0

ldflags_base="-s -w"
export GOFLAGS="-trimpath -buildvcs=false"

# --- Helpers ----------------------------------------------------------------------------------------------------------

# unavailable BINARY REASON: record that BINARY cannot be built here, and why.
unavailable() {
  printf '%s\n' "$2" >"${bin_dir}/$1.unavailable"
  rm -f "${bin_dir:?}/$1"
  log "$1: NOT BUILT: $2"
}

# already_unavailable BINARY: true when an earlier run recorded BINARY as unavailable and no retry was asked for.
already_unavailable() {
  [[ -f "${bin_dir}/$1.unavailable" && -z "${BMK8S_TOOLS_RETRY:-}" ]] || return 1
  log "$1: skipped, recorded as unavailable: $(head -n 1 "${bin_dir}/$1.unavailable")"
}

# fetch_module DIR MODULE VERSION: download MODULE@VERSION; print its go.mod path. On a refusal by the proxy, return 3.
fetch_module() {
  local dir="$1" module="$2" version="$3" out
  if ! out="$(cd "${dir}" && go mod download -json "${module}@${version}" 2>&1)"; then
    printf '%s\n' "${out}" >"${dir}/download.err"
    grep -q -E '403 Forbidden|404 Not Found|not available|unknown revision' "${dir}/download.err" && return 3
    die "go mod download ${module}@${version} failed: ${out}"
  fi
  sed -n -E 's/^[[:space:]]*"GoMod": "(.*)",?$/\1/p' <<<"${out}"
}

# module_replaces GOMOD: the replace directives of GOMOD that point to another module (not to a local directory).
module_replaces() {
  sed -n -E 's#^(replace[[:space:]]+)?[[:space:]]*([^[:space:]()]+)([[:space:]]+v[^[:space:]]+)?[[:space:]]+=>[[:space:]]+([^./][^[:space:]]*)[[:space:]]+(v[^[:space:]]+)[[:space:]]*$#\2 => \4 \5#p' "$1"
}

# go_line GOMOD: the go version GOMOD declares.
go_line() { sed -n -E 's/^go ([0-9.]+)$/\1/p' "$1"; }

# write_gomod DIR NAME GOVERSION REQUIRES REPLACES: the throwaway module's go.mod.
write_gomod() {
  local dir="$1" name="$2" goversion="$3" requires="$4" replaces="$5"
  {
    printf '// Written by tools/engines/build-pulumi.sh to build %s; not part of any repository.\n' "${name}"
    printf 'module bmk8s.local/build/%s\n\ngo %s\n\nrequire (\n%s\n)\n' "${name}" "${goversion}" "${requires}"
    [[ -z "${replaces}" ]] || printf '\nreplace (\n%s\n)\n' "${replaces}"
  } >"${dir}/go.mod"
}

# resolve DIR PACKAGE...: fill go.mod/go.sum for PACKAGE...; on a refusal by the proxy of any module, return 3.
resolve() {
  local dir="$1" out
  shift
  if ! out="$(cd "${dir}" && go get "$@" 2>&1)"; then
    printf '%s\n' "${out}" >"${dir}/resolve.err"
    grep -q -E '403 Forbidden|404 Not Found|not available' "${dir}/resolve.err" && return 3
    die "go get $* in ${dir} failed: ${out}"
  fi
}

# build_component NAME VERSION BINARY STEPS_FUNCTION: run STEPS_FUNCTION SRC_DIR OUT_BINARY in a fresh component dir,
# timing it; on success mark it complete and link the binary. STEPS_FUNCTION returns 3 when a module is refused.
build_component() {
  local name="$1" version="$2" binary="$3" steps="$4" dir start rc=0 reason
  dir="$(component_dir "${name}" "v${version}")"
  if is_complete "${dir}"; then
    link_bin "${dir}/bin/${binary}"
    rm -f "${bin_dir}/${binary}.unavailable"
    return 0
  fi
  already_unavailable "${binary}" && return 0
  rm -rf "${dir}"
  mkdir -p "${dir}/src" "${dir}/bin"
  log "${name} v${version}: building"
  start="$(date +%s)"
  "${steps}" "${dir}/src" "${dir}/bin/${binary}" || rc=$?
  if [[ "${rc}" -eq 3 ]]; then
    reason="$(grep -h -m 1 -E '403 Forbidden|404 Not Found|not available|unknown revision' "${dir}"/src/*.err || true)"
    unavailable "${binary}" "the Go module proxy refused a module needed for ${name} v${version}: ${reason}"
    rm -rf "${dir}"
    return 0
  fi
  [[ "${rc}" -eq 0 ]] || die "${name} v${version}: build failed (exit ${rc})"
  [[ -x "${dir}/bin/${binary}" ]] || die "${name} v${version}: no ${dir}/bin/${binary} after the build"
  printf '%s seconds\n' "$(($(date +%s) - start))" >"${dir}/build-seconds"
  mark_complete "${dir}"
  link_bin "${dir}/bin/${binary}"
  rm -f "${bin_dir}/${binary}.unavailable"
  log "${name} v${version}: built in $(cat "${dir}/build-seconds"), $(du -sh "${dir}/bin/${binary}" | cut -f1)"
}

# --- The steps of each component --------------------------------------------------------------------------------------
pulumi_module="github.com/pulumi/pulumi/pkg/v3"
sdk_version_ldflag="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${pulumi_version}"

steps_pulumi() {
  local src="$1" out="$2" gomod
  gomod="$(fetch_module "${src}" "${pulumi_module}" "v${pulumi_version}")" || return
  write_gomod "${src}" pulumi "$(go_line "${gomod}")" "	${pulumi_module} v${pulumi_version}" "$(module_replaces "${gomod}")"
  resolve "${src}" "${pulumi_module}/cmd/pulumi@v${pulumi_version}" || return
  (cd "${src}" && go build -ldflags "${ldflags_base} ${sdk_version_ldflag}" -o "${out}" "${pulumi_module}/cmd/pulumi")
}

language_module="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
steps_language_nodejs() {
  local src="$1" out="$2" gomod requires
  gomod="$(fetch_module "${src}" "${language_module}" "v3.0.0-${pulumi_commit_pseudo}")" || return
  # Its own go.mod replaces pkg and sdk by the directories of the same commit: require their releases instead.
  requires="$(printf '\t%s v3.0.0-%s\n\t%s v%s\n\tgithub.com/pulumi/pulumi/sdk/v3 v%s' "${language_module}" \
    "${pulumi_commit_pseudo}" "${pulumi_module}" "${pulumi_version}" "${pulumi_version}")"
  write_gomod "${src}" pulumi-language-nodejs "$(go_line "${gomod}")" "${requires}" "$(module_replaces "${gomod}")"
  resolve "${src}" "${language_module}@v3.0.0-${pulumi_commit_pseudo}" || return
  (cd "${src}" && go build -ldflags "${ldflags_base} ${sdk_version_ldflag}" -o "${out}" "${language_module}")
}

# The proxy refuses the language host's own module at every version (README "Real engines"). Until Pulumi v3.68.0 the
# host was a package of the sdk/v3 module, which the proxy serves; v3.68.0 is the newest release that still carries it
# (v3.69.0 to v3.94.0 were checked: no nodejs/cmd/pulumi-language-nodejs). An older language host is a supported pairing:
# it is the host an older CLI bundles, running the project's own (newer) Node SDK, whose cmd/run it starts.
language_fallback_version="3.68.0"
steps_language_nodejs_from_sdk() {
  local src="$1" out="$2" gomod sdk="github.com/pulumi/pulumi/sdk/v3"
  gomod="$(fetch_module "${src}" "${sdk}" "v${language_fallback_version}")" || return
  write_gomod "${src}" pulumi-language-nodejs "$(go_line "${gomod}")" "	${sdk} v${language_fallback_version}" "$(module_replaces "${gomod}")"
  resolve "${src}" "${sdk}/nodejs/cmd/pulumi-language-nodejs@v${language_fallback_version}" || return
  (cd "${src}" && go build     -ldflags "${ldflags_base} -X ${sdk}/go/common/version.Version=v${language_fallback_version}"     -o "${out}" "${sdk}/nodejs/cmd/pulumi-language-nodejs")
}

command_module="github.com/pulumi/pulumi-command/provider"
steps_command() {
  local src="$1" out="$2" gomod
  gomod="$(fetch_module "${src}" "${command_module}" "${command_pseudo}")" || return
  write_gomod "${src}" pulumi-resource-command "$(go_line "${gomod}")" "	${command_module} ${command_pseudo}" \
    "$(module_replaces "${gomod}")"
  resolve "${src}" "${command_module}/cmd/pulumi-resource-command@${command_pseudo}" || return
  (cd "${src}" && go build \
    -ldflags "${ldflags_base} -X ${command_module}/pkg/version.Version=${command_version}" \
    -o "${out}" "${command_module}/cmd/pulumi-resource-command")
}

random_module="github.com/pulumi/pulumi-random/provider/v4"
steps_random() {
  local src="$1" out="$2" gomod
  gomod="$(fetch_module "${src}" "${random_module}" "${random_pseudo}")" || return
  # Its go.mod replaces a shim module by ./shim, which is a module of its own and so not in the provider's zip.
  if grep -q -E '=>[[:space:]]+\./shim' "${gomod}"; then
    printf '%s\n' "not available: ${random_module} replaces its shim module by ./shim, absent from the module zip" \
      >"${src}/resolve.err"
    return 3
  fi
  write_gomod "${src}" pulumi-resource-random "$(go_line "${gomod}")" "	${random_module} ${random_pseudo}" \
    "$(module_replaces "${gomod}")"
  resolve "${src}" "${random_module}/cmd/pulumi-resource-random@${random_pseudo}" || return
  (cd "${src}" && go build \
    -ldflags "${ldflags_base} -X ${random_module}/version.Version=${random_version}" \
    -o "${out}" "${random_module}/cmd/pulumi-resource-random")
}

kubernetes_module="github.com/pulumi/pulumi-kubernetes/provider/v4"
steps_kubernetes() {
  local src="$1" out="$2" gomod moddir
  gomod="$(fetch_module "${src}" "${kubernetes_module}" "${kubernetes_pseudo}")" || return
  write_gomod "${src}" pulumi-resource-kubernetes "$(go_line "${gomod}")" "	${kubernetes_module} ${kubernetes_pseudo}" \
    "$(module_replaces "${gomod}")"
  # Upstream's main embeds schema-embed.json and terraform-mapping-embed.json, which its go:generate writes from the
  # module's schema.json and terraform-mapping.json (gitignored, so absent from the zip). Our own main embeds the
  # module's files and does at start what that generator does: stamp the schema's version.
  moddir="$(cd "${src}" && go mod download -json "${kubernetes_module}@${kubernetes_pseudo}" |
    sed -n -E 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  cp "${moddir}/cmd/pulumi-resource-kubernetes/schema.json" "${moddir}/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "${src}/"
  chmod u+w "${src}"/*.json
  cat >"${src}/main.go" <<'GO'
// Written by tools/engines/build-pulumi.sh: upstream's cmd/pulumi-resource-kubernetes main, with the schema's version
// stamped at start instead of by go:generate.
package main

import (
	_ "embed"
	"encoding/json"
	"log"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schemaJSON []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	var spec map[string]any
	if err := json.Unmarshal(schemaJSON, &spec); err != nil {
		log.Fatalf("cannot read the embedded schema: %v", err)
	}
	spec["version"] = version.Version
	schema, err := json.Marshal(spec)
	if err != nil {
		log.Fatalf("cannot write the schema: %v", err)
	}
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
GO
  resolve "${src}" "${kubernetes_module}/pkg/provider@${kubernetes_pseudo}" || return
  (cd "${src}" && go build \
    -ldflags "${ldflags_base} -X ${kubernetes_module}/pkg/version.Version=${kubernetes_version}" -o "${out}" .)
}

# --- Build ------------------------------------------------------------------------------------------------------------
use_go
build_component pulumi "${pulumi_version}" pulumi steps_pulumi
# The language host of this release first; when the proxy refuses it (recorded under its version, so a warm run does not
# ask again), the newest one the proxy serves.
if [[ ! -f "${bin_dir}/pulumi-language-nodejs-v${pulumi_version}.unavailable" || -n "${BMK8S_TOOLS_RETRY:-}" ]]; then
  rm -f "${bin_dir}/pulumi-language-nodejs.unavailable"
  build_component pulumi-language-nodejs "${pulumi_version}" pulumi-language-nodejs steps_language_nodejs
  if [[ -f "${bin_dir}/pulumi-language-nodejs.unavailable" ]]; then
    mv "${bin_dir}/pulumi-language-nodejs.unavailable" "${bin_dir}/pulumi-language-nodejs-v${pulumi_version}.unavailable"
  fi
fi
if [[ -f "${bin_dir}/pulumi-language-nodejs-v${pulumi_version}.unavailable" ]]; then
  log "pulumi-language-nodejs v${pulumi_version} is refused by the proxy: building v${language_fallback_version} from the sdk/v3 module"
  build_component pulumi-language-nodejs "${language_fallback_version}" pulumi-language-nodejs steps_language_nodejs_from_sdk
fi
build_component pulumi-resource-command "${command_version}" pulumi-resource-command steps_command
build_component pulumi-resource-random "${random_version}" pulumi-resource-random steps_random
# The kubernetes provider serves only the real preview of this program, which needs the command provider too: while that
# cannot be built here, a cold cache skips this long build (BMK8S_TOOLS_ALL=1 makes it anyway); a complete one is always
# linked.
if is_complete "$(component_dir pulumi-resource-kubernetes "v${kubernetes_version}")" || [[ -e "${bin_dir}/pulumi-resource-command" ]] ||
  [[ -n "${BMK8S_TOOLS_ALL:-}" ]]; then
  rm -f "${bin_dir}/pulumi-resource-kubernetes.unavailable" # the skip below, recorded by an earlier run
  build_component pulumi-resource-kubernetes "${kubernetes_version}" pulumi-resource-kubernetes steps_kubernetes
else
  printf '%s %s\n' "not built on a cold cache while pulumi-resource-command is unavailable (only the real preview uses it);" \
    "BMK8S_TOOLS_ALL=1 npm run -s tools builds it" >"${bin_dir}/pulumi-resource-kubernetes.unavailable"
  log "pulumi-resource-kubernetes: skipped: $(tr '\n' ' ' <"${bin_dir}/pulumi-resource-kubernetes.unavailable")"
fi
