import type { ClusterSpec, HostSpec } from "../config/spec";
import { contentHash, shQuote } from "../host/remote-script";
import { ETCD_FROM_IMAGE } from "./etcd-binaries";
import {
  KUBEADM_VERSION_PLACEHOLDER,
  PLACEHOLDER,
  renderInitConfig,
  renderJoinConfig,
  renderUploadCertsConfig,
  isControlPlane,
} from "./render-kubeadm";
import {
  CHECK_APISERVER,
  KEEPALIVED_CONF,
  VRRP_PASSWORD_PLACEHOLDER,
  renderCheckApiserver,
  renderKeepalivedConf,
  type KeepalivedRole,
} from "./render-keepalived";
import {
  CLIENT_PORT,
  PEER_PORT,
  WITNESS,
  otherVoterEndpoints,
  peerUrl,
  renderWitnessCertRequests,
  renderWitnessEnv,
  renderWitnessUnit,
  renderWitnessVersionEnv,
} from "./render-witness";

/**
 * The host scripts of the control plane, as pure functions of the spec. Every
 * script is bash with `set -euo pipefail`, idempotent (it checks the state and
 * says so when there is nothing to do), and reads its secrets on stdin, one per
 * line, never from its own text or arguments. Nothing a script prints contains
 * a secret: kubeadm's output goes through `redact` into a root-only log.
 */

const EOF = "BAREMETAL_K8S_EOF";
const LOG_DIR = "/var/log/baremetal-k8s";
const ADMIN_CONF = "/etc/kubernetes/admin.conf";
const TOKEN_RE = "^[a-z0-9]{6}\\.[a-z0-9]{16}$";
const CERT_KEY_RE = "^[a-f0-9]{64}$";
const CA_HASH_RE = "^sha256:[a-f0-9]{64}$";
const VRRP_RE = "^[A-Za-z0-9]{1,8}$";

