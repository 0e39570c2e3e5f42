import type { ClusterSpec, HostSpec } from "../config/spec";
import { PUT, embed, readSecret, script } from "./render-scripts";

/** keepalived for the API server VIP: its configuration, its track script, and the host script that installs them. */

/** Where keepalived reads its files (Debian, Ubuntu and Fedora packages alike). */
export const KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf";
export const CHECK_APISERVER = "/etc/keepalived/check_apiserver.sh";
/** Written into the rendered config; the host script replaces it with the password it reads on stdin. */
export const VRRP_PASSWORD_PLACEHOLDER = "__VRRP_PASSWORD__";
const VRRP_RE = "^[A-Za-z0-9]{1,8}$";

/**
 * Priorities that do not depend on how many control planes there are (adding
 * one changes no other host's config): the leader 150, followers 100. A failing
 * API check subtracts 60, which puts any unhealthy node below every healthy
 * one (healthy 100|150, unhealthy 40|90), so the VIP leaves a node whose API
 * server is down and the leader takes it back once healthy (preemption).
 */
export const LEADER_PRIORITY = 150;
export const FOLLOWER_PRIORITY = 100;
export const CHECK_WEIGHT = -60;
/** Seconds between checks, failures before the weight applies, successes before it is lifted: a dead API server loses the VIP in ~6 s. */
export const CHECK_INTERVAL = 2;
export const CHECK_FALL = 3;
export const CHECK_RISE = 2;

export interface KeepalivedRole {
  host: HostSpec;
  leader: boolean;
}

/**
 * keepalived.conf for one control plane: MASTER with the highest priority on
 * the leader, BACKUP elsewhere, the VIP tracked by `check_apiserver`. The
 * password and check script path are parameters so tests can render a real
 * one; the program renders the placeholder and the installed path.
 */
export function renderKeepalivedConf(
  spec: ClusterSpec,
  role: KeepalivedRole,
  { authPass = VRRP_PASSWORD_PLACEHOLDER, checkScript = CHECK_APISERVER }: { authPass?: string; checkScript?: string } = {},
): string {
  const ka = spec.cluster.endpoint.keepalived;
  if (!ka.enabled) throw new Error("renderKeepalivedConf: keepalived is not enabled for this cluster");
  const vip = spec.cluster.endpoint.address;
  return [
    `! keepalived for the Kubernetes API VIP of cluster ${spec.cluster.name} on ${role.host.name}.`,
    "! Managed by baremetal-k8s: edits are overwritten by the next pulumi up.",
    "global_defs {",
    `    router_id ${role.host.name}`,
    "    enable_script_security",
    "    script_user root",
    "}",
    "",
    "vrrp_script check_apiserver {",
    `    script "${checkScript}"`,
    `    interval ${CHECK_INTERVAL}`,
    `    timeout ${CHECK_INTERVAL}`,
    `    weight ${CHECK_WEIGHT}`,
    `    fall ${CHECK_FALL}`,
    `    rise ${CHECK_RISE}`,
    "}",
    "",
    `vrrp_instance ${spec.cluster.name.replace(/-/g, "_")}_apiserver {`,
    `    state ${role.leader ? "MASTER" : "BACKUP"}`,
    `    interface ${ka.interface}`,
    `    virtual_router_id ${ka.virtualRouterId}`,
    `    priority ${role.leader ? LEADER_PRIORITY : FOLLOWER_PRIORITY}`,
    "    advert_int 1",
    "    authentication {",
    "        auth_type PASS",
    `        auth_pass ${authPass}`,
    "    }",
    "    virtual_ipaddress {",
    `        ${vip}`,
    "    }",
    "    track_script {",
    "        check_apiserver",
    "    }",
    "}",
    "",
  ].join("\n");
}

/** The track script: succeeds while this host's API server answers /healthz. */
export function renderCheckApiserver(spec: ClusterSpec): string {
  const port = spec.cluster.endpoint.port;
  return [
    "#!/usr/bin/env bash",
    "# keepalived track_script: is the API server on this host healthy? Managed by baremetal-k8s.",
    "set -euo pipefail",
    `if ! curl -sfk --max-time 2 -o /dev/null https://127.0.0.1:${port}/healthz; then`,
    `  echo "check_apiserver: GET https://127.0.0.1:${port}/healthz failed" >&2`,
    "  exit 1",
    "fi",
    "",
  ].join("\n");
}

/** Installs keepalived.conf and check_apiserver.sh (password from stdin) and (re)starts keepalived when they changed. */
export function renderKeepalivedScript(spec: ClusterSpec, role: KeepalivedRole): string {
  return script(
    `keepalived for the API server VIP on ${role.host.name} (${role.leader ? "MASTER" : "BACKUP"}). stdin: the VRRP password.`,
    role.host.name,
    [
      ...readSecret("vrrp_pass", "the VRRP password", VRRP_RE),
      "command -v keepalived >/dev/null || fail 'keepalived is not installed: node preparation installs it on control planes'",
      "command -v curl >/dev/null || fail 'curl is not installed: check_apiserver.sh needs it'",
      ...PUT,
      ...embed("check", renderCheckApiserver(spec)),
      ...embed("template", renderKeepalivedConf(spec, role)),
      `conf=\${template//${VRRP_PASSWORD_PLACEHOLDER}/"$vrrp_pass"}`,
      "install -d -m 0755 /etc/keepalived",
      `put ${CHECK_APISERVER} 0755 "$check"`,
      "umask 077",
      "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
      'printf \'%s\\n\' "$conf" >"$work/keepalived.conf"',
      'if ! keepalived --config-test -f "$work/keepalived.conf" >"$work/test.log" 2>&1; then',
      `  grep -v 'auth_pass' "$work/test.log" >&2 || true`,
      "  fail 'the rendered keepalived.conf does not pass keepalived --config-test; nothing was changed'",
      "fi",
      `put ${KEEPALIVED_CONF} 0600 "$conf"`,
      "systemctl enable keepalived >/dev/null 2>&1 || fail 'systemctl enable keepalived failed'",
      "if [[ $changed == 1 ]] || ! systemctl is-active --quiet keepalived; then",
      "  systemctl restart keepalived",
      "  say 'keepalived (re)started with the rendered configuration'",
      "else",
      "  say 'keepalived already runs this configuration; nothing to do'",
      "fi",
    ],
  );
}

/** Undoes the keepalived step: stops keepalived and removes the files it wrote (the VIP moves to another control plane). */
export function renderKeepalivedDeleteScript(host: HostSpec): string {
  return script(`remove keepalived's API VIP configuration from ${host.name}`, host.name, [
    `if [[ ! -f ${KEEPALIVED_CONF} ]]; then say 'no keepalived configuration; nothing to undo'; exit 0; fi`,
    "systemctl disable --now keepalived >/dev/null 2>&1 || true",
    `rm -f ${KEEPALIVED_CONF} ${CHECK_APISERVER}`,
    "say 'keepalived stopped and its configuration removed'",
  ]);
}
