import { stringify } from "yaml";
import { containerRuntimeOf, type ClusterSpec, type HostSpec } from "../config/spec";
import { CRIO_SOCKET } from "../host/render-crio";
import { isIp, urlHost } from "../config/network";
import { CONTROL_PLANE_TAINT, isControlPlane, parseTaint, type Taint } from "../config/predicates";
import { volumePluginDir } from "../host/render-node-prep";
import { EOF, embed, readSecret, redactFn, runLogged, script } from "./render-scripts";

/**
 * kubeadm: its `v1beta4` configuration, rendered from the spec, and the host
 * scripts that run it (init, certificate upload and token refresh on the leader,
 * joins, and what undoes them).
 */

/**
 * kubeadm `v1beta4` configuration, rendered from the spec. Secrets never pass
 * through here: the bootstrap token, certificate key and CA hash are written as
 * the placeholders below, and the host script that runs kubeadm substitutes the
 * values it reads on stdin. So the plan can show the whole config.
 */
export const PLACEHOLDER = {
  token: "__BOOTSTRAP_TOKEN__",
  certificateKey: "__CERTIFICATE_KEY__",
  caCertHash: "__CA_CERT_HASH__",
} as const;

export const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
export const CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";

/** The runtime's socket kubeadm and the kubelet talk to: containerd's, or CRI-O's with `containerRuntime: crio`. */
export function criSocket(spec: ClusterSpec): string {
  return containerRuntimeOf(spec) === "crio" ? CRIO_SOCKET : CRI_SOCKET;
}
/** How long the bootstrap token kubeadm init creates stays valid; the leader refreshes it before later joins. */
export const BOOTSTRAP_TOKEN_TTL = "24h0m0s";

/** The taints a node registers with: the host's own, plus the control-plane taint unless the control plane also has role worker. */
export function nodeTaints(host: HostSpec): Taint[] {
  const own = host.taints.map(parseTaint);
  const cp = isControlPlane(host) && !host.roles.includes("worker") ? [{ ...CONTROL_PLANE_TAINT }] : [];
  return [...cp, ...own.filter((t) => !(t.key === CONTROL_PLANE_TAINT.key && cp.length > 0))];
}

export function endpointHostPort(spec: ClusterSpec): string {
  const { address, port } = spec.cluster.endpoint;
  return `${urlHost(address)}:${port}`;
}

function nodeRegistration(spec: ClusterSpec, host: HostSpec) {
  const extraArgs: { name: string; value: string }[] = [];
  const labels = Object.keys(host.labels)
    .sort()
    .map((k) => `${k}=${host.labels[k]}`);
  if (labels.length > 0) extraArgs.push({ name: "node-labels", value: labels.join(",") });
  if (isIp(host.address)) extraArgs.push({ name: "node-ip", value: host.address });
  // The default flexvolume directory is under /usr, which an immutable root cannot write (node preparation makes this one).
  if (host.immutableRoot) extraArgs.push({ name: "volume-plugin-dir", value: volumePluginDir(host) });
  return {
    name: host.name,
    criSocket: criSocket(spec),
    // An explicit list, even empty: when taints is absent kubeadm adds the control-plane taint on its own.
    taints: nodeTaints(host),
    ...(extraArgs.length > 0 ? { kubeletExtraArgs: extraArgs.sort((a, b) => a.name.localeCompare(b.name)) } : {}),
  };
}

function localApiEndpoint(spec: ClusterSpec, host: HostSpec) {
  return {
    ...(isIp(host.address) ? { advertiseAddress: host.address } : {}),
    bindPort: spec.cluster.endpoint.port,
  };
}

/** The API server certificate's SANs: the endpoint, then every control plane's address and name, sorted and unique. */
export function apiServerCertSans(spec: ClusterSpec): string[] {
  const cps = spec.hosts.filter(isControlPlane);
  const sans = new Set<string>([spec.cluster.endpoint.address]);
  for (const h of cps) {
    sans.add(h.address);
    sans.add(h.name);
  }
  const rest = [...sans].filter((s) => s !== spec.cluster.endpoint.address).sort();
  return [spec.cluster.endpoint.address, ...rest];
}

function doc(obj: object): string {
  return stringify(obj, { sortMapEntries: true, lineWidth: 0 });
}

