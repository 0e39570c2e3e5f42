import { stringify } from "yaml";
import { containerRuntimeOf, type ClusterSpec, type HostSpec } from "../config/spec";
import { CRIO_SOCKET } from "../host/render-crio";
import { isIp } from "../config/rules";
import { volumePluginDir } from "../host/render-node-prep";

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
export const CONTROL_PLANE_TAINT = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" } as const;
/** How long the bootstrap token kubeadm init creates stays valid; the leader refreshes it before later joins. */
export const BOOTSTRAP_TOKEN_TTL = "24h0m0s";

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** `"key=value:Effect"` or `"key:Effect"` (the schema has checked the shape). */
export function parseTaint(s: string): Taint {
  const colon = s.lastIndexOf(":");
  const kv = s.slice(0, colon);
  const effect = s.slice(colon + 1);
  const eq = kv.indexOf("=");
  return eq < 0 ? { key: kv, effect } : { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect };
}

export function isControlPlane(host: HostSpec): boolean {
  return host.roles.includes("control-plane");
}

/** The taints a node registers with: the host's own, plus the control-plane taint unless the control plane also has role worker. */
export function nodeTaints(host: HostSpec): Taint[] {
  const own = host.taints.map(parseTaint);
  const cp = isControlPlane(host) && !host.roles.includes("worker") ? [{ ...CONTROL_PLANE_TAINT }] : [];
  return [...cp, ...own.filter((t) => !(t.key === CONTROL_PLANE_TAINT.key && cp.length > 0))];
}

export function endpointHostPort(spec: ClusterSpec): string {
  const { address, port } = spec.cluster.endpoint;
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
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
