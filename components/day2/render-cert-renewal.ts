import type { ClusterSpec, HostSpec } from "../config/spec";
import { TRACK_CHANGES, scriptFooter, scriptHeader, shVar } from "../host/shell";

/**
 * `cluster.certificates.renew`: on each control plane, `kubeadm certs renew all`, then its static pods restart
 * on the new certificates (their manifests moved out of the kubelet's directory until the containers are gone,
 * then back), and the step waits until this control plane's API server answers /healthz and etcd is healthy.
 * The remote steps run one control plane at a time (./index.ts).
 */

export const CERT_RENEWAL = {
  /** The last `renew` value this host acted on: a value is never acted on twice. Outside /etc/kubernetes, which kubeadm reset clears. */
  record: "/var/lib/baremetal-k8s/certificates-renewed",
  manifests: "/etc/kubernetes/manifests",
  /** Where the manifests wait while their pods stop: outside the directory the kubelet watches. */
  parked: "/etc/kubernetes/manifests.baremetal-k8s-restart",
  staticPods: ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
  /** Certificates younger than this are not renewed when the step is first created (a fresh cluster). */
  freshSeconds: 86_400,
  stopTimeoutSeconds: 120,
  healthyTimeoutSeconds: 300,
  log: "/var/log/baremetal-k8s/certs-renew.log",
} as const;

/** The ports the static pods listen on (kube-apiserver on the endpoint's port, etcd, controller-manager, scheduler), as an ss filter. */
function listenFilter(apiPort: number): string {
  return `( ${[apiPort, 2379, 2380, 10257, 10259].map((p) => `sport = :${p}`).join(" or ")} )`;
}

/**
 * The step's create and update. Runs the renewal when `renew` differs from the value recorded on the host; on
 * the step's first run on a cluster whose certificates are less than a day old (a fresh cluster, a new control
 * plane) it only records the value. A re-run with the same value does nothing.
 */
export function renderCertRenewalScript(spec: ClusterSpec, host: HostSpec, renew: string): string {
  const r = CERT_RENEWAL;
  const pods = r.staticPods.join(" ");
  const port = spec.cluster.endpoint.port;
  return `${scriptHeader("certificate renewal (cluster.certificates.renew)", host.name)}${TRACK_CHANGES}${shVar("TOKEN", renew)}
RECORD=${r.record}
MANIFESTS=${r.manifests}
PARKED=${r.parked}
[ -f "$MANIFESTS/kube-apiserver.yaml" ] || [ -f "$PARKED/kube-apiserver.yaml" ] || fail "has no kube-apiserver manifest: not a kubeadm control plane"
command -v kubeadm >/dev/null || fail "kubeadm is not installed"
command -v ss >/dev/null || fail "ss (iproute2) is not installed: cannot tell when the static pods have stopped"
command -v curl >/dev/null || fail "curl is not installed (node preparation installs it on control planes)"
done_for=$(cat "$RECORD" 2>/dev/null || true)
record() { install -d -m 0755 "$(dirname "$RECORD")"; printf '%s\\n' "$TOKEN" >"$RECORD.tmp"; mv -f "$RECORD.tmp" "$RECORD"; }
expiry() { openssl x509 -noout -enddate -in /etc/kubernetes/pki/apiserver.crt | cut -d= -f2; }
# Pods are restarted back from a run that stopped half-way before anything else.
restore_manifests() {
  for m in "$PARKED"/*.yaml; do
    [ -e "$m" ] || continue
    mv -f "$m" "$MANIFESTS/"
    note "moved $(basename "$m") back into $MANIFESTS"
  done
}
restore_manifests
if [ "$done_for" = "$TOKEN" ] && [ ! -e "$PARKED/renewing" ]; then
  note "certificates were renewed for cluster.certificates.renew=$TOKEN already; nothing to do"
  exit 0
fi
if [ -z "$done_for" ] && [ ! -e "$PARKED/renewing" ]; then
  issued=$(openssl x509 -noout -startdate -in /etc/kubernetes/pki/apiserver.crt | cut -d= -f2)
  age=$(( $(date +%s) - $(date -d "$issued" +%s) ))
  if [ "$age" -lt ${r.freshSeconds} ]; then
    record
    note "the certificates were issued $issued, less than a day ago: nothing to renew; cluster.certificates.renew=$TOKEN recorded (change it to renew)"
    exit 0
  fi
fi
before=$(expiry)
install -d -m 0700 "$PARKED" "$(dirname ${r.log})"
touch "$PARKED/renewing"
if ! kubeadm certs renew all >${r.log} 2>&1; then
  tail -n 20 ${r.log} >&2
  fail "kubeadm certs renew all failed (log: ${r.log}); nothing was restarted. Fix the cause and run pulumi up again"
fi
note "kubeadm certs renew all: done (kube-apiserver's certificate expired $before, now $(expiry))"
# The static pods read their certificates only when they start: moved out, the kubelet stops them; moved back, it starts them.
for p in ${pods}; do mv -f "$MANIFESTS/$p.yaml" "$PARKED/"; done
deadline=$((SECONDS + ${r.stopTimeoutSeconds}))
# Stopped when nothing listens on their ports any more (host network; the same with containerd and CRI-O).
while [ -n "$(ss -Hltn '${listenFilter(port)}')" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    restore_manifests
    fail "the static pods did not stop within ${r.stopTimeoutSeconds} s of their manifests leaving $MANIFESTS (see journalctl -u kubelet); the manifests are back, the new certificates in place"
  fi
  sleep 1
done
stopped=$SECONDS
restore_manifests
rm -f "$PARKED/renewing"
rmdir "$PARKED" 2>/dev/null || true
deadline=$((SECONDS + ${r.healthyTimeoutSeconds}))
etcd_ok() {
  curl -fsS --max-time 5 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt \\
    --key /etc/kubernetes/pki/etcd/healthcheck-client.key https://127.0.0.1:2379/health 2>/dev/null | grep -q '"health":"true"'
}
api_ok() {
  [ "$(curl -fsS --max-time 5 --cacert /etc/kubernetes/pki/ca.crt --resolve kubernetes:${port}:127.0.0.1 https://kubernetes:${port}/healthz 2>/dev/null)" = ok ]
}
until etcd_ok && api_ok; do
  [ "$SECONDS" -lt "$deadline" ] || fail "after the restart, etcd or the API server of this control plane is not healthy within ${r.healthyTimeoutSeconds} s (see journalctl -u kubelet); the next control plane waits"
  sleep 2
done
record
changed=1
note "static pods ${pods} restarted on the renewed certificates; API server and etcd healthy after $((SECONDS - stopped)) s"
${scriptFooter("certificate renewal")}`;
}
