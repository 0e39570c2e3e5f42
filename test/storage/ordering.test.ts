import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "../../components/controlplane";
import { Host } from "../../components/host/host";
import { Storage } from "../../components/storage";
import { evaluate } from "../../plan/evaluate";
import { loadStack, ProgramRun, type TestConfig, TEST_SSH_KEY } from "../harness";
import { NODE_PATCH, RELEASE, specOf } from "./helpers";
import { cephControlPlanesSeed, talosLocalSeed } from "./seeds";

/** A resource standing in for another component's work: registers, has no inputs, does nothing. */
class StandIn extends pulumi.CustomResource {
  constructor(type: string, name: string, opts: pulumi.CustomResourceOptions) {
    super(type, name, {}, opts);
  }
}

/**
 * Builds the storage component against stand-ins for what other components
 * will own: a `standin:host:NodePrep` child per Host (node prep and disk
 * layout) and a `standin:cni:Release` as the control plane's `clusterReady`.
 * The real ControlPlane and Host are used; only their children are stood in.
 */
async function runWithStandins(cfg: TestConfig): Promise<ProgramRun> {
  const { spec, topology } = specOf(cfg);
  const { resources } = await evaluate({
    config: {},
    program: () => {
      const hosts = new Map(
        spec.hosts.map((h) => {
          const host = new Host(h.name, { spec: h, cluster: spec, topology, sshPrivateKey: pulumi.secret(TEST_SSH_KEY) });
          new StandIn("standin:host:NodePrep", `${h.name}-prep-standin`, { parent: host });
          return [h.name, host] as const;
        }),
      );
      const controlPlane = new ControlPlane("control-plane", { spec, topology, hosts });
      const cni = new StandIn("standin:cni:Release", "cni", { parent: controlPlane });
      Object.defineProperty(controlPlane, "clusterReady", { value: [cni] });
      new Storage("storage", { spec, topology, hosts, controlPlane });
    },
  });
  return new ProgramRun(resources, {});
}

const prep = (host: string) => `${host}-prep-standin`;

describe("storage bring-up order", () => {
  it("installs every release after the CNI, and never before", async () => {
    const run = await runWithStandins(loadStack("dev"));
    for (const r of run.ofType(RELEASE)) run.assertAfter(r, "cni");
  });

  it("installs Longhorn after node prep of every node (its manager and CSI plugin run on all of them) and after labelling its storage nodes", async () => {
    const run = await runWithStandins(loadStack("dev"));
    for (const h of ["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4"]) run.assertAfter("longhorn", prep(h));
    for (const h of ["w-1", "w-2", "w-3"]) run.assertAfter("longhorn", `${h}-longhorn-node`);
  });

  it("labels a Longhorn node only after the control plane is done (the Node object exists once the host joined)", async () => {
    const run = await runWithStandins(loadStack("dev"));
    for (const p of run.ofType(NODE_PATCH)) run.assertAfter(p, "cni");
  });

  it("installs the Rook operator after node prep of the OSD hosts and the cluster chart after the operator", async () => {
    const run = await runWithStandins(cephControlPlanesSeed());
    for (const h of ["cp-1", "cp-2", "w-1"]) run.assertAfter("rook-ceph", prep(h));
    run.assertAfter("rook-ceph-cluster", "rook-ceph");
    expect(run.waitsFor("rook-ceph", "rook-ceph-cluster")).toBe(false);
  });

  it("installs the local provisioner after the disk layout of every host with local disks, and waits for no other host", async () => {
    const cfg = talosLocalSeed();
    (cfg.hosts as unknown[]).push({ name: "w-9", address: "192.0.2.29", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/", roles: ["worker"] });
    const run = await runWithStandins(cfg);
    for (const h of ["cp-1", "w-1", "w-2"]) run.assertAfter("local-static-provisioner", prep(h));
    expect(run.waitsFor("local-static-provisioner", prep("w-9"))).toBe(false);
  });

  it("names storage resources after hosts, so adding a host changes no existing name", async () => {
    const before = await runWithStandins(loadStack("dev"));
    const cfg = loadStack("dev");
    (cfg.hosts as unknown[]).push({
      name: "w-5",
      address: "192.168.10.25",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/",
      roles: ["worker"],
      disks: [{ name: "longhorn", device: "/dev/disk/by-id/nvme-W5LH", use: "longhorn" }],
    });
    const after = await runWithStandins(cfg);
    const names = (run: ProgramRun) => new Set([...run.ofType(NODE_PATCH), ...run.ofType(RELEASE)].map((r) => r.urn));
    const added = [...names(after)].filter((u) => !names(before).has(u));
    expect(added.map((u) => u.split("::").pop())).toEqual(["w-5-longhorn-node"]);
    for (const u of names(before)) expect(names(after).has(u)).toBe(true);
  });
});
