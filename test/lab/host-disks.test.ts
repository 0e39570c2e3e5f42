// The disk layout scripts, run for real over SSH on lab hosts with loop disks: format + mount with fstab
// entries by UUID, the block symlink, the raw ceph check, the single-disk ephemeral layout with bind
// mounts and content carried over; a second run changes nothing; foreign data is refused without
// wipe: true and accepted with it. RAID0 (mdadm) cannot run in this kernel: see test/host/render-disks.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../../components/config";
import { diskSteps, EPHEMERAL_MOUNT, renderDiskDelete } from "../../components/host/render-disks";
import { labAvailable, startLab, type Lab } from "./lab";
import { hostOf, labSpec, PREFIX, runScript, sh, SUBNET } from "./host-lab";

const avail = labAvailable();
const id = (host: string, disk: string) => `/dev/disk/by-id/lab-${host}-${disk}`;

const STORAGE = {
  longhorn: { enabled: true },
  rookCeph: { enabled: true },
  localStatic: {
    enabled: true,
    classes: [
      { name: "fast", hostDir: "/var/lib/disks/fast", volumeMode: "Filesystem", fsType: "ext4" },
      { name: "raw", hostDir: "/var/lib/disks/raw", volumeMode: "Block" },
    ],
  },
};

function layoutHost(wipe = false): unknown[] {
  return [
    {
      name: "d-1",
      address: `${SUBNET}.11`,
      roles: ["control-plane"],
      os: "debian",
      disks: [
        { name: "data", device: id("d-1", "vdb"), use: "longhorn", fsType: "xfs" },
        { name: "ssd", device: id("d-1", "vdc"), use: "local", storageClass: "fast" },
        { name: "blk", device: id("d-1", "vdd"), use: "local", storageClass: "raw" },
        { name: "osd", device: id("d-1", "vde"), use: "ceph" },
        { name: "scratch", device: id("d-1", "vdf"), use: "ephemeral" },
      ],
    },
    {
      name: "d-2",
      address: `${SUBNET}.12`,
      roles: ["worker"],
      os: "debian",
      disks: [
        { name: "backup", device: id("d-2", "vdb"), use: "mount", fsType: "xfs", mountpoint: "/srv/backup", wipe },
        { name: "osd", device: id("d-2", "vdc"), use: "ceph", wipe },
        { name: "parted", device: id("d-2", "vdd"), use: "mount", fsType: "ext4", mountpoint: "/srv/parted", wipe },
      ],
    },
  ];
}

