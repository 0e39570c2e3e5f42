import type { HostSpec } from "../config/spec";
import { TRACK_CHANGES, scriptFooter, scriptHeader, shVar } from "../host/shell";

/**
 * The Gateway API release whose standard-channel CRDs the program installs.
 * v1.4.1: the release Cilium 1.19 implements (its docs: "Gateway API v1.4.1"),
 * and within what Traefik 3.6+ (chart 41.x ships 3.7) supports (Traefik's docs:
 * standard v1.4.0 and later).
 */
export const GATEWAY_API_VERSION = "v1.4.1";

/**
 * The standard channel's CRDs (upstream `config/crd/kustomization.yaml` at the
 * tag lists these six) with the sha256 of each file at the tag, read from the
 * repository at v1.4.1. The host downloads each file from the tag and refuses
 * one whose digest differs: what is applied is exactly this release.
 */
export const GATEWAY_API_CRDS: readonly { name: string; sha256: string }[] = [
  { name: "gatewayclasses", sha256: "7d958ad3965ea4a4996616846d9ecaf1fededbf9351b9752b8b85973936ae8c8" },
  { name: "gateways", sha256: "a02ea425fc901f197b668c9ddd56375e1f6896994914c6e6b9b4fdb85cf3ba6e" },
  { name: "httproutes", sha256: "98c6777c22309d319292e9c288ee632006c9ffdd4272383d6f9dffa3fbccaf14" },
  { name: "referencegrants", sha256: "d74fc2f8e90094f4c4d6dc13a2d720011a40e30e5640b3e2a2051fac820f6584" },
  { name: "grpcroutes", sha256: "b72068b42cb32051ca609e5a8dfefb16904d164abe2e71d9f3c776fae41c4dab" },
  { name: "backendtlspolicies", sha256: "f94f34b0c19cab6c25b53a6e672d9a684116a4e52193531fe2abcea20b51574f" },
];

/** Where the CRD files of the pinned release are read: the tag's raw files, whose bytes the digests above are of. */
export const GATEWAY_API_CRD_BASE = `https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/${GATEWAY_API_VERSION}/config/crd/standard/`;

export function gatewayApiCrdUrl(name: string): string {
  return `${GATEWAY_API_CRD_BASE}gateway.networking.k8s.io_${name}.yaml`;
}

const ADMIN_CONF = "/etc/kubernetes/admin.conf";

/**
 * Applies the pinned standard-channel CRDs from the leader with its admin
 * kubeconfig. Skipped when every CRD already carries the release's
 * bundle-version; otherwise downloads each file, checks its sha256, and
 * applies them server-side (the CRDs are large for client-side apply's
 * last-applied annotation).
 */
export function renderGatewayApiCrdsScript(leader: HostSpec): string {
  const crds = GATEWAY_API_CRDS.map((c) => `${c.name}.gateway.networking.k8s.io`).join(" ");
  const files = GATEWAY_API_CRDS.map((c) => `${c.name}=${c.sha256}`).join(" ");
  return `${scriptHeader(`Gateway API ${GATEWAY_API_VERSION} standard-channel CRDs`, leader.name)}${TRACK_CHANGES}${shVar("VERSION", GATEWAY_API_VERSION)}
${shVar("ADMIN_CONF", ADMIN_CONF)}
${shVar("BASE", GATEWAY_API_CRD_BASE)}
command -v kubectl >/dev/null 2>&1 || fail "kubectl is missing on this control plane: node preparation installs it"
command -v curl >/dev/null 2>&1 || fail "curl is missing on this control plane: it downloads the Gateway API CRDs"
current=1
for crd in ${crds}; do
  have=$(kubectl --kubeconfig "$ADMIN_CONF" get crd "$crd" -o jsonpath='{.metadata.annotations.gateway\\.networking\\.k8s\\.io/bundle-version}' 2>/dev/null || true)
  [ "$have" = "$VERSION" ] || current=0
done
if [ "$current" = 0 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for entry in ${files}; do
    name=\${entry%%=*}
    want=\${entry#*=}
    url="\${BASE}gateway.networking.k8s.io_$name.yaml"
    curl -fsSL --retry 3 -o "$work/$name.yaml" "$url" || fail "cannot download $url: this control plane needs to reach raw.githubusercontent.com once to install the Gateway API CRDs"
    have=$(sha256sum "$work/$name.yaml" | cut -d' ' -f1)
    [ "$have" = "$want" ] || fail "$url has sha256 $have, not the pinned $want: refusing to apply it"
  done
  kubectl --kubeconfig "$ADMIN_CONF" apply --server-side --force-conflicts --field-manager=baremetal-k8s -f "$work" >/dev/null
  kubectl --kubeconfig "$ADMIN_CONF" wait --for condition=established --timeout=120s ${crds} >/dev/null
  note "applied the Gateway API $VERSION standard-channel CRDs"
  changed=1
fi
${scriptFooter(`Gateway API ${GATEWAY_API_VERSION} CRDs`)}`;
}

/** The CRDs stay: deleting them would delete every Gateway and Route of every user with them. */
export function renderGatewayApiCrdsDeleteScript(leader: HostSpec): string {
  return `${scriptHeader("Gateway API CRDs: removal", leader.name)}note "the Gateway API CRDs are left in place: removing them would delete every Gateway and Route in the cluster. Delete them yourself (kubectl delete crd NAME.gateway.networking.k8s.io) when nothing uses them"
`;
}
