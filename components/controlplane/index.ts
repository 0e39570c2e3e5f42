import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as kubernetes from "@pulumi/kubernetes";
import type { ClusterSpec, HostSpec } from "../config/spec";
import type { Host } from "../host/host";
import { identityTriggers, remoteScript, remoteStepOptions } from "../host/remote-script";
import { renderGatewayApiCrdsDeleteScript, renderGatewayApiCrdsScript } from "../network/gateway-api";
import { after, type Edge, resourcesOf, withReasons } from "../edges";
import type { Topology } from "../topology";
import { renderCniChart } from "./render-cni";
import { renderKeepalivedDeleteScript, renderKeepalivedScript } from "./render-keepalived";
import {
  renderInitDeleteScript,
  renderInitScript,
  renderJoinDeleteScript,
  renderJoinScript,
  renderJoinTokenScript,
  renderNodeDeleteScript,
  renderUploadCertsScript,
} from "./render-kubeadm";
import { renderNothingToUndoScript } from "./render-scripts";
import {
  renderWitnessCertsDeleteScript,
  renderWitnessCertsScript,
  renderWitnessMemberDeleteScript,
  renderWitnessMemberScript,
} from "./render-witness";
import { createClusterSecrets } from "./secrets";

export interface ControlPlaneArgs {
  spec: ClusterSpec;
  topology: Topology;
  hosts: Map<string, Host>;
}

interface StepArgs {
  /** Absent: nothing runs on create or update (no SSH session); only `delete` does. */
  create?: string;
  delete?: string;
  stdin?: pulumi.Input<string>;
  /** stdout carries a secret (kubeconfig, certificates): never logged, stored as a secret. */
  secretOutput?: boolean;
}

/**
 * keepalived, `kubeadm init` on the leader, control-plane joins one at a time,
 * witness etcd members after them, worker joins in parallel, the admin
 * kubeconfig as a Kubernetes provider, and the CNI.
 *
 * Resources (host names from the config): `<leader>-keepalived`,
 * `<leader>-kubeadm-init`; per follower `<cp>-upload-certs` (on the leader:
 * token refresh, certificate upload, CA hash), `<cp>-kubeadm-join`,
 * `<cp>-keepalived`; per witness `<w>-etcd-certs` (on the leader),
 * `<w>-etcd-member`; per worker `<w>-join-token` (on the leader),
 * `<w>-kubeadm-join` (which also waits for its own Node), `<w>-node` (on the
 * leader, only when the worker leaves: drain and delete its Node); `kubernetes` (provider) and
 * `cni-<cilium|calico>`.
 */
export class ControlPlane extends pulumi.ComponentResource {
  /** The admin kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Resources that must finish before anything is applied to the cluster (CNI ready). */
  readonly clusterReady: pulumi.Resource[];
  /** Talks to the cluster with the admin kubeconfig; use it with `dependsOn: clusterReady`. */
  readonly provider: kubernetes.Provider;
  /** Per host name: the step after which that host is a registered Kubernetes node (init, a control plane's join, a worker's `-node`). */
  readonly nodes: Map<string, pulumi.Resource>;
  /** `<leader>-gateway-api-crds`, when `networking.gatewayApi`: the Gateway API CRDs exist once it has run. */
  readonly gatewayApiCrds?: pulumi.Resource;

  private readonly user: string;

  constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:controlplane:ControlPlane", name, {}, opts);
    const { spec, topology, hosts } = args;
    this.user = spec.cluster.ssh.user;
    const hostOf = (n: string): Host => {
      const h = hosts.get(n);
      if (!h) throw new pulumi.ResourceError(`the topology names host ${n}, which has no Host component`, this);
      return h;
    };
    const specOf = (n: string): HostSpec => hostOf(n).spec;
    const keepalived = spec.cluster.endpoint.keepalived.enabled;
    const secrets = createClusterSecrets(this, keepalived);
    const leaderName = topology.leader;
    const leader = hostOf(leaderName);
    this.nodes = new Map();

