import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface ClusterSecrets {
  /** `[a-z0-9]{6}.[a-z0-9]{16}`, as kubeadm requires. */
  bootstrapToken: pulumi.Output<string>;
  /** 32 random bytes as 64 hex characters: encrypts the control-plane certificates kubeadm uploads. */
  certificateKey: pulumi.Output<string>;
  /** keepalived PASS authentication reads at most 8 characters. */
  vrrpPassword: pulumi.Output<string>;
}

/**
 * The cluster's generated secrets. Each is wrapped in `pulumi.secret` on top of
 * the provider's own secret marking, so it stays secret wherever it flows (also
 * under the mock runtime, which ignores `additionalSecretOutputs`).
 */
export function createClusterSecrets(parent: pulumi.Resource, keepalived: boolean): ClusterSecrets {
  const lowerDigits = { upper: false, lower: true, numeric: true, special: false } as const;
  const id = new random.RandomPassword("bootstrap-token-id", { length: 6, ...lowerDigits }, { parent });
  const secret = new random.RandomPassword("bootstrap-token-secret", { length: 16, ...lowerDigits }, { parent });
  const key = new random.RandomBytes("certificate-key", { length: 32 }, { parent });
  const vrrp = keepalived ? new random.RandomPassword("vrrp-password", { length: 8, special: false }, { parent }) : undefined;
  return {
    bootstrapToken: pulumi.secret(pulumi.interpolate`${id.result}.${secret.result}`),
    certificateKey: pulumi.secret(key.hex),
    vrrpPassword: pulumi.secret(vrrp ? vrrp.result : pulumi.output("")),
  };
}
