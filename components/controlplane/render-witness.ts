import type { ClusterSpec, HostSpec } from "../config/spec";
import { isIp, urlHost } from "../config/network";
import { contentHash, shQuote } from "../host/remote-script";
import { ETCD_FROM_IMAGE } from "./etcd-binaries";
import { PUT, embed, script } from "./render-scripts";

/**
 * A witness etcd member: a third (or fifth) etcd voter on a host that is not a
 * control plane, so two control planes keep quorum when any one node dies. Its
 * files live apart from kubeadm's (`kubeadm reset` on a worker would clear
 * /etc/kubernetes/pki), under these paths.
 */
export const WITNESS = {
  unit: "etcd-witness.service",
  unitPath: "/etc/systemd/system/etcd-witness.service",
  etcDir: "/etc/etcd-witness",
  pkiDir: "/etc/etcd-witness/pki",
  envFile: "/etc/etcd-witness/etcd.env",
  dataDir: "/var/lib/etcd-witness",
  /** Symlinks to the etcd and etcdctl of the cluster's etcd version. */
  binDir: "/usr/local/lib/etcd-witness",
  /** On the leader: the member certificates signed there, kept so a re-run hands out the same ones. */
  leaderStore: "/etc/kubernetes/pki/etcd-witness",
} as const;

/** The certificates kubeadm gives a stacked etcd member, which a witness gets too (signed on the leader). */
export const WITNESS_CERTS = ["server", "peer", "healthcheck-client"] as const;
/** The member's own files: each certificate and its key. */
export const WITNESS_MEMBER_FILES: readonly string[] = WITNESS_CERTS.flatMap((c) => [`${c}.crt`, `${c}.key`]);
/** What the leader hands a witness: the etcd CA's certificate and the member's own files. */
export const WITNESS_BUNDLE_FILES: readonly string[] = ["ca.crt", ...WITNESS_MEMBER_FILES];
/** etcdctl's TLS flags on a witness: its healthcheck-client certificate, as for kubeadm's etcd probes. */
export const WITNESS_ETCDCTL_TLS = `--cacert=${WITNESS.pkiDir}/ca.crt --cert=${WITNESS.pkiDir}/healthcheck-client.crt --key=${WITNESS.pkiDir}/healthcheck-client.key`;

export const PEER_PORT = 2380;
export const CLIENT_PORT = 2379;

export function peerUrl(host: HostSpec): string {
  return `https://${urlHost(host.address)}:${PEER_PORT}`;
}

export function clientUrl(host: HostSpec): string {
  return `https://${urlHost(host.address)}:${CLIENT_PORT}`;
}

/** The client URLs of the voters a witness talks to for `member add`/`remove`: every other voter. */
export function otherVoterEndpoints(voters: HostSpec[], self: HostSpec): string {
  return voters
    .filter((h) => h.name !== self.name)
    .map(clientUrl)
    .join(",");
}

/**
 * The etcd environment file. Not here: the flags whose spelling depends on the
 * etcd version ({@link renderWitnessVersionEnv}) and ETCD_INITIAL_CLUSTER, which
 * the host script builds from `etcdctl member list` after `member add`: what the
 * cluster really holds at that moment.
 */
export function renderWitnessEnv(spec: ClusterSpec, witness: HostSpec): string {
  const pki = WITNESS.pkiDir;
  const entries: [string, string][] = [
    ["ETCD_NAME", witness.name],
    ["ETCD_DATA_DIR", WITNESS.dataDir],
    ["ETCD_LISTEN_PEER_URLS", isIp(witness.address) ? peerUrl(witness) : `https://0.0.0.0:${PEER_PORT}`],
    [
      "ETCD_LISTEN_CLIENT_URLS",
      isIp(witness.address) ? `${clientUrl(witness)},https://127.0.0.1:${CLIENT_PORT}` : `https://0.0.0.0:${CLIENT_PORT}`,
    ],
    ["ETCD_ADVERTISE_CLIENT_URLS", clientUrl(witness)],
    ["ETCD_INITIAL_ADVERTISE_PEER_URLS", peerUrl(witness)],
    ["ETCD_INITIAL_CLUSTER_STATE", "existing"],
    ["ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:2381"],
    ["ETCD_CERT_FILE", `${pki}/server.crt`],
    ["ETCD_KEY_FILE", `${pki}/server.key`],
    ["ETCD_TRUSTED_CA_FILE", `${pki}/ca.crt`],
    ["ETCD_CLIENT_CERT_AUTH", "true"],
    ["ETCD_PEER_CERT_FILE", `${pki}/peer.crt`],
    ["ETCD_PEER_KEY_FILE", `${pki}/peer.key`],
    ["ETCD_PEER_TRUSTED_CA_FILE", `${pki}/ca.crt`],
    ["ETCD_PEER_CLIENT_CERT_AUTH", "true"],
    ["ETCD_SNAPSHOT_COUNT", "10000"],
  ];
  return [
    `# etcd witness member ${witness.name} of cluster ${spec.cluster.name}. Managed by baremetal-k8s.`,
    ...entries.map(([k, v]) => `${k}=${v}`),
    "",
  ].join("\n");
}

