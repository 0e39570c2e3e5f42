import { describe, expect, it } from "vitest";
import { loadStack, type ProgramRun, runProgram } from "../harness";
import { NODE_PATCH, RELEASE } from "./helpers";
import { cephControlPlanesSeed, talosLocalSeed } from "./seeds";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/";

/** The storage component's Helm releases (the control plane has its own, the CNI). */
function storageReleases(run: ProgramRun) {
  const storage = run.get("storage", "baremetal-k8s:storage:Storage");
  return run.descendants(storage.urn).filter((r) => r.type === RELEASE);
}

describe("storage bring-up order in the real program", () => {
  it("installs every storage release after the CNI (the control plane's clusterReady)", async () => {
    const run = await runProgram(loadStack("dev"));
    const releases = storageReleases(run);
    expect(releases.map((r) => r.name).sort()).toEqual(["local-static-provisioner", "longhorn", "rook-ceph", "rook-ceph-cluster"]);
    for (const r of releases) run.assertAfter(r, "cni-cilium");
  });

  it("installs Longhorn after node prep of every node, the unique iSCSI names and the data mounts of its storage nodes, and their labels", async () => {
    const run = await runProgram(loadStack("dev"));
    for (const h of ["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4"]) run.assertAfter("longhorn", `${h}-node-prep`);
    for (const h of ["w-1", "w-2", "w-3"]) {
      run.assertAfter("longhorn", `${h}-disk-longhorn`);
      run.assertAfter("longhorn", `${h}-iscsi`);
      run.assertAfter("longhorn", `${h}-longhorn-node`);
    }
  });

  it("labels a Longhorn node once that node has joined, without waiting for the other joins", async () => {
    const run = await runProgram(loadStack("dev"));
    for (const p of run.ofType(NODE_PATCH)) {
      const host = p.name.replace(/-longhorn-node$/, "");
      run.assertAfter(p, `${host}-node`);
    }
    expect(run.waitsFor("w-1-longhorn-node", "w-2-node")).toBe(false);
  });

  it("installs the Rook operator after node prep and the raw-disk check of the OSD hosts, and the cluster chart after the operator", async () => {
    const run = await runProgram(cephControlPlanesSeed());
    for (const h of ["cp-1", "cp-2", "w-1"]) run.assertAfter("rook-ceph", `${h}-node-prep`);
    for (const h of ["cp-1", "cp-2"]) run.assertAfter("rook-ceph", `${h}-disk-nvme0`);
    run.assertAfter("rook-ceph-cluster", "rook-ceph");
    expect(run.waitsFor("rook-ceph", "rook-ceph-cluster")).toBe(false);
  });

  it("installs the local provisioner after the disk layout of every host with local disks, and waits for no other host", async () => {
    const cfg = talosLocalSeed();
    (cfg.hosts as unknown[]).push({ name: "w-9", address: "192.0.2.29", hostKey: KEY, roles: ["worker"] });
    const run = await runProgram(cfg);
    for (const [h, d] of [
      ["cp-1", "ssd0"],
      ["w-1", "ssd0"],
      ["w-1", "hdd0"],
      ["w-1", "hdd1"],
      ["w-2", "ssd0"],
      ["w-2", "nvme0"],
    ]) {
      run.assertAfter("local-static-provisioner", `${h}-disk-${d}`);
    }
    expect(run.waitsFor("local-static-provisioner", "w-9-node-prep")).toBe(false);
  });

  it("names storage resources after hosts, so adding a host changes no existing name", async () => {
    const before = await runProgram(loadStack("dev"));
    const cfg = loadStack("dev");
    (cfg.hosts as unknown[]).push({
      name: "w-5",
      address: "192.168.10.25",
      hostKey: KEY,
      roles: ["worker"],
      disks: [{ name: "longhorn", device: "/dev/disk/by-id/nvme-W5LH", use: "longhorn" }],
    });
    const after = await runProgram(cfg);
    const names = (run: ProgramRun) => new Set([...run.ofType(NODE_PATCH), ...storageReleases(run)].map((r) => r.urn));
    const added = [...names(after)].filter((u) => !names(before).has(u));
    expect(added.map((u) => u.split("::").pop())).toEqual(["w-5-longhorn-node"]);
    for (const u of names(before)) expect(names(after).has(u)).toBe(true);
  });
});
