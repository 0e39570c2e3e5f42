/** Where the network charts come from and the namespace each release lives in. */
export const NETWORK_CHARTS = {
  metallb: { chart: "metallb", repo: "https://metallb.github.io/metallb", namespace: "metallb-system", release: "metallb" },
  traefik: { chart: "traefik", repo: "https://traefik.github.io/charts", namespace: "traefik", release: "traefik" },
} as const;

/**
 * The Service annotation MetalLB 0.15 reads for a requested address
 * (controller/service.go at v0.15.3: `metallb.io/loadBalancerIPs`; the older
 * `metallb.universe.tf/` prefix is kept there only as deprecated). The Service's
 * own `spec.loadBalancerIP` field is deprecated by Kubernetes.
 */
export const METALLB_ADDRESS_ANNOTATION = "metallb.io/loadBalancerIPs";

/** MetalLB's CRD group and version of IPAddressPool and L2Advertisement at 0.15. */
export const METALLB_API_VERSION = "metallb.io/v1beta1";

/** The pool and advertisement the program creates (one pool, announced in L2 mode). */
export const METALLB_POOL_NAME = "default";
