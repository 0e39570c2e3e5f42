import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "./config/spec";
import { Host } from "./host/host";
import type { Topology } from "./topology";

export interface ClusterArgs {
  spec: ClusterSpec;
  topology: Topology;
  sshPrivateKey: pulumi.Input<string>;
}

/** The whole cluster: hosts, control plane, CNI and storage, wired in bring-up order. */
export class Cluster extends pulumi.ComponentResource {
  readonly hosts: Map<string, Host>;
  readonly apiEndpoint: string;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:cluster:Cluster", name, {}, opts);
    const { spec } = args;
    this.hosts = new Map(
      spec.hosts.map((h) => [h.name, new Host(h.name, { spec: h, cluster: spec, sshPrivateKey: args.sshPrivateKey }, { parent: this })]),
    );
    this.apiEndpoint = `https://${spec.cluster.endpoint.address}:${spec.cluster.endpoint.port}`;
    this.registerOutputs({});
  }
}