    const leaderKeepalived = keepalived
      ? this.step(
          `${leaderName}-keepalived`,
          leader,
          {
            create: renderKeepalivedScript(spec, { host: leader.spec, leader: true }),
            delete: renderKeepalivedDeleteScript(leader.spec),
            stdin: secrets.vrrpPassword,
          },
          [after(leader, "node preparation installs keepalived and curl")],
        )
      : undefined;

    const init = this.step(
      `${leaderName}-kubeadm-init`,
      leader,
      {
        create: renderInitScript(spec, leader.spec),
        delete: renderInitDeleteScript(leader.spec),
        stdin: pulumi.interpolate`${secrets.bootstrapToken}\n${secrets.certificateKey}\n`,
        secretOutput: true,
      },
      [
        after(leader, "node preparation (containerd, kubeadm, kubelet) and disks first"),
        ...(leaderKeepalived
          ? [
              after(
                leaderKeepalived,
                "the VIP must answer as soon as the API server does: kubeadm init reaches it through controlPlaneEndpoint",
              ),
            ]
          : []),
      ],
    );
    this.nodes.set(leaderName, init);
    this.kubeconfig = pulumi.secret(init.stdout);

    const followers = topology.controlPlanes.filter((n) => n !== leaderName);

    // Control-plane followers, one at a time: each join adds an etcd member, and etcd membership changes must not overlap.
    let lastMembershipChange: pulumi.Resource = init;
    for (const f of followers) {
      const host = hostOf(f);
      const upload = this.step(
        `${f}-upload-certs`,
        leader,
        {
          create: renderUploadCertsScript(spec, leader.spec, host.spec),
          stdin: pulumi.interpolate`${secrets.bootstrapToken}\n${secrets.certificateKey}\n`,
        },
        [
          after(host, "right before this join, not before its node preparation: the uploaded certificates expire after 2 hours"),
          after(
            lastMembershipChange,
            "the previous follower has joined (serial etcd membership changes); for the first, kubeadm init has run",
          ),
        ],
      );
      const join = this.step(
        `${f}-kubeadm-join`,
        host,
        {
          create: renderJoinScript(spec, host.spec),
          delete: renderJoinDeleteScript(host.spec),
          stdin: pulumi.interpolate`${secrets.bootstrapToken}\n${upload.stdout}\n${secrets.certificateKey}\n`,
        },
        [
          after(host, "node preparation and disks first"),
          after(upload, "the token is valid, the control-plane certificates freshly uploaded, the CA hash known"),
        ],
      );
      this.nodes.set(f, join);
      if (keepalived) {
        this.step(
          `${f}-keepalived`,
          host,
          {
            create: renderKeepalivedScript(spec, { host: host.spec, leader: false }),
            delete: renderKeepalivedDeleteScript(host.spec),
            stdin: secrets.vrrpPassword,
          },
          [after(join, "a follower may hold the VIP only once its API server exists; on removal, keepalived stops before the reset")],
        );
      }
      lastMembershipChange = join;
    }

    // Witness etcd members after the last follower, one at a time (etcd membership changes never overlap).
    const voters = topology.etcdVoters.map(specOf);
    for (const w of topology.witnesses) {
      const host = hostOf(w);
      const others = voters.filter((v) => v.name !== w);
      const certs = this.step(
        `${w}-etcd-certs`,
        leader,
        {
          create: renderWitnessCertsScript(leader.spec, host.spec),
          delete: renderWitnessCertsDeleteScript(leader.spec, host.spec),
          secretOutput: true,
        },
        [after(init, "the etcd CA exists once kubeadm init has run")],
      );
      const member = this.step(
        `${w}-etcd-member`,
        host,
        {
          create: renderWitnessMemberScript(spec, host.spec, others),
          delete: renderWitnessMemberDeleteScript(host.spec, others),
          stdin: pulumi.secret(certs.stdout),
        },
        [
          after(host, "node preparation first (curl, systemd unit directory)"),
          after(certs, "the member's certificates, signed on the leader"),
          after(lastMembershipChange, "after the last control-plane join or the previous witness: etcd membership changes never overlap"),
        ],
      );
      lastMembershipChange = member;
    }