function script(title: string, host: string, body: string[]): string {
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
function embed(variable: string, content: string): string[] {
  if (content.split("\n").includes(EOF)) throw new Error(`embed: content contains the heredoc delimiter ${EOF}`);
  return [`${variable}=$(cat <<'${EOF}'`, content.replace(/\n$/, ""), EOF, ")"];
}

/** Reads one secret line from stdin into `variable` and checks its shape; the message names what is missing, never the value. */
function readSecret(variable: string, what: string, re: string): string[] {
  return [
    `IFS= read -r ${variable} || true`,
    `re=${shQuote(re)}`,
    `[[ $${variable} =~ $re ]] || fail ${shQuote(`expected ${what} on stdin (line missing or malformed)`)}`,
  ];
}

/** Writes `$3` to `$1` with mode `$2` only when it differs; sets changed=1 when it wrote. */
const PUT = [
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
function redactFn(vars: { variable: string; label: string }[]): string[] {
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

/** Longest first, so a secret that contains another is replaced whole. */
function tokenRedactions(withCertKey: boolean) {
  return [
    ...(withCertKey ? [{ variable: "cert_key", label: "certificate-key" }] : []),
    { variable: "token", label: "bootstrap-token" },
    { variable: "token_secret", label: "bootstrap-token-secret" },
  ];
}

/** Runs a kubeadm command line with its output redacted into a root-only log; on failure shows the log's tail and the remedy. */
function runLogged(command: string, log: string, remedy: string): string[] {
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

// --- keepalived ---------------------------------------------------------

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

// --- leader -------------------------------------------------------------

/** `kubeadm init --upload-certs` on the leader, skipped when the cluster exists; prints the admin kubeconfig on stdout (a secret output). */
export function renderInitScript(spec: ClusterSpec, leader: HostSpec): string {
  return script(
    `kubeadm init on ${leader.name}, the leader. stdin: bootstrap token, certificate key. stdout: the admin kubeconfig.`,
    leader.name,
    [
      ...readSecret("token", "the bootstrap token", TOKEN_RE),
      ...readSecret("cert_key", "the certificate key", CERT_KEY_RE),
      "token_secret=${token#*.}",
      ...redactFn(tokenRedactions(true)),
      `if [[ -f ${ADMIN_CONF} ]]; then`,
      `  say 'already initialised (${ADMIN_CONF} exists): kubeadm init is not run again; ClusterConfiguration changes need kubeadm upgrade or kubectl -n kube-system edit cm kubeadm-config'`,
      "else",
      "  command -v kubeadm >/dev/null || fail 'kubeadm is not installed: node preparation installs it'",
      "  umask 077",
      "  work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
      ...embed("template", renderInitConfig(spec, leader)),
      `  config=\${template//${PLACEHOLDER.token}/"$token"}`,
      `  config=\${config//${PLACEHOLDER.certificateKey}/"$cert_key"}`,
      '  printf \'%s\\n\' "$config" >"$work/kubeadm.yaml"',
      ...runLogged(
        'kubeadm init --config "$work/kubeadm.yaml" --upload-certs',
        "kubeadm-init.log",
        `kubeadm init failed. Fix the cause, run 'kubeadm reset -f' on ${leader.name}, then pulumi up again`,
      ).map((l) => `  ${l}`),
      "  say 'kubeadm init finished'",
      "fi",
      `cat ${ADMIN_CONF}`,
    ],
  );
}

/** The leader is never reset by a delete: that would destroy the cluster's etcd data. */
export function renderInitDeleteScript(leader: HostSpec): string {
  return script(`leader ${leader.name} leaves the stack`, leader.name, [
    `say 'left running: ${leader.name} holds the cluster state (etcd). To tear the cluster down, run kubeadm reset -f on it yourself'`,
  ]);
}

/**
 * The bootstrap token made valid for another 24 h (it expires after 24 h, and
 * hosts may be added weeks after kubeadm init): a server-side apply of its
 * Secret, which leaves no last-applied annotation holding the token secret.
 * Needs `$token` read from stdin.
 */
function refreshTokenLines(): string[] {
  return [
    `export KUBECONFIG=${ADMIN_CONF}`,
    "id=${token%%.*}",
    "expiration=$(date -u -d '+24 hours' +%Y-%m-%dT%H:%M:%SZ)",
    `if ! kubectl apply --server-side --force-conflicts --field-manager=baremetal-k8s -f - >/dev/null <<${EOF}`,
    "apiVersion: v1",
    "kind: Secret",
    "metadata:",
    "  name: bootstrap-token-${id}",
    "  namespace: kube-system",
    "type: bootstrap.kubernetes.io/token",
    "stringData:",
    '  token-id: "${id}"',
    '  token-secret: "${token#*.}"',
    '  expiration: "${expiration}"',
    '  usage-bootstrap-authentication: "true"',
    '  usage-bootstrap-signing: "true"',
    "  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token",
    EOF,
    "then",
    "  fail 'could not create or refresh the bootstrap token (kubectl apply failed)'",
    "fi",
    'say "bootstrap token valid until $expiration"',
  ];
}

/** Prints the cluster CA's public key hash, which joins pin (`caCertHashes`), as the script's only stdout. */
const PRINT_CA_HASH = [
  "hash=$(openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)",
  "printf 'sha256:%s\\n' \"$hash\"",
];

/**
 * On the leader, right before one worker's join: the bootstrap token valid for
 * another 24 h and the CA hash on stdout. One such step per joining host, so
 * adding a host changes no existing step.
 */
export function renderJoinTokenScript(leader: HostSpec, joiner: HostSpec): string {
  return script(
    `on ${leader.name}: bootstrap token and CA hash for ${joiner.name}'s join. stdin: the bootstrap token. stdout: the CA cert hash.`,
    leader.name,
    [...readSecret("token", "the bootstrap token", TOKEN_RE), ...refreshTokenLines(), ...PRINT_CA_HASH],
  );
}

/**
 * On the leader, right before a control-plane join: the bootstrap token valid
 * again, the control-plane certificates re-uploaded (the uploaded copy expires
 * after 2 h), and the CA hash on stdout. The upload reads the leader's own
 * InitConfiguration (with the certificate key in it: kubeadm refuses
 * `--certificate-key` next to `--config`): without one, kubeadm defaults an
 * InitConfiguration whose advertise address comes from the default route, and
 * fails on a host that has none (air-gapped, static routes only).
 */
export function renderUploadCertsScript(spec: ClusterSpec, leader: HostSpec, follower: HostSpec): string {
  return script(
    `on ${leader.name}: bootstrap token and fresh control-plane certificates for ${follower.name}'s join. stdin: bootstrap token, certificate key. stdout: the CA cert hash.`,
    leader.name,
    [
      ...readSecret("token", "the bootstrap token", TOKEN_RE),
      ...readSecret("cert_key", "the certificate key", CERT_KEY_RE),
      "token_secret=${token#*.}",
      ...redactFn(tokenRedactions(true)),
      ...refreshTokenLines(),
      "umask 077",
      "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
      "kubeadm_version=$(kubeadm version -o short) || fail 'kubeadm version failed: is kubeadm installed?'",
      ...embed("template", renderUploadCertsConfig(spec, leader)),
      `config=\${template//${PLACEHOLDER.certificateKey}/"$cert_key"}`,
      `config=\${config//${KUBEADM_VERSION_PLACEHOLDER}/"$kubeadm_version"}`,
      'printf \'%s\\n\' "$config" >"$work/kubeadm.yaml"',
      ...runLogged(
        'kubeadm init phase upload-certs --upload-certs --config "$work/kubeadm.yaml"',
        `upload-certs-${follower.name}.log`,
        `uploading the control-plane certificates for ${follower.name} failed: is ${leader.name}'s API server up?`,
      ),
      `say 'control-plane certificates uploaded for ${follower.name} (valid 2 hours)'`,
      ...PRINT_CA_HASH,
    ],
  );
}

/** For steps whose undoing is nothing (or is done by another step's delete). */
export function renderNothingToUndoScript(host: HostSpec, what: string): string {
  return script(`${what}: nothing to undo`, host.name, [`say ${shQuote(`${what}: nothing to undo`)}`]);
}

// --- joins --------------------------------------------------------------

/** `kubeadm join` (with `--control-plane` for followers), skipped when the host has joined. stdin: token, CA hash[, certificate key]. */
export function renderJoinScript(spec: ClusterSpec, host: HostSpec): string {
  const cp = isControlPlane(host);
  const guard = cp ? "/etc/kubernetes/manifests/kube-apiserver.yaml" : "/etc/kubernetes/kubelet.conf";
  return script(
    `kubeadm join on ${host.name} as a ${cp ? "control plane" : "worker"}. stdin: bootstrap token, CA cert hash${cp ? ", certificate key" : ""}.`,
    host.name,
    [
      ...readSecret("token", "the bootstrap token", TOKEN_RE),
      ...readSecret("ca_hash", "the CA cert hash", CA_HASH_RE),
      ...(cp ? readSecret("cert_key", "the certificate key", CERT_KEY_RE) : []),
      "token_secret=${token#*.}",
      ...redactFn(tokenRedactions(cp)),
      ...(cp ? [] : waitForOwnNode(host)),
      `if [[ -f ${guard} ]]; then say 'already joined (${guard} exists); nothing to do'; ${cp ? "exit 0" : "wait_for_node; exit 0"}; fi`,
      ...(cp
        ? [
            "if [[ -f /etc/kubernetes/kubelet.conf ]]; then",
            `  fail 'has joined before, but not as a control plane (or a join stopped half-way): run kubeadm reset -f on ${host.name}, remove its etcd member if etcdctl member list shows it, then pulumi up again'`,
            "fi",
          ]
        : []),
      "command -v kubeadm >/dev/null || fail 'kubeadm is not installed: node preparation installs it'",
      "umask 077",
      "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
      ...embed("template", renderJoinConfig(spec, host)),
      `config=\${template//${PLACEHOLDER.token}/"$token"}`,
      `config=\${config//${PLACEHOLDER.caCertHash}/"$ca_hash"}`,
      ...(cp ? [`config=\${config//${PLACEHOLDER.certificateKey}/"$cert_key"}`] : []),
      'printf \'%s\\n\' "$config" >"$work/kubeadm.yaml"',
      ...runLogged(
        'kubeadm join --config "$work/kubeadm.yaml"',
        "kubeadm-join.log",
        `kubeadm join failed. Fix the cause, run 'kubeadm reset -f' on ${host.name}${cp ? " (and remove its etcd member if it was added)" : ""}, then pulumi up again`,
      ),
      `say 'joined the cluster as a ${cp ? "control plane" : "worker"}'`,
      ...(cp ? [] : ["wait_for_node"]),
    ],
  );
}

/**
 * A worker waits for its own Node, with its own kubelet credentials (the Node
 * authorizer lets a kubelet read Nodes): the leader needs no session per worker.
 */
function waitForOwnNode(worker: HostSpec): string[] {
  return [
    "wait_for_node() {",
    "  for _ in $(seq 1 60); do",
    `    if kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node ${worker.name} >/dev/null 2>&1; then say 'Node ${worker.name} is registered'; return 0; fi`,
    "    sleep 5",
    "  done",
    `  fail 'Node ${worker.name} did not register within 5 minutes of its join: check the kubelet (journalctl -u kubelet)'`,
    "}",
  ];
}

/**
 * A control plane leaving: drained, its etcd member removed first (etcd keeps
 * quorum), then `kubeadm reset`, then its Node deleted. A worker leaving: only
 * `kubeadm reset` here; the drain and Node deletion run on the leader before
 * (the `-node` step, deleted first).
 */
export function renderJoinDeleteScript(host: HostSpec): string {
  const cp = isControlPlane(host);
  const body = [
    "if [[ ! -f /etc/kubernetes/kubelet.conf && ! -f /etc/kubernetes/manifests/kube-apiserver.yaml ]]; then say 'not joined; nothing to undo'; exit 0; fi",
    "command -v kubeadm >/dev/null || fail 'kubeadm is not installed, cannot reset'",
  ];
  if (cp) {
    body.push(
      "umask 077",
      "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
      `cp ${ADMIN_CONF} "$work/admin.conf"`,
      `kubectl --kubeconfig "$work/admin.conf" drain ${host.name} --ignore-daemonsets --delete-emptydir-data --timeout=300s >&2 || fail 'drain failed (a PodDisruptionBudget?): nothing was removed; resolve it and run pulumi up again'`,
      `kubeadm reset phase remove-etcd-member --kubeconfig "$work/admin.conf" >&2 || fail 'could not remove the etcd member: is etcd healthy on the other voters? nothing else was changed'`,
      "say 'left etcd'",
      "kubeadm reset -f >&2",
      `kubectl --kubeconfig "$work/admin.conf" delete node ${host.name} --ignore-not-found >&2`,
      "say 'reset and removed from the cluster'",
    );
  } else {
    body.push("kubeadm reset -f >&2", "say 'kubeadm reset done'");
  }
  return script(`${host.name} leaves the cluster`, host.name, body);
}

/** On the leader, per worker: waits until the worker's Node is registered. */
/** On the leader, when a worker is removed: drain it and delete its Node (its `kubeadm reset` runs next, on the worker). */
export function renderNodeDeleteScript(leader: HostSpec, worker: HostSpec): string {
  return script(`on ${leader.name}: drain and delete Node ${worker.name}`, leader.name, [
    `export KUBECONFIG=${ADMIN_CONF}`,
    `if ! kubectl get node ${worker.name} >/dev/null 2>&1; then say 'no Node ${worker.name}; nothing to drain'; exit 0; fi`,
    `kubectl drain ${worker.name} --ignore-daemonsets --delete-emptydir-data --timeout=300s >&2 || fail 'draining ${worker.name} failed (a PodDisruptionBudget?): nothing was removed; resolve it and run pulumi up again'`,
    `kubectl delete node ${worker.name} >&2`,
    `say 'Node ${worker.name} drained and deleted'`,
  ]);
}

// --- witness etcd member --------------------------------------------------

export const WITNESS_BUNDLE_FILES = [
  "ca.crt",
  "server.crt",
  "server.key",
  "peer.crt",
  "peer.key",
  "healthcheck-client.crt",
  "healthcheck-client.key",
] as const;

/**
 * On the leader: signs the witness's server, peer and healthcheck-client
 * certificates with the cluster's etcd CA (whose key stays there), keeps them so
 * a re-run hands out the same ones, and prints a bundle on stdout (a secret
 * output): the etcd version, then `file base64` lines.
 */
export function renderWitnessCertsScript(leader: HostSpec, witness: HostSpec): string {
  const requests = renderWitnessCertRequests(witness);
  const requestHash = contentHash(...requests.map((r) => `${r.name}\n${r.subject}\n${r.extensions}`));
  const store = `${WITNESS.leaderStore}/${witness.name}`;
  const sign: string[] = [];
  for (const r of requests) {
    sign.push(
      ...embed("ext", r.extensions),
      `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$store/${r.name}.key" -out "$work/${r.name}.csr" -subj ${shQuote(r.subject)} 2>/dev/null`,
      `openssl x509 -req -sha256 -days 365 -in "$work/${r.name}.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -set_serial "0x$(openssl rand -hex 16)" -extfile <(printf '%s\\n' "$ext") -out "$store/${r.name}.crt" 2>/dev/null`,
    );
  }
  return script(
    `on ${leader.name}: etcd member certificates for witness ${witness.name}. stdout: the certificate bundle (secret).`,
    leader.name,
    [
      "ca=/etc/kubernetes/pki/etcd",
      `[[ -f $ca/ca.crt && -f $ca/ca.key ]] || fail 'has no etcd CA in /etc/kubernetes/pki/etcd: kubeadm init has not run here, or the cluster uses external etcd'`,
      `manifest=/etc/kubernetes/manifests/etcd.yaml`,
      '[[ -f $manifest ]] || fail "has no $manifest: cannot tell which etcd version the witness must run"',
      "version=$(sed -n 's#^ *image: .*/etcd:\\([0-9][0-9]*\\.[0-9][0-9]*\\.[0-9][0-9]*\\).*#\\1#p' \"$manifest\" | head -n 1)",
      '[[ -n $version ]] || fail "cannot read the etcd version from the image in $manifest"',
      'image=$(sed -n \'s#^ *image: *"\\{0,1\\}\\([^" ]*/etcd[:@][^" ]*\\)"\\{0,1\\} *$#\\1#p\' "$manifest" | head -n 1)',
      "# The witness takes its etcd from the very image this control plane runs: pinned by the digest containerd recorded here.",
      "if [[ -n $image && $image != *@sha256:* ]] && command -v ctr >/dev/null; then",
      "  digest=$(ctr -n k8s.io images ls \"name==$image\" 2>/dev/null | awk 'NR == 2 { print $3 }')",
      '  if [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]]; then image="${image%:*}@$digest"; fi',
      "fi",
      'if [[ $image != *@sha256:* ]]; then say "cannot find the digest of the etcd image ${image:-?} in containerd here: the witness pulls it by tag"; fi',
      "umask 077",
      `store=${store}`,
      'install -d -m 0700 "$store"',
      "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
      `request=${requestHash}`,
      `if [[ -f $store/request && $(<"$store/request") == "$request" ]] && openssl verify -CAfile "$ca/ca.crt" "$store/server.crt" "$store/peer.crt" "$store/healthcheck-client.crt" >/dev/null 2>&1; then`,
      `  say 'reusing the certificates signed for ${witness.name} before'`,
      "else",
      ...sign,
      '  printf \'%s\\n\' "$request" >"$store/request"',
      `  say 'signed server, peer and healthcheck-client certificates for ${witness.name}'`,
      "fi",
      "printf 'etcd-version %s\\n' \"$version\"",
      "printf 'etcd-image %s\\n' \"$image\"",
      'printf \'ca.crt %s\\n\' "$(base64 -w0 <"$ca/ca.crt")"',
      "for f in server.crt server.key peer.crt peer.key healthcheck-client.crt healthcheck-client.key; do",
      '  printf \'%s %s\\n\' "$f" "$(base64 -w0 <"$store/$f")"',
      "done",
    ],
  );
}

export function renderWitnessCertsDeleteScript(leader: HostSpec, witness: HostSpec): string {
  return script(`on ${leader.name}: forget the certificates of witness ${witness.name}`, leader.name, [
    `rm -rf ${WITNESS.leaderStore}/${witness.name}`,
    `say 'removed the stored certificates of ${witness.name}'`,
  ]);
}

function etcdctlFn(endpoints: string): string[] {
  const pki = WITNESS.pkiDir;
  return [
    `endpoints=${shQuote(endpoints)}`,
    "ctl() {",
    `  ETCDCTL_API=3 ${WITNESS.binDir}/etcdctl --endpoints="$endpoints" --cacert=${pki}/ca.crt --cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key --dial-timeout=5s --command-timeout=15s "$@"`,
    "}",
  ];
}

/**
 * From `$version` (checked to be N.N.N): fails for an etcd without learners
 * (before 3.4), and sets `$versioned` to the version-dependent lines of the env
 * file (see renderWitnessVersionEnv).
 */
export function witnessVersionLines(): string[] {
  return [
    'IFS=. read -r major minor _ <<<"$version"',
    "major=$((10#$major)) minor=$((10#$minor))",
    "if (( major < 3 || (major == 3 && minor < 4) )); then",
    '  fail "the cluster runs etcd $version, which has no learner members (etcd 3.4 added them): a witness joins as a learner and needs etcd 3.4 or later"',
    "fi",
    "if (( major == 3 && minor < 6 )); then",
    `  versioned=${shQuote(renderWitnessVersionEnv("experimental"))}`,
    "else",
    `  versioned=${shQuote(renderWitnessVersionEnv("3.6"))}`,
    "fi",
  ];
}

/**
 * awk over `etcdctl member list` (ID, status, name, peer URLs, client URLs,
 * is-learner): the `--initial-cluster` of the member at `$peer`, named `$name`.
 * Every member is in it, as etcd wants for `initial-cluster-state=existing`;
 * an unstarted member has no name yet and goes by its hex ID, as kubeadm
 * names it, so two of them cannot collide on the empty name.
 */
export const INITIAL_CLUSTER_AWK = [
  `awk -F', ' -v self="$name" -v peer="$peer" '{`,
  '  n = split($4, url, ","); who = ($3 == "" ? $1 : $3)',
  "  for (i = 1; i <= n; i++) if (url[i] == peer) who = self",
  '  for (i = 1; i <= n; i++) { printf "%s%s=%s", sep, who, url[i]; sep = "," }',
  "}'",
].join("\n");

/**
 * `promote_learner ID`: `etcdctl member promote`, retried every 2 s while etcd
 * says the learner is not in sync with the leader yet (or the cluster is busy),
 * for `tries` attempts; then a failure that says what stays and what to check.
 */
export function promoteLearnerLines(tries: number): string[] {
  const seconds = tries * 2;
  return [
    "promote_learner() {",
    "  local id=$1 out=''",
    `  for _ in $(seq 1 ${tries}); do`,
    '    if out=$(ctl member promote "$id" 2>&1); then say "promoted from learner to voting member (member $id)"; return 0; fi',
    "    case $out in",
    "      *'in sync with leader'*) ;;",
    `      *'can only promote a learner member'*) say "member $id is a voting member already"; return 0 ;;`,
    `      *'member not found'*) fail "etcd member $id was removed while it was a learner: run pulumi up again to add it anew" ;;`,
    "    esac",
    "    sleep 2",
    "  done",
    `  fail "the learner $id did not catch up with the etcd leader within ${seconds} s (etcd: $(tail -n 1 <<<"$out")). It stays a learner, without a vote, so quorum does not depend on it: check journalctl -u ${WITNESS.unit} on $host and port ${PEER_PORT} between it and the control planes, then run pulumi up again"`,
    "}",
  ];
}

/** Seconds a learner gets to catch up before the step fails (kubeadm gives its etcd API calls 2 minutes). */
const PROMOTE_TRIES = 60;

/**
 * On the witness: installs the certificates from stdin, the etcd of the
 * cluster's version, `etcdctl member add --learner` (retried: etcd refuses while
 * members have been connected for less than ~5 s), runs etcd as a service with
 * `initial-cluster-state=existing`, promotes the learner to a voter once it has
 * caught up, and waits for it to be healthy. A re-run continues where a failed
 * one stopped (an added but unstarted member is started, not added again; a
 * started learner is promoted) and changes nothing once the member votes.
 */
export function renderWitnessMemberScript(spec: ClusterSpec, witness: HostSpec, otherVoters: HostSpec[]): string {
  const pki = WITNESS.pkiDir;
  const endpoints = otherVoterEndpoints(otherVoters, witness);
  const peer = peerUrl(witness);
  return script(`witness etcd member ${witness.name}. stdin: the certificate bundle from the leader.`, witness.name, [
    `name=${shQuote(witness.name)}`,
    `peer=${shQuote(peer)}`,
    `data=${WITNESS.dataDir}`,
    "umask 077",
    "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
    ETCD_FROM_IMAGE,
    "version='' image=''",
    "while read -r entry value || [[ -n $entry ]]; do",
    '  case "$entry" in',
    "    etcd-version) version=$value ;;",
    "    etcd-image) image=$value ;;",
    `    ${WITNESS_BUNDLE_FILES.join("|")}) printf '%s' "$value" | base64 -d >"$work/$entry" || fail "entry $entry of the certificate bundle is not base64" ;;`,
    '    "") ;;',
    '    *) fail "unexpected entry $entry in the certificate bundle on stdin" ;;',
    "  esac",
    "done",
    "re='^[0-9]+\\.[0-9]+\\.[0-9]+$'",
    "[[ $version =~ $re ]] || fail 'expected the etcd version in the certificate bundle on stdin'",
    ...witnessVersionLines(),
    `for f in ${WITNESS_BUNDLE_FILES.join(" ")}; do [[ -s $work/$f ]] || fail "the certificate bundle on stdin lacks $f"; done`,
    ...PUT,
    `install -d -m 0700 ${WITNESS.etcDir} ${pki}`,
    `for f in ${WITNESS_BUNDLE_FILES.join(" ")}; do put "${pki}/$f" 0600 "$(<"$work/$f")"; done`,
    "# The etcd of the cluster's version: a member of another minor version may be refused.",
    `dir=${WITNESS.binDir}/v$version`,
    "if [[ -x $dir/etcd && -x $dir/etcdctl ]]; then",
    "  :",
    "# An installed etcd of the same minor version will do: members of one minor version interoperate.",
    "elif command -v etcd >/dev/null && command -v etcdctl >/dev/null && [[ $(etcd --version | sed -n 's/^etcd Version: //p') == \"${version%.*}\".* ]]; then",
    '  install -d -m 0755 "$dir"',
    '  ln -sfn "$(command -v etcd)" "$dir/etcd"',
    '  ln -sfn "$(command -v etcdctl)" "$dir/etcdctl"',
    "# Otherwise the binaries of the image the control planes run (content-addressed by containerd), never an unverified download.",
    "else",
    '  [[ -n $image ]] || fail "etcd $version is not installed here and the certificate bundle names no etcd image: run pulumi up again so the leader hands out a new bundle"',
    '  etcd_from_image "$image" "$version" "$dir"',
    '  say "took etcd $version from the image $image"',
    "fi",
    `ln -sfn "$dir/etcd" ${WITNESS.binDir}/etcd`,
    `ln -sfn "$dir/etcdctl" ${WITNESS.binDir}/etcdctl`,
    ...etcdctlFn(endpoints),
    "# Every member's line of `etcdctl member list`: ID, status, name, peer URLs, client URLs, is-learner.",
    "members() {",
    "  list=''",
    '  for _ in $(seq 1 20); do list=$(ctl member list 2>"$work/ctl.err") && [[ -n $list ]] && return 0; sleep 3; done',
    '  fail "cannot list the etcd members at $endpoints: $(tail -n 1 "$work/ctl.err")"',
    "}",
    "# The line of the member at this host's peer URL.",
    `self_line() { awk -F', ' -v peer="$peer" '{ n = split($4, url, ","); for (i = 1; i <= n; i++) if (url[i] == peer) { print; next } }' <<<"$list"; }`,
    ...promoteLearnerLines(PROMOTE_TRIES),
    "members",
    "line=$(self_line)",
    'initial=""',
    "if [[ -n $line && -d $data/member ]]; then",
    "  say 'already an etcd member with data here'",
    `  initial=$(sed -n 's/^ETCD_INITIAL_CLUSTER=//p' ${WITNESS.envFile} 2>/dev/null || true)`,
    "elif [[ -n $line ]]; then",
    '  [[ $line == *", unstarted, "* ]] || fail "is listed as a started etcd member but has no data in $data: remove it (etcdctl member remove) and run pulumi up again"',
    "  # A run that stopped between member add and the start of etcd: the member is there, it only has to start.",
    "  if [[ $line == *', true' ]]; then",
    "    say 'added to etcd as a learner before but never started: starting it'",
    "  else",
    "    say 'added to etcd as a voter (by an earlier version) but never started: starting it'",
    "  fi",
    "else",
    '  if [[ -d $data ]]; then mv "$data" "$data.removed-$(date +%s)"; say "moved the old data of a former member aside"; fi',
    "  # As a learner, as kubeadm adds members: it receives the log without a vote, so quorum never waits",
    "  # for a member that has not started or caught up. Promoted below once it is in sync.",
    "  added=''",
    "  for _ in $(seq 1 30); do",
    '    if ctl member add "$name" --learner --peer-urls="$peer" >/dev/null 2>"$work/add.err"; then added=yes; break; fi',
    "    # An add whose answer timed out may have gone through: etcd then refuses it as a duplicate.",
    "    if grep -q 'Peer URLs already exists' \"$work/add.err\"; then added=yes; break; fi",
    "    sleep 2",
    "  done",
    '  [[ -n $added ]] || fail "etcdctl member add --learner failed for a minute: $(tail -n 1 "$work/add.err")"',
    "  for _ in $(seq 1 10); do members; line=$(self_line); [[ -z $line ]] || break; sleep 1; done",
    '  [[ -n $line ]] || fail "etcd accepted member add, but its member list shows no member at $peer"',
    '  say "added to etcd as a learner (member ${line%%, *})"',
    "fi",
    "id=${line%%, *}",
    "learner=${line##*, }",
    "if [[ -z $initial ]]; then",
    `  other=$(awk -F', ' -v self="$name" -v peer="$peer" '$3 == self && index("," $4 ",", "," peer ",") == 0 { print $1 }' <<<"$list")`,
    '  [[ -z $other ]] || fail "etcd member $other is named $name too but has another peer URL: remove it (etcdctl member remove $other) and run pulumi up again"',
    `  initial=$(${INITIAL_CLUSTER_AWK} <<<"$list")`,
    "fi",
    ...embed("env", renderWitnessEnv(spec, witness)),
    `put ${WITNESS.envFile} 0600 "$env"$'\\n'"$versioned"$'\\n'"ETCD_INITIAL_CLUSTER=$initial"`,
    ...embed("unit", renderWitnessUnit(spec, witness)),
    `put ${WITNESS.unitPath} 0644 "$unit"`,
    "systemctl daemon-reload",
    `systemctl enable ${WITNESS.unit} >/dev/null 2>&1 || fail 'systemctl enable ${WITNESS.unit} failed'`,
    `if [[ $changed == 1 ]] || ! systemctl is-active --quiet ${WITNESS.unit}; then systemctl restart ${WITNESS.unit}; fi`,
    "# A learner answers no health check: promoted first (through the voters), then checked.",
    'if [[ $learner == true ]]; then promote_learner "$id"; fi',
    `local_ep=https://127.0.0.1:${CLIENT_PORT}`,
    "for _ in $(seq 1 60); do",
    '  if ctl --endpoints="$local_ep" endpoint health >/dev/null 2>&1; then say "etcd member $name is healthy"; exit 0; fi',
    "  sleep 1",
    "done",
    `fail 'etcd did not become healthy within a minute: see journalctl -u ${WITNESS.unit}'`,
  ]);
}

/** The witness leaving: removed from etcd first (while the others keep quorum), then its service stopped; its data is moved aside, not deleted. */
export function renderWitnessMemberDeleteScript(witness: HostSpec, otherVoters: HostSpec[]): string {
  return script(`witness etcd member ${witness.name} leaves etcd`, witness.name, [
    `peer=${shQuote(peerUrl(witness))}`,
    `data=${WITNESS.dataDir}`,
    `if [[ ! -f ${WITNESS.unitPath} && ! -d $data ]]; then say 'no witness member here; nothing to undo'; exit 0; fi`,
    ...etcdctlFn(otherVoterEndpoints(otherVoters, witness)),
    "work=$(mktemp -d); trap 'rm -rf \"$work\"' EXIT",
    'list=$(ctl member list) || fail "cannot reach the other etcd members at $endpoints: the member stays; fix them and run pulumi up again"',
    "id=$(awk -F', ' -v peer=\"$peer\" '$4 == peer { print $1 }' <<<\"$list\")",
    "if [[ -n $id ]]; then",
    '  # Retried: etcd refuses membership changes ("unhealthy cluster") until members have been connected ~5 s.',
    "  removed=''",
    '  for _ in $(seq 1 30); do if ctl member remove "$id" >/dev/null 2>"$work/remove.err"; then removed=yes; break; fi; sleep 2; done',
    '  [[ -n $removed ]] || fail "etcdctl member remove $id failed for a minute ($(tail -n 1 "$work/remove.err")): the member stays; nothing else was changed"',
    "  say 'removed from etcd'",
    "else",
    "  say 'not an etcd member (any more)'",
    "fi",
    `systemctl disable --now ${WITNESS.unit} >/dev/null 2>&1 || true`,
    `rm -f ${WITNESS.unitPath}`,
    "systemctl daemon-reload || true",
    'if [[ -d $data ]]; then mv "$data" "$data.removed-$(date +%s)"; say "data moved aside to $data.removed-*"; fi',
  ]);
}