/**
 * The controller-manager's flexvolume directory, which kubeadm also mounts into its static pod (hostPath, created when
 * missing): moved to /var as soon as one control plane has an immutable root, where the default under /usr cannot be made.
 */
function controllerManager(spec: ClusterSpec) {
  const immutable = spec.hosts.find((h) => isControlPlane(h) && h.immutableRoot);
  return immutable ? { controllerManager: { extraArgs: [{ name: "flex-volume-plugin-dir", value: volumePluginDir(immutable) }] } } : {};
}

/** `kubernetesVersion` defaults to the configured one; the upload-certs config passes a placeholder filled on the host. */
export function renderClusterConfiguration(spec: ClusterSpec, kubernetesVersion = `v${spec.cluster.kubernetesVersion}`): string {
  const c = spec.cluster;
  return doc({
    apiVersion: KUBEADM_API,
    kind: "ClusterConfiguration",
    clusterName: c.name,
    kubernetesVersion,
    controlPlaneEndpoint: endpointHostPort(spec),
    apiServer: { certSANs: apiServerCertSans(spec) },
    ...controllerManager(spec),
    networking: { podSubnet: c.networking.podSubnet, serviceSubnet: c.networking.serviceSubnet, dnsDomain: "cluster.local" },
  });
}

/** InitConfiguration + ClusterConfiguration for `kubeadm init` on the leader. */
export function renderInitConfig(spec: ClusterSpec, leader: HostSpec): string {
  const init = doc({
    apiVersion: KUBEADM_API,
    kind: "InitConfiguration",
    bootstrapTokens: [
      {
        token: PLACEHOLDER.token,
        ttl: BOOTSTRAP_TOKEN_TTL,
        groups: ["system:bootstrappers:kubeadm:default-node-token"],
        usages: ["signing", "authentication"],
      },
    ],
    certificateKey: PLACEHOLDER.certificateKey,
    localAPIEndpoint: localApiEndpoint(spec, leader),
    nodeRegistration: nodeRegistration(spec, leader),
  });
  return `${init}---\n${renderClusterConfiguration(spec)}`;
}

/** Filled on the leader with `kubeadm version -o short`: the version the cluster's own kubeadm runs. */
export const KUBEADM_VERSION_PLACEHOLDER = "__KUBEADM_VERSION__";

/**
 * The leader's configuration for `kubeadm init phase upload-certs`: its InitConfiguration (advertise address,
 * certificate key) and the ClusterConfiguration at the version of the kubeadm installed there, so the text does not
 * change when cluster.kubernetesVersion is raised (an upgrade re-runs nothing else).
 */
export function renderUploadCertsConfig(spec: ClusterSpec, leader: HostSpec): string {
  const init = doc({
    apiVersion: KUBEADM_API,
    kind: "InitConfiguration",
    certificateKey: PLACEHOLDER.certificateKey,
    localAPIEndpoint: localApiEndpoint(spec, leader),
    nodeRegistration: nodeRegistration(spec, leader),
  });
  return `${init}---\n${renderClusterConfiguration(spec, KUBEADM_VERSION_PLACEHOLDER)}`;
}

/** JoinConfiguration for a control-plane follower (with `controlPlane`) or a worker (without). */
export function renderJoinConfig(spec: ClusterSpec, host: HostSpec): string {
  return doc({
    apiVersion: KUBEADM_API,
    kind: "JoinConfiguration",
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: endpointHostPort(spec),
        token: PLACEHOLDER.token,
        caCertHashes: [PLACEHOLDER.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(spec, host),
    ...(isControlPlane(host)
      ? { controlPlane: { certificateKey: PLACEHOLDER.certificateKey, localAPIEndpoint: localApiEndpoint(spec, host) } }
      : {}),
  });
}

// --- host scripts ---------------------------------------------------------

const ADMIN_CONF = "/etc/kubernetes/admin.conf";
const TOKEN_RE = "^[a-z0-9]{6}\\.[a-z0-9]{16}$";
const CERT_KEY_RE = "^[a-f0-9]{64}$";
const CA_HASH_RE = "^sha256:[a-f0-9]{64}$";

/** Longest first, so a secret that contains another is replaced whole. */
function tokenRedactions(withCertKey: boolean) {
  return [
    ...(withCertKey ? [{ variable: "cert_key", label: "certificate-key" }] : []),
    { variable: "token", label: "bootstrap-token" },
    { variable: "token_secret", label: "bootstrap-token-secret" },
  ];
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
