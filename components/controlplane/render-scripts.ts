import type { HostSpec } from "../config/spec";
import { shQuote } from "../host/remote-script";

/**
 * The shell dialect of the control plane's host scripts (keepalived, kubeadm,
 * witness: each renders its scripts next to its data): the script frame and its
 * helpers. Every script is bash with `set -euo pipefail`, idempotent (it checks
 * the state and says so when there is nothing to do), and reads its secrets on
 * stdin, one per line, never from its own text or arguments. Nothing a script
 * prints contains a secret: kubeadm's output goes through `redact` into a
 * root-only log.
 */

export const EOF = "BAREMETAL_K8S_EOF";
const LOG_DIR = "/var/log/baremetal-k8s";

export function script(title: string, host: string, body: string[]): string {
  return [
    "#!/usr/bin/env bash",
    `# ${title}`,
    "# Rendered by baremetal-k8s (components/controlplane/render-scripts.ts).",
    "set -euo pipefail",
    `host=${shQuote(host)}`,
    'fail() { echo "$host: $*" >&2; exit 1; }',
    'say() { echo "$host: $*" >&2; }',
    ...body,
    "",
  ].join("\n");
}

/** `var=$(cat <<'EOF' ... EOF)`: embeds rendered text verbatim (no expansion). */
export function embed(variable: string, content: string): string[] {
  if (content.split("\n").includes(EOF)) throw new Error(`embed: content contains the heredoc delimiter ${EOF}`);
  return [`${variable}=$(cat <<'${EOF}'`, content.replace(/\n$/, ""), EOF, ")"];
}

/** Reads one secret line from stdin into `variable` and checks its shape; the message names what is missing, never the value. */
export function readSecret(variable: string, what: string, re: string): string[] {
  return [
    `IFS= read -r ${variable} || true`,
    `re=${shQuote(re)}`,
    `[[ $${variable} =~ $re ]] || fail ${shQuote(`expected ${what} on stdin (line missing or malformed)`)}`,
  ];
}

/** Writes `$3` to `$1` with mode `$2` only when it differs; sets changed=1 when it wrote. */
export const PUT = [
  "changed=0",
  "put() {",
  "  local path=$1 mode=$2 tmp",
  '  tmp=$(mktemp "$path.XXXXXX")',
  '  printf \'%s\\n\' "$3" >"$tmp"',
  '  chmod "$mode" "$tmp"',
  '  if [[ -f $path ]] && cmp -s "$tmp" "$path"; then rm -f "$tmp"; return 0; fi',
  '  mv -f "$tmp" "$path"',
  "  changed=1",
  "}",
];

/** Replaces each secret (the shell variables named) with a label, line by line, so kubeadm's output can be logged. */
export function redactFn(vars: { variable: string; label: string }[]): string[] {
  return [
    "redact() {",
    "  local line",
    "  while IFS= read -r line || [[ -n $line ]]; do",
    ...vars.map(({ variable, label }) => `    line=\${line//"$${variable}"/<${label}>}`),
    "    printf '%s\\n' \"$line\"",
    "  done",
    "}",
  ];
}

/** Runs a kubeadm command line with its output redacted into a root-only log; on failure shows the log's tail and the remedy. */
export function runLogged(command: string, log: string, remedy: string): string[] {
  return [
    `install -d -m 0700 ${LOG_DIR}`,
    `log=${LOG_DIR}/${log}`,
    `if ! ${command} 2>&1 | redact >"$log"; then`,
    '  echo "$host: the last lines of $log (secrets removed):" >&2',
    '  tail -n 30 "$log" >&2',
    `  fail ${shQuote(remedy)}`,
    "fi",
  ];
}

/** For steps whose undoing is nothing (or is done by another step's delete). */
export function renderNothingToUndoScript(host: HostSpec, what: string): string {
  return script(`${what}: nothing to undo`, host.name, [`say ${shQuote(`${what}: nothing to undo`)}`]);
}
