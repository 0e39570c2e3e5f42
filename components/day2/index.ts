import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSpec } from "../config/spec";
import { hostStep, type Host } from "../host/host";
import type { Topology } from "../topology";
import { renderCertRenewalScript } from "./render-cert-renewal";
import { renderEtcdBackupInstallScript, renderEtcdBackupRemoveScript } from "./render-etcd-backup";

export interface DayTwoArgs {
  spec: ClusterSpec;
  topology: Topology;
  hosts: Map<string, Host>;
  /** Per control plane: the step after which it runs its static pods (kubeadm init or its join). */
  nodes: Map<string, pulumi.Resource>;
  /** What must finish before a renewal restarts any static pod (an upgrade in the same update restarts them too). */
  after: pulumi.Resource[];
}

/** Whether the config asks for any day-two step: without one, the component is not registered at all. */
export function wantsDayTwo(spec: ClusterSpec): boolean {
  return spec.cluster.etcdBackup !== undefined || spec.cluster.certificates?.renew !== undefined;
}

/**
 * Day-two steps on the control planes, made by the one remote step factory (hostStep: triggers ignored, update =
 * create). `<cp>-etcd-backup` per control plane when `cluster.etcdBackup` is set (its delete, when the key goes,
 * stops and removes the timer and leaves the snapshots); `<cp>-certs-renew` per control plane when
 * `cluster.certificates.renew` is set, chained one control plane at a time in the topology's order.
 */
export class DayTwo extends pulumi.ComponentResource {
  readonly etcdBackups: command.remote.Command[] = [];
  readonly certRenewals: command.remote.Command[] = [];

  constructor(name: string, args: DayTwoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:day2:DayTwo", name, {}, opts);
    const { spec, topology } = args;
    const user = spec.cluster.ssh.user;
    const of = (n: string): { host: Host; node: pulumi.Resource } => {
      const host = args.hosts.get(n);
      const node = args.nodes.get(n);
      if (!host || !node) throw new pulumi.ResourceError(`the topology names control plane ${n}, which has no Host or join step`, this);
      return { host, node };
    };
    const backup = spec.cluster.etcdBackup;
    if (backup) {
      for (const cp of topology.controlPlanes) {
        const { host, node } = of(cp);
        this.etcdBackups.push(
          hostStep(
            {
              host: cp,
              suffix: "etcd-backup",
              connection: host.connection,
              user,
              create: renderEtcdBackupInstallScript(backup, host.spec),
              delete: renderEtcdBackupRemoveScript(host.spec),
            },
            {
              parent: this,
              dependsOn: [
                node, // etcd runs here (kubeadm init or join) and its client certificates exist; on removal the timer goes before kubeadm reset
              ],
            },
          ),
        );
      }
    }
    const renew = spec.cluster.certificates?.renew;
    if (renew !== undefined) {
      let previous: pulumi.Resource[] = args.after;
      for (const cp of topology.controlPlanes) {
        const { host, node } = of(cp);
        const step = hostStep(
          {
            host: cp,
            suffix: "certs-renew",
            connection: host.connection,
            user,
            create: renderCertRenewalScript(spec, host.spec, renew),
          },
          {
            parent: this,
            dependsOn: [
              node, // the control plane exists (a first run on fresh certificates only records the value)
              // One control plane at a time: the previous one's API server and etcd answer again before this one restarts
              // (etcd keeps quorum); the first waits for an upgrade of the same update, which restarts the static pods too.
              ...previous,
            ],
          },
        );
        this.certRenewals.push(step);
        previous = [step];
      }
    }
    this.registerOutputs({});
  }
}