describe.skipIf(!avail.ok)(`disk layout on lab hosts${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  let spec: ClusterSpec;
  const steps = (host: string, s: ClusterSpec = spec) => new Map(diskSteps(hostOf(s, host)).map((x) => [x.key, x]));

  beforeAll(async () => {
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      preinstalled: ["xfsprogs"], // a shortcut: no node preparation here; mkfs.xfs is what it would install
      hosts: [
        {
          name: "d-1",
          disks: [
            { name: "vdb", size: "512M" },
            { name: "vdc", size: "256M" },
            { name: "vdd", size: "64M" },
            { name: "vde", size: "64M" },
            { name: "vdf", size: "512M" },
          ],
        },
        {
          name: "d-2",
          disks: [
            { name: "vdb", size: "512M" },
            { name: "vdc", size: "256M" },
            { name: "vdd", size: "256M" },
          ],
        },
      ],
    });
    spec = labSpec(layoutHost(), STORAGE);
  });

  afterAll(async () => {
    await lab?.down();
  });

  it("lays out every kind of disk, with fstab entries by UUID, and a second run changes nothing", async () => {
    // Content the ephemeral disk must carry over: what node prep and packages put there before.
    await sh(
      lab,
      "d-1",
      "mkdir -p /var/lib/kubelet/pki /var/lib/containerd && echo kept > /var/lib/kubelet/pki/seed && echo kept > /var/lib/containerd/seed",
    );
    const first: Record<string, string> = {};
    for (const [key, step] of steps("d-1")) {
      const r = await runScript(lab, "d-1", step.create);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      first[key] = r.stdout;
    }
    expect(first["disk-data"]).toContain("formatted /dev/disk/by-id/lab-d-1-vdb as xfs");

    const fstab = await sh(lab, "d-1", "cat /etc/fstab");
    const uuid = async (dev: string) => (await sh(lab, "d-1", `blkid -p -s UUID -o value ${dev}`)).trim();
    expect(fstab).toContain(`UUID=${await uuid("/dev/vdb")} /var/lib/longhorn xfs defaults,nofail 0 2`);
    expect(fstab).toContain(`UUID=${await uuid("/dev/vdc")} /var/lib/disks/fast/ssd ext4 defaults,nofail 0 2`);
    expect(fstab).toContain(`UUID=${await uuid("/dev/vdf")} ${EPHEMERAL_MOUNT} xfs defaults 0 2`);
    expect(fstab).toContain(`${EPHEMERAL_MOUNT}/kubelet /var/lib/kubelet none bind,x-systemd.requires-mounts-for=${EPHEMERAL_MOUNT} 0 0`);
    expect(fstab).toContain(`${EPHEMERAL_MOUNT}/containerd /var/lib/containerd none bind`);

    const mounts = await sh(lab, "d-1", "findmnt -rn -o TARGET,SOURCE,FSTYPE");
    expect(mounts).toMatch(/^\/var\/lib\/longhorn \/dev\/vdb xfs$/m);
    expect(mounts).toMatch(/^\/var\/lib\/disks\/fast\/ssd \/dev\/vdc ext4$/m);
    expect(mounts).toMatch(/^\/var\/lib\/kubelet \/dev\/vdf\[\/kubelet\] xfs$/m);
    expect(mounts).toMatch(/^\/var\/lib\/containerd \/dev\/vdf\[\/containerd\] xfs$/m);
    expect(await sh(lab, "d-1", "cat /var/lib/kubelet/pki/seed /var/lib/containerd/seed")).toBe("kept\nkept\n");
    expect((await sh(lab, "d-1", "readlink /var/lib/disks/raw/blk")).trim()).toBe(id("d-1", "vdd"));
    // ceph: left raw
    expect((await lab.ssh("d-1", "blkid -p /dev/vde")).code).toBe(2);

    // fstab entries by UUID really mount: unmount everything and let mount -a bring it back.
    await sh(
      lab,
      "d-1",
      "umount /var/lib/kubelet /var/lib/containerd /var/lib/longhorn /var/lib/disks/fast/ssd && umount " + EPHEMERAL_MOUNT,
    );
    await sh(lab, "d-1", "mount -a");
    expect(await sh(lab, "d-1", "cat /var/lib/kubelet/pki/seed")).toBe("kept\n");
    // (without udev, mount finds the UUID on the loop node behind /dev/vdb: same device numbers)
    expect(await sh(lab, "d-1", "findmnt -rn -o MAJ:MIN,FSTYPE /var/lib/longhorn")).toBe(
      `${(await sh(lab, "d-1", "lsblk -dnro MAJ:MIN /dev/vdb")).trim()} xfs\n`,
    );

    const before = await sh(
      lab,
      "d-1",
      "cat /etc/fstab; blkid -p -s UUID -o value /dev/vdb /dev/vdc /dev/vdf; findmnt -rn -o TARGET,SOURCE | sort",
    );
    for (const [key, step] of steps("d-1")) {
      const r = await runScript(lab, "d-1", step.create);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      expect(r.stdout, key).toMatch(/nothing to do/);
      expect(r.stdout, key).not.toMatch(/formatted|mounted|added|copied|linked|wiped/);
    }
    expect(
      await sh(lab, "d-1", "cat /etc/fstab; blkid -p -s UUID -o value /dev/vdb /dev/vdc /dev/vdf; findmnt -rn -o TARGET,SOURCE | sort"),
    ).toBe(before);
  });

  it("refuses devices holding foreign data, naming the device and what is on it, and leaves them untouched", async () => {
    await sh(lab, "d-2", "mkfs.ext4 -q /dev/vdb && mkfs.ext4 -q /dev/vdc && echo 'label: gpt' | sfdisk -q /dev/vdd");
    const uuidBefore = (await sh(lab, "d-2", "blkid -p -s UUID -o value /dev/vdb")).trim();
    const s = steps("d-2");

    const backup = await runScript(lab, "d-2", (s.get("disk-backup") as { create: string }).create);
    expect(backup.code).not.toBe(0);
    expect(backup.stderr).toContain("refusing to touch /dev/disk/by-id/lab-d-2-vdb (/dev/vdb): it holds a ext4 signature");
    expect(backup.stderr).toContain("wipefs lists:");
    expect(backup.stderr).toContain("set wipe: true");

    const osd = await runScript(lab, "d-2", (s.get("disk-osd") as { create: string }).create);
    expect(osd.code).not.toBe(0);
    expect(osd.stderr).toContain("refusing to touch /dev/disk/by-id/lab-d-2-vdc (/dev/vdc): it holds a ext4 signature");
    expect(osd.stderr).toContain("Rook-Ceph takes it raw");

    const parted = await runScript(lab, "d-2", (s.get("disk-parted") as { create: string }).create);
    expect(parted.code).not.toBe(0);
    expect(parted.stderr).toContain("a gpt partition table");

    expect((await sh(lab, "d-2", "blkid -p -s UUID -o value /dev/vdb")).trim()).toBe(uuidBefore);
    expect(await sh(lab, "d-2", "blkid -p -s TYPE -o value /dev/vdc")).toBe("ext4\n");
    expect(await sh(lab, "d-2", "blkid -p -s PTTYPE -o value /dev/vdd")).toBe("gpt\n");
    expect(await sh(lab, "d-2", "grep -c baremetal-k8s /etc/fstab || true")).toBe("0\n");
  });

  it("with wipe: true erases the foreign signatures and lays the disks out; a second run keeps them", async () => {
    const wiped = labSpec(layoutHost(true), STORAGE);
    for (const [key, step] of steps("d-2", wiped)) {
      const r = await runScript(lab, "d-2", step.create);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      expect(r.stdout, key).toContain("wipe: true: erasing the signatures");
    }
    expect(await sh(lab, "d-2", "blkid -p -s TYPE -o value /dev/vdb")).toBe("xfs\n");
    expect((await lab.ssh("d-2", "blkid -p /dev/vdc")).code).toBe(2);
    expect(await sh(lab, "d-2", "findmnt -rn -o SOURCE,FSTYPE /srv/parted")).toBe("/dev/vdd ext4\n");
    const uuid = (await sh(lab, "d-2", "blkid -p -s UUID -o value /dev/vdb")).trim();
    for (const [key, step] of steps("d-2", wiped)) {
      const r = await runScript(lab, "d-2", step.create);
      expect(r.code, `${key}: ${r.stderr}`).toBe(0);
      expect(r.stdout, key).not.toContain("erasing");
    }
    expect((await sh(lab, "d-2", "blkid -p -s UUID -o value /dev/vdb")).trim()).toBe(uuid);
  });

  it("deleting a disk step unmounts it and drops its fstab entry, leaving the data on the disk", async () => {
    const d2 = hostOf(labSpec(layoutHost(true), STORAGE), "d-2");
    await sh(lab, "d-2", "echo precious > /srv/backup/file");
    const uuid = (await sh(lab, "d-2", "blkid -p -s UUID -o value /dev/vdb")).trim();
    const del = await runScript(lab, "d-2", renderDiskDelete(d2, d2.disks.find((d) => d.name === "backup") as (typeof d2.disks)[number]));
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain("unmounted /srv/backup");
    expect((await lab.ssh("d-2", "mountpoint -q /srv/backup")).code).not.toBe(0);
    const fstab = await sh(lab, "d-2", "cat /etc/fstab");
    expect(fstab).not.toContain("/srv/backup");
    expect(fstab).toContain("/srv/parted");
    expect(fstab).not.toContain("disk backup");
    expect(await sh(lab, "d-2", "mount /dev/vdb /mnt && cat /mnt/file && umount /mnt")).toBe("precious\n");
    expect((await sh(lab, "d-2", "blkid -p -s UUID -o value /dev/vdb")).trim()).toBe(uuid);
  });
});
