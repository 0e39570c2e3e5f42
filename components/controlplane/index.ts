import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import type { Host } from "../host/host";
import type { Topology } from "../topology";

export interface ControlPlaneArgs {
  spec: ClusterSpec;
  topology: Topology;
  hosts: Map<string, Host>;
}

/**
 * keepalived, kubeadm init on the leader, control-plane joins, witness etcd
 * members, worker joins and the CNI. Placeholder until the control-plane
 * issue lands: registers nothing but itself.
 */
export class ControlPlane extends pulumi.ComponentResource {
  /** The admin kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Resources that must finish before anything is applied to the cluster (CNI ready). */
  readonly clusterReady: pulumi.Resource[];

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:controlplane:ControlPlane", name, {}, opts);
    void args;
    this.kubeconfig = pulumi.secret("");
    this.clusterReady = [];
    this.registerOutputs({});
  }
}
