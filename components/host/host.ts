import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { ClusterSpec, HostSpec } from "../config/spec";
import { after, type Edge, resourcesOf, withReasons } from "../edges";
import type { Topology } from "../topology";
import { hostConnection } from "./connection";
import { identityTriggers, remoteScript, remoteStepOptions } from "./remote-script";
import { diskSteps } from "./render-disks";
import { needsLonghornPrereqs, renderInitiatorName, renderInitiatorNameDelete } from "./render-iscsi";
import { renderNodePrep, renderNodePrepDelete, volumePluginDir } from "./render-node-prep";

export interface HostArgs {
  spec: HostSpec;
  cluster: ClusterSpec;
  topology: Topology;
  sshPrivateKey: pulumi.Input<string>;
}

/**
 * One machine of the cluster: its SSH connection, node preparation and disk
 * layout. Anything of kubeadm on this host depends on the Host component, so
 * it starts only after all of the Host's children have finished.
 *
 * Children, named from the host and disk names:
 * - `<host>-node-prep`: one session for everything the node needs before kubeadm.
 * - `<host>-disk-<disk>`: one per disk that is not ephemeral, after node prep
 *   (which installs mkfs/mdadm). Per disk so that removing a disk from the
 *   config unmounts only that disk, and changing one re-runs only that one;
 *   the sessions run in parallel and serialise on a lock on the host.
 * - `<host>-ephemeral`: all ephemeral disks of the host together (one array).
 * - `<host>-iscsi` (Longhorn hosts): the initiator name, read back as `initiatorName`.
 */
export class Host extends pulumi.ComponentResource {
  readonly spec: HostSpec;
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** Node preparation: swap, modules, sysctls, containerd, kube packages, storage prerequisites. */
  readonly nodePrep: command.remote.Command;
  /** Disk layout steps by name suffix (`disk-<disk name>`, `ephemeral`). */
  readonly disks: ReadonlyMap<string, command.remote.Command>;
  /** Longhorn hosts only: the step that makes the iSCSI initiator name unique-once and starts iscsid. */
  readonly iscsi?: command.remote.Command;
  /** Longhorn hosts only: this host's iSCSI initiator name, as the host reported it. */
  readonly initiatorName?: pulumi.Output<string>;
  /** The kubelet's volume-plugin (flexvolume) directory here: on /var for immutable roots. */
  readonly volumePluginDir: string;

  constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("baremetal-k8s:host:Host", name, {}, opts);
    const host = args.spec;
    const user = args.cluster.cluster.ssh.user;
    this.spec = host;
    this.connection = hostConnection(host, args.cluster.cluster, args.sshPrivateKey);
    this.volumePluginDir = volumePluginDir(host);

    const step = (suffix: string, create: string, del: string, edges: Edge[], identity: string[] = []) =>
      withReasons(
        hostStep(
          { host: host.name, suffix, connection: this.connection, user, create, delete: del, identity },
          { parent: this, dependsOn: resourcesOf(edges) },
        ),
        edges,
      );

    const prep = renderNodePrep(host, args.cluster);
    this.nodePrep = step("node-prep", prep, renderNodePrepDelete(host), []);

    const disks = new Map<string, command.remote.Command>();
    for (const s of diskSteps(host)) {
      const why =
        "node preparation installs the mkfs/mdadm tools the disk scripts run, and containerd, whose directory an ephemeral disk takes over";
      disks.set(s.key, step(s.key, s.create, s.delete, [after(this.nodePrep, why)], s.identity));
    }
    this.disks = disks;

    if (needsLonghornPrereqs(host, args.cluster)) {
      const script = renderInitiatorName(host);
      this.iscsi = step("iscsi", script, renderInitiatorNameDelete(host), [
        after(this.nodePrep, "node preparation installs open-iscsi (iscsi-iname, iscsid)"),
      ]);
      this.initiatorName = this.iscsi.stdout.apply((out) => lastLine(out));
    }
    this.registerOutputs({});
  }
}

/** One remote step of a host: what Host registers for node prep, each disk and the iSCSI name. */
export interface HostStepArgs {
  host: string;
  /** the resource name's suffix after the host name (`node-prep`, `disk-<disk>`, ...) */
  suffix: string;
  connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  user: string;
  create: string;
  /** Absent: nothing runs when the step leaves the program (an upgrade step: nothing to undo, no session). */
  delete?: string;
  /** Read by the script on stdin (secrets go here, never into the script). */
  stdin?: pulumi.Input<string>;
  /** what the step acts on beyond host and suffix (a disk's name and mountpoint...), for the triggers written at creation: see identityTriggers */
  identity?: string[];
}

/**
 * A host step: `<host>-<suffix>`. Nothing replaces it: its `triggers` (what it acts on, written at
 * creation) are ignored afterwards (remoteStepOptions), so a changed script, `wipe`, device or
 * mountpoint runs `update` (= create: every script is idempotent and converges, e.g. a disk moves to
 * its new mountpoint) in place, and a step whose state holds an older release's script digest is
 * updated, not replaced (a replacement would run the old delete after the new create).
 */
export function hostStep(a: HostStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
  return new command.remote.Command(
    `${a.host}-${a.suffix}`,
    {
      connection: a.connection,
      create: remoteScript(a.create, a.user),
      update: remoteScript(a.create, a.user),
      ...(a.delete !== undefined ? { delete: remoteScript(a.delete, a.user) } : {}),
      ...(a.stdin !== undefined ? { stdin: a.stdin } : {}),
      triggers: identityTriggers("baremetal-k8s:host", a.host, a.suffix, ...(a.identity ?? [])),
      // Package installs print a lot; passing it back as an environment variable on the next run gains nothing.
      addPreviousOutputInEnv: false,
    },
    remoteStepOptions(opts),
  );
}

/** The last non-empty line of a step's stdout (the initiator-name script prints only the name). */
function lastLine(out: string | undefined): string {
  const lines = (out ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return lines[lines.length - 1] ?? "";
}
