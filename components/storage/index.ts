import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config/spec";
import type { Host } from "../host/host";
import type { Topology } from "../topology";
import type { ControlPlane } from "../controlplane";

export interface StorageArgs {
  spec: ClusterSpec;
  topology: Topology;
  hosts: Map<string, Host>;
  controlPlane: ControlPlane;
}

/** Longhorn, Rook-Ceph and local-static-provisioner. Placeholder until the storage issue lands. */
export class Storage extends pulumi.ComponentResource {
  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:storage:Storage", name, {}, opts);
    void args;
    this.registerOutputs({});
  }
}
