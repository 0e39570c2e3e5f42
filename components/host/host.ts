import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSpec, HostSpec } from "../config/spec";
import type { Topology } from "../topology";
import { hostConnection } from "./connection";

export interface HostArgs {
  spec: HostSpec;
  cluster: ClusterSpec;
  topology: Topology;
  sshPrivateKey: pulumi.Input<string>;
}

/**
 * One machine of the cluster: its SSH connection, node preparation and disk
 * layout. Anything of kubeadm on this host depends on the Host component, so
 * it starts only after all of the Host's children have finished.
 */
export class Host extends pulumi.ComponentResource {
  readonly spec: HostSpec;
  readonly connection: command.types.input.remote.ConnectionArgs;

  constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:host:Host", name, {}, opts);
    this.spec = args.spec;
    this.connection = hostConnection(args.spec, args.cluster.cluster, args.sshPrivateKey);
    this.registerOutputs({});
  }
}
