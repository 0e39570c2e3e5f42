import * as kubernetes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { after, type Edge, resourcesOf, withReasons } from "../edges";
import { helmRelease } from "../helm-release";
import { isKubernetesNode } from "../config/predicates";
import type { ClusterSpec, HostSpec } from "../config/spec";
import type { ControlPlane } from "../controlplane";
import type { Host } from "../host/host";
import type { Topology } from "../topology";
import { CHARTS } from "./charts";
import { localStaticHosts, renderLocalStaticValues } from "./values-local-static";
import { longhornHosts, longhornNodeMetadata, renderLonghornValues } from "./values-longhorn";
import { cephHosts, renderRookClusterValues, renderRookOperatorValues } from "./values-rook";

export interface StorageArgs {
  spec: ClusterSpec;
  topology: Topology;
  hosts: Map<string, Host>;
  controlPlane: ControlPlane;
  /** Resolves once every Longhorn node reported an initiator name and no two share one (fails the update otherwise). */
  longhornNodesReady?: pulumi.Output<Host[]>;
}

type ChartRef = (typeof CHARTS)[keyof typeof CHARTS];

/**
 * Longhorn, Rook-Ceph and local-static-provisioner, each a pinned Helm
 * release through the cluster's provider. Every release is protected and
 * retained on delete: dropping a storage system from the config must never
 * uninstall it under running volumes. Nothing here touches a disk; the hosts' disk layout
 * is the Host components' work.
 */
export class Storage extends pulumi.ComponentResource {
  readonly releases: Record<string, kubernetes.helm.v3.Release> = {};
  /** The control plane's provider (admin kubeconfig). */
  private readonly provider: kubernetes.Provider;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:storage:Storage", name, {}, opts);
    const { spec, topology, controlPlane } = args;
    this.provider = controlPlane.provider;

    const hostsOf = (specs: readonly HostSpec[]): Host[] =>
      specs.map((h) => {
        const host = args.hosts.get(h.name);
        if (!host) throw new pulumi.ResourceError(`storage: host ${h.name} has no Host component`, this);
        return host;
      });
    const kubernetesNodes = spec.hosts.filter(isKubernetesNode);

    if (spec.storage.longhorn.enabled) {
      const storageHosts = longhornHosts(spec);
      const nodePatches = storageHosts.map((h) => {
        const meta = longhornNodeMetadata(h);
        const node = controlPlane.nodes.get(h.name);
        if (!node) throw new pulumi.ResourceError(`storage: host ${h.name} has a longhorn disk but never becomes a Kubernetes node`, this);
        const edges = [after(node, "the Node object exists once this step has finished (kubeadm init, join, or the worker's node check)")];
        const patch = new kubernetes.core.v1.NodePatch(
          `${h.name}-longhorn-node`,
          { metadata: { name: h.name, labels: meta.labels, annotations: meta.annotations } },
          {
            parent: this,
            provider: this.provider,
            dependsOn: resourcesOf(edges),
            // Longhorn reads the label only on nodes without disks; leaving it behind when a host goes is harmless.
            retainOnDelete: true,
          },
        );
        return withReasons(patch, edges);
      });
      this.releases.longhorn = this.release(
        "longhorn",
        CHARTS.longhorn,
        spec.storage.longhorn.version,
        renderLonghornValues(spec, topology),
        [
          ...controlPlane.clusterReady.map((r) => after(r, "Longhorn's pods need the CNI to talk to each other and to the API.")),
          ...hostsOf(kubernetesNodes).map((r) =>
            after(
              r,
              "longhorn-manager and the CSI plugin run on every node: iSCSI, the data mounts and the multipathd blacklist must be there first.",
            ),
          ),
          ...nodePatches.map((r) =>
            after(r, "The storage nodes must carry their disk label and annotation before longhorn-manager first registers them."),
          ),
        ],
        // Cloned initiator names make iSCSI sessions flap: the release waits for the check that they are unique.
        args.longhornNodesReady,
      );
    }

    if (spec.storage.rookCeph.enabled) {
      const operator = this.release(
        "rook-ceph",
        CHARTS.rookOperator,
        spec.storage.rookCeph.version,
        renderRookOperatorValues(spec, topology),
        [
          ...controlPlane.clusterReady.map((r) => after(r, "The operator and the CSI pods need pod networking.")),
          ...hostsOf(kubernetesNodes).map((r) =>
            after(r, "The RBD CSI plugin runs on every node; OSD hosts need lvm2 and their raw disks verified."),
          ),
          ...hostsOf(cephHosts(spec)).map((r) =>
            after(r, "The RBD CSI plugin runs on every node; OSD hosts need lvm2 and their raw disks verified."),
          ),
        ],
      );
      this.releases.rookCeph = operator;
      this.releases.rookCephCluster = this.release(
        "rook-ceph-cluster",
        CHARTS.rookCluster,
        spec.storage.rookCeph.version,
        renderRookClusterValues(spec, topology),
        [after(operator, "The CephCluster and CephBlockPool CRDs and the operator that reconciles them come from the operator chart.")],
      );
    }

    if (spec.storage.localStatic.enabled) {
      this.releases.localStatic = this.release(
        "local-static-provisioner",
        CHARTS.localStatic,
        spec.storage.localStatic.version,
        renderLocalStaticValues(spec),
        [
          ...controlPlane.clusterReady.map((r) => after(r, "The provisioner's DaemonSet needs pod networking.")),
          ...hostsOf(localStaticHosts(spec)).map((r) =>
            after(r, "It publishes only what is already mounted or linked in each class's hostDir: the hosts' disk layout comes first."),
          ),
        ],
      );
    }
    this.registerOutputs({});
  }

  private release(
    name: string,
    chart: ChartRef,
    version: string,
    values: Record<string, unknown>,
    edges: Edge[],
    alsoAfter?: pulumi.Output<pulumi.Resource[]>,
  ): kubernetes.helm.v3.Release {
    const unique = resourcesOf(edges);
    return withReasons(
      helmRelease(
        name,
        chart,
        // First installs pull several images per node; 5 minutes (the default) is short on slow links.
        { version, values, timeout: 900 },
        // Protected: dropping a storage system from the config stops at this release instead of uninstalling it under its volumes
        // (`pulumi state unprotect` makes it a deliberate act); retained: even then, Pulumi forgets it but never runs helm uninstall.
        {
          parent: this,
          provider: this.provider,
          dependsOn: alsoAfter ? alsoAfter.apply((more) => [...unique, ...more]) : unique,
          protect: true,
          retainOnDelete: true,
        },
      ),
      edges,
    );
  }
}