/** Which spelling of kubeadm's extra etcd flags an etcd version takes. */
export type EtcdFlagSpelling = "experimental" | "3.6";

/**
 * The two flags kubeadm's static etcd sets on top of the ones above: a data
 * corruption check before the member serves anything, and watch progress
 * notifications every 5 s (the API server's watch bookmarks rely on them).
 * kubeadm 1.33 passes `--experimental-initial-corrupt-check=true` and
 * `--experimental-watch-progress-notify-interval=5s`; for etcd 3.6 and later
 * kubeadm (1.34) uses the `InitialCorruptCheck` feature gate and
 * `--watch-progress-notify-interval`, the only spellings etcd 3.7 knows. etcd
 * 3.4 and 3.5 know only the experimental ones (3.4 ignores ETCD_FEATURE_GATES
 * with a warning). The host script picks the spelling from the etcd version the
 * witness runs, which only the leader knows.
 */
export function renderWitnessVersionEnv(spelling: EtcdFlagSpelling): string {
  const entries: [string, string][] =
    spelling === "3.6"
      ? [
          ["ETCD_FEATURE_GATES", "InitialCorruptCheck=true"],
          ["ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL", "5s"],
        ]
      : [
          ["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "true"],
          ["ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL", "5s"],
        ];
  return entries.map(([k, v]) => `${k}=${v}`).join("\n");
}

export function renderWitnessUnit(spec: ClusterSpec, witness: HostSpec): string {
  return [
    "[Unit]",
    `Description=etcd witness member ${witness.name} of Kubernetes cluster ${spec.cluster.name} (managed by baremetal-k8s)`,
    "Documentation=https://etcd.io/docs/",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=notify",
    `EnvironmentFile=${WITNESS.envFile}`,
    `ExecStart=${WITNESS.binDir}/etcd`,
    "Restart=always",
    "RestartSec=5",
    "LimitNOFILE=65536",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export interface CertRequest {
  /** File stem. */
  name: (typeof WITNESS_CERTS)[number];
  subject: string;
  /** An openssl `x509 -extfile` section. */
  extensions: string;
}

function sanList(witness: HostSpec, withLocalhost: boolean): string {
  const sans = [`DNS:${witness.name}`];
  if (withLocalhost) sans.push("DNS:localhost");
  sans.push(isIp(witness.address) ? `IP:${witness.address}` : `DNS:${witness.address}`);
  if (withLocalhost) sans.push("IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1");
  return [...new Set(sans)].join(",");
}

/**
 * The three certificates kubeadm gives a stacked etcd member, for the witness:
 * server (clients and the API server), peer (other members) and
 * healthcheck-client (for etcdctl), all signed by the cluster's etcd CA.
 */
export function renderWitnessCertRequests(witness: HostSpec): CertRequest[] {
  const common = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n";
  return [
    {
      name: "server",
      subject: `/CN=${witness.name}`,
      extensions: `${common}extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${sanList(witness, true)}\n`,
    },
    {
      name: "peer",
      subject: `/CN=${witness.name}`,
      extensions: `${common}extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${sanList(witness, true)}\n`,
    },
    { name: "healthcheck-client", subject: "/CN=kube-etcd-healthcheck-client", extensions: `${common}extendedKeyUsage=clientAuth\n` },
  ];
}

// --- host scripts ---------------------------------------------------------

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
      `if [[ -f $store/request && $(<"$store/request") == "$request" ]] && openssl verify -CAfile "$ca/ca.crt" ${WITNESS_CERTS.map((c) => `"$store/${c}.crt"`).join(" ")} >/dev/null 2>&1; then`,
      `  say 'reusing the certificates signed for ${witness.name} before'`,
      "else",
      ...sign,
      '  printf \'%s\\n\' "$request" >"$store/request"',
      `  say 'signed server, peer and healthcheck-client certificates for ${witness.name}'`,
      "fi",
      "printf 'etcd-version %s\\n' \"$version\"",
      "printf 'etcd-image %s\\n' \"$image\"",
      'printf \'ca.crt %s\\n\' "$(base64 -w0 <"$ca/ca.crt")"',
      `for f in ${WITNESS_MEMBER_FILES.join(" ")}; do`,
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
  return [
    `endpoints=${shQuote(endpoints)}`,
    "ctl() {",
    `  ETCDCTL_API=3 ${WITNESS.binDir}/etcdctl --endpoints="$endpoints" ${WITNESS_ETCDCTL_TLS} --dial-timeout=5s --command-timeout=15s "$@"`,
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
