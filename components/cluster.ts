import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "./config/spec";
import { ControlPlane } from "./controlplane";
import { Host } from "./host/host";
import { Storage } from "./storage";
import type { Topology } from "./topology";

export interface ClusterArgs {
  spec: ClusterSpec;
  topology: Topology;
  sshPrivateKey: pulumi.Input<string>;
}

/** The whole cluster: hosts, control plane, CNI and storage, wired in bring-up order. */
export class Cluster extends pulumi.ComponentResource {
  readonly hosts: Map<string, Host>;
  readonly controlPlane: ControlPlane;
  readonly apiEndpoint: string;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:cluster:Cluster", name, {}, opts);
    const { spec, topology } = args;
    this.hosts = new Map(
      spec.hosts.map((h) => [h.name, new Host(h.name, { spec: h, cluster: spec, topology, sshPrivateKey: args.sshPrivateKey }, { parent: this })]),
    );
    this.controlPlane = new ControlPlane("control-plane", { spec, topology, hosts: this.hosts }, { parent: this });
    if (spec.storage.longhorn.enabled || spec.storage.rookCeph.enabled || spec.storage.localStatic.enabled) {
      new Storage("storage", { spec, topology, hosts: this.hosts, controlPlane: this.controlPlane }, { parent: this });
    }
    this.apiEndpoint = `https://${spec.cluster.endpoint.address}:${spec.cluster.endpoint.port}`;
    this.registerOutputs({});
  }
}
