import type { ClusterSpec, HostSpec } from "../config/spec";
import { isIp } from "../config/rules";

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

export const PEER_PORT = 2380;
export const CLIENT_PORT = 2379;

function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

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
  /** File stem: `server`, `peer`, `healthcheck-client`. */
  name: string;
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
