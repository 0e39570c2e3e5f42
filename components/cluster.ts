import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "./config/spec";
import { ControlPlane } from "./controlplane";
import { Host } from "./host/host";
import { longhornNodesReady } from "./host/initiator-check";
import { Network } from "./network";
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
  /**
   * The Longhorn hosts (Host components), after each reported its iSCSI
   * initiator name and no two share one; fails the update naming the hosts
   * otherwise. Longhorn's release depends on this (`dependsOn`).
   */
  readonly longhornNodesReady: pulumi.Output<Host[]>;
  readonly controlPlane: ControlPlane;
  readonly apiEndpoint: string;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:cluster:Cluster", name, {}, opts);
    const { spec, topology } = args;
    this.hosts = new Map(
      spec.hosts.map((h) => [
        h.name,
        new Host(h.name, { spec: h, cluster: spec, topology, sshPrivateKey: args.sshPrivateKey }, { parent: this }),
      ]),
    );
    // Cloned images share an iSCSI initiator name and Longhorn volumes then flap: checked once every
    // Longhorn host has reported its name, before anything of Longhorn (which depends on this).
    this.longhornNodesReady = longhornNodesReady([...this.hosts.values()], this);
    this.controlPlane = new ControlPlane("control-plane", { spec, topology, hosts: this.hosts }, { parent: this });
    if (spec.cluster.networking.loadBalancer || spec.ingress?.traefik.enabled) {
      new Network("network", { spec, controlPlane: this.controlPlane }, { parent: this });
    }
    if (spec.storage.longhorn.enabled || spec.storage.rookCeph.enabled || spec.storage.localStatic.enabled) {
      // Only the Longhorn release waits for the initiator-name check (longhornNodesReady); Ceph and local volumes do not use iSCSI.
      new Storage(
        "storage",
        { spec, topology, hosts: this.hosts, controlPlane: this.controlPlane, longhornNodesReady: this.longhornNodesReady },
        { parent: this },
      );
    }
    this.apiEndpoint = `https://${spec.cluster.endpoint.address}:${spec.cluster.endpoint.port}`;
    this.registerOutputs({});
  }
}
