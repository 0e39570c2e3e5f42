import type * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSettings, HostSpec } from "../config/spec";

/** How many times a dial is retried before the step fails; with PER_DIAL_TIMEOUT_S this bounds an unreachable host to about a minute. */
export const DIAL_ERROR_LIMIT = 6;
export const PER_DIAL_TIMEOUT_S = 10;

/**
 * The SSH connection to one host. The host key is pinned unless the stack
 * opts out; the whole connection is secret because it carries the private key.
 */
export function hostConnection(
  host: HostSpec,
  cluster: ClusterSettings,
  privateKey: pulumi.Input<string>,
): command.types.input.remote.ConnectionArgs {
  return {
    host: host.address,
    port: cluster.ssh.port,
    user: cluster.ssh.user,
    privateKey,
    ...(cluster.ssh.insecureIgnoreHostKey || host.hostKey === undefined ? {} : { hostKey: host.hostKey }),
    dialErrorLimit: DIAL_ERROR_LIMIT,
    perDialTimeout: PER_DIAL_TIMEOUT_S,
  };
}
