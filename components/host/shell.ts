import { shQuote } from "./remote-script";

/**
 * Pieces every rendered host script shares: the header, a scope for messages,
 * and small helpers. Rendered scripts are self-contained (no files shipped
 * beside them) and deterministic (same spec, same bytes).
 */

/** `NAME='value'` with the value quoted for bash. */
export function shVar(name: string, value: string): string {
  return `${name}=${shQuote(value)}`;
}

/**
 * The first lines of every script: interpreter, strict mode, what it is, and
 * `note`/`fail` that prefix messages with the scope (host or host/disk) so a
 * failed `pulumi up` names the machine without reading the resource name.
 */
export function scriptHeader(title: string, scope: string, notes: "stdout" | "stderr" = "stdout"): string {
  return [
    "#!/usr/bin/env bash",
    `# baremetal-k8s: ${title}`,
    "# Rendered by the program; idempotent: re-running it on a prepared host changes nothing.",
    "set -eEuo pipefail",
    "export LC_ALL=C",
    shVar("SCOPE", scope),
    `note() { printf '%s: %s\\n' "$SCOPE" "$*"${notes === "stderr" ? " >&2" : ""}; }`,
    'fail() { printf \'%s: ERROR: %s\\n\' "$SCOPE" "$*" >&2; exit 1; }',
    // Any other failure still names the host and the command, instead of ending silently.
    'trap \'printf "%s: ERROR: exit %s at line %s: %s\\n" "$SCOPE" "$?" "$LINENO" "$BASH_COMMAND" >&2\' ERR',
    "",
  ].join("\n");
}

/** Scripts that report whether they changed anything set `changed=1`; the footer reads it. */
export const TRACK_CHANGES = "changed=0\n";

/**
 * `write_file PATH MODE <<EOF`: replaces PATH only when its content differs,
 * and says so. Sets `wrote=1` (and `changed=1`) when it wrote.
 */
export const WRITE_FILE = `wrote=0
: "$wrote"
write_file() {
  local path=$1 mode=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  wrote=0
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 0
  fi
  mkdir -p "$(dirname "$path")"
  install -m "$mode" "$tmp" "$path"
  rm -f "$tmp"
  note "wrote $path"
  wrote=1
  changed=1
}
`;

/**
 * `ensure_enabled NAME`: the unit starts at boot. `ensure_service NAME RESTART`:
 * the unit enabled and running, restarted when RESTART is 1 (its configuration
 * changed). Both set `changed=1` when they did something.
 */
export const ENSURE_SERVICE = `ensure_enabled() {
  if ! systemctl is-enabled --quiet "$1" 2>/dev/null; then
    systemctl enable "$1"
    changed=1
  fi
}
ensure_service() {
  ensure_enabled "$1"
  if ! systemctl is-active --quiet "$1" 2>/dev/null; then
    systemctl start "$1"
    note "started $1"
    changed=1
  elif [ "$2" = 1 ]; then
    systemctl restart "$1"
    note "restarted $1"
  fi
}
`;

/**
 * The container runtime running (restarted when `restartVar` is 1) and the
 * kubelet enabled, where systemd runs (a container image build has none).
 */
export function runtimeServices(runtime: "containerd" | "crio", restartVar: string): string {
  return `${ENSURE_SERVICE}if command -v systemctl >/dev/null 2>&1; then
  ensure_service ${runtime} "$${restartVar}"
  # kubeadm starts the kubelet; enabled so it comes back after a reboot.
  ensure_enabled kubelet
fi
`;
}

/** The closing line: says plainly when the run changed nothing. */
export function scriptFooter(what: string): string {
  return `if [ "$changed" = 0 ]; then
  note ${shQuote(`${what}: already in place, nothing to do`)}
else
  note ${shQuote(`${what}: done`)}
fi
`;
}