    // Workers join in parallel: each waits for the leader and its own host, never for another worker.
    for (const w of topology.workers) {
      const host = hostOf(w);
      const token = this.step(
        `${w}-join-token`,
        leader,
        {
          create: renderJoinTokenScript(leader.spec, host.spec),
          stdin: pulumi.interpolate`${secrets.bootstrapToken}\n`,
        },
        [
          after(init, "the cluster and its CA exist"),
          after(host, "refresh the token right before this join, not before the host's node preparation"),
        ],
      );
      const join = this.step(
        `${w}-kubeadm-join`,
        host,
        {
          create: renderJoinScript(spec, host.spec),
          delete: renderJoinDeleteScript(host.spec),
          stdin: pulumi.interpolate`${secrets.bootstrapToken}\n${token.stdout}\n`,
        },
        [after(host, "node preparation and disks first"), after(token, "the bootstrap token is valid and the CA hash known")],
      );
      // Runs nothing on create (the join waited for the Node): the leader opens no session per joining worker.
      const node = this.step(
        `${w}-node`,
        leader,
        {
          delete: renderNodeDeleteScript(leader.spec, host.spec),
        },
        [after(join, "the Node exists after the join; on removal this drains it before the worker's kubeadm reset")],
      );
      this.nodes.set(w, node);
    }

    this.provider = new kubernetes.Provider("kubernetes", { kubeconfig: this.kubeconfig }, { parent: this });

    if (spec.cluster.networking.gatewayApi) {
      this.gatewayApiCrds = this.step(
        `${leaderName}-gateway-api-crds`,
        leader,
        { create: renderGatewayApiCrdsScript(leader.spec), delete: renderGatewayApiCrdsDeleteScript(leader.spec) },
        [after(init, "the API server and the leader's admin.conf exist")],
      );
    }

    const chart = renderCniChart(spec);
    const cniEdges = [
      after(init, "the API server exists (the provider's kubeconfig comes from it)"),
      ...(this.gatewayApiCrds
        ? [
            after(
              this.gatewayApiCrds,
              "Cilium's operator looks for the Gateway API CRDs when it starts and leaves its Gateway controller off without them",
            ),
          ]
        : []),
    ];
    if (chart) {
      const cni = new kubernetes.helm.v3.Release(
        `cni-${chart.release}`,
        {
          name: chart.release,
          chart: chart.chart,
          version: chart.version,
          repositoryOpts: { repo: chart.repo },
          namespace: chart.namespace,
          createNamespace: chart.namespace !== "kube-system",
          values: chart.values,
          timeout: 600,
        },
        {
          parent: this,
          provider: this.provider,
          dependsOn: resourcesOf(cniEdges),
        },
      );
      withReasons(cni, cniEdges);
      this.clusterReady = [cni];
    } else {
      this.clusterReady = [init, ...(this.gatewayApiCrds ? [this.gatewayApiCrds] : [])];
    }
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }

  /**
   * One remote command. A changed script re-runs in place (`update` = `create`;
   * every script is guarded and idempotent). `triggers` holds only the step's
   * identity, never the content, and is ignored after creation like every
   * remote step's (remoteStepOptions): replacing a step runs the old one's
   * delete after the new create, and for these steps that is kubeadm reset,
   * etcd member remove or stopping keepalived.
   */
  private step(name: string, on: Host, args: StepArgs, edges: Edge[]): command.remote.Command {
    const dependsOn = resourcesOf(edges);
    const create = args.create !== undefined ? remoteScript(args.create, this.user) : undefined;
    return withReasons(
      new command.remote.Command(
        name,
        {
          connection: on.connection,
          ...(create !== undefined ? { create, update: create } : {}),
          delete: remoteScript(args.delete ?? renderNothingToUndoScript(on.spec, name), this.user),
          triggers: identityTriggers("baremetal-k8s:controlplane", name),
          ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
          ...(args.secretOutput ? { logging: "none" } : {}),
          // The previous stdout may hold a secret; never send it back to the host as an environment variable.
          addPreviousOutputInEnv: false,
        },
        remoteStepOptions({ parent: this, dependsOn, ...(args.secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}) }),
      ),
      edges,
    );
  }
}
