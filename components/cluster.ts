import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "./config/spec";
import { ControlPlane } from "./controlplane";
import { DayTwo, wantsDayTwo } from "./day2";
import { Host } from "./host/host";
import { longhornNodesReady } from "./host/initiator-check";
import { Network } from "./network";
import { Storage } from "./storage";
import type { Topology } from "./topology";
import { Upgrade } from "./upgrade";
import type { UpgradePlan } from "./upgrade/versions";

export interface ClusterArgs {
  spec: ClusterSpec;
  topology: Topology;
  sshPrivateKey: pulumi.Input<string>;
  /** Set when the previous outputs name an older kubernetesVersion: the upgrade's hops. */
  upgrade?: UpgradePlan;
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
  /**
   * The version the cluster runs once this update has finished: during an upgrade, known only when the last
   * upgrade step has finished, so an update that fails midway keeps the previous output and the next update
   * plans the same upgrade again (and resumes it).
   */
  readonly kubernetesVersion: pulumi.Output<string>;
  readonly upgrade?: Upgrade;

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
    let storage: Storage | undefined;
    if (spec.storage.longhorn.enabled || spec.storage.rookCeph.enabled || spec.storage.localStatic.enabled) {
      // Only the Longhorn release waits for the initiator-name check (longhornNodesReady); Ceph and local volumes do not use iSCSI.
      storage = new Storage(
        "storage",
        { spec, topology, hosts: this.hosts, controlPlane: this.controlPlane, longhornNodesReady: this.longhornNodesReady },
        { parent: this },
      );
    }
    this.apiEndpoint = `https://${spec.cluster.endpoint.address}:${spec.cluster.endpoint.port}`;
    if (args.upgrade) {
      this.upgrade = new Upgrade(
        "upgrade",
        {
          spec,
          topology,
          upgrade: args.upgrade,
          hosts: this.hosts,
          kubeconfig: this.controlPlane.kubeconfig,
          after: [
            ...this.hosts.values(), // node preparation and disks as configured (they install nothing on a node that runs Kubernetes)
            ...this.controlPlane.nodes.values(), // every node has joined
            ...this.controlPlane.clusterReady, // the CNI: drained pods must start elsewhere
            ...(storage ? [storage] : []), // storage releases as configured, before waitForStorage reads their health
          ],
        },
        { parent: this },
      );
      this.kubernetesVersion = this.upgrade.finished;
    } else {
      this.kubernetesVersion = pulumi.output(spec.cluster.kubernetesVersion);
    }
    if (wantsDayTwo(spec)) {
      // An upgrade of the same update restarts the static pods itself: a certificate renewal waits for it.
      const after = this.upgrade?.steps ?? [];
      new DayTwo("day-two", { spec, topology, hosts: this.hosts, nodes: this.controlPlane.nodes, after }, { parent: this });
    }
    this.registerOutputs({});
  }
}
