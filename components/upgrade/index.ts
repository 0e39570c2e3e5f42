import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSpec } from "../config/spec";
import { hostStep, type Host } from "../host/host";
import type { Topology } from "../topology";
import { renderUpgradeScript } from "./render-upgrade";
import { skewProblems, upgradeSchedule } from "./schedule";
import type { UpgradePlan } from "./versions";

export interface UpgradeArgs {
  spec: ClusterSpec;
  topology: Topology;
  upgrade: UpgradePlan;
  hosts: Map<string, Host>;
  /** The admin kubeconfig (secret): each step reads it on stdin to drain, wait for Ready and uncordon. */
  kubeconfig: pulumi.Input<string>;
  /** Everything of the cluster as configured (node preparation, joins, CNI, storage): the first step waits for it. */
  after: pulumi.Resource[];
}

/**
 * Raising cluster.kubernetesVersion: one remote step per node per hop, `<host>-upgrade-<hop>`, in the order
 * of `upgradeSchedule` (leader, each other control plane alone, then workers in batches of
 * cluster.upgrade.maxUnavailableWorkers; hop after hop). A failed step stops everything after it; the next
 * `pulumi up` creates the failed step again (finished ones are in the state and do not run), and a step that
 * runs again on a finished node exits at once (the script checks the running versions first).
 */
export class Upgrade extends pulumi.ComponentResource {
  /** Every step, in schedule order. */
  readonly steps: command.remote.Command[];
  /** The configured version, once the last step has finished: the stack output the next update compares with. */
  readonly finished: pulumi.Output<string>;

  constructor(name: string, args: UpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:upgrade:Upgrade", name, {}, opts);
    const { spec, topology, upgrade, hosts } = args;
    const stages = upgradeSchedule(topology, upgrade, spec.cluster.upgrade.maxUnavailableWorkers);
    const problems = skewProblems(upgrade.from, stages, topology.controlPlanes);
    if (problems.length > 0)
      throw new pulumi.ResourceError(`the upgrade order would break the Kubernetes version skew policy: ${problems.join("; ")}`, this);
    const nodes = new Set([...topology.controlPlanes, ...topology.workers]);
    const witnesses = new Set(topology.witnesses);
    const moveVip = spec.cluster.endpoint.keepalived.enabled && topology.controlPlanes.length >= 2;
    this.steps = [];
    let before: pulumi.Resource[] = args.after;
    let last: command.remote.Command[] = [];
    for (const stage of stages) {
      const made = stage.nodes.map((n) => {
        const host = hosts.get(n);
        if (!host) throw new pulumi.ResourceError(`the upgrade names host ${n}, which has no Host component`, this);
        return hostStep(
          {
            host: n,
            suffix: `upgrade-${stage.hop}`,
            connection: host.connection,
            user: spec.cluster.ssh.user,
            create: renderUpgradeScript({
              spec,
              host: host.spec,
              hop: stage.hop,
              role: stage.role,
              drain: nodes.size > 1,
              moveVip,
              witness: witnesses.has(n),
            }),
            stdin: args.kubeconfig,
            identity: [stage.hop],
          },
          {
            parent: this,
            // The previous stage has finished: the leader before the other control planes, one control plane at a
            // time, every control plane before the workers, one batch of workers at a time, one hop after the other.
            // The first stage waits for the cluster as configured (node preparation, joins, CNI, storage).
            dependsOn: before,
          },
        );
      });
      this.steps.push(...made);
      before = made;
      last = made;
    }
    this.finished = pulumi.all(last.map((s) => s.stdout)).apply(() => upgrade.to);
    this.registerOutputs({});
  }
}
