import { describe, expect, it } from "vitest";
import { diskSteps, EPHEMERAL_MD_NAME, renderDisk, renderDiskDelete, renderEphemeral } from "../../components/host/render-disks";
import type { DiskSpec } from "../../components/config";
import { ALL_DISKS, HAS_SHELLCHECK, host, shellcheck, specWith } from "./scripts";

const spec = specWith([{ name: "w-1", os: "ubuntu", disks: ALL_DISKS }]);
const w1 = host(spec, "w-1");
const disk = (name: string) => w1.disks.find((d) => d.name === name) as DiskSpec;
const ephemeral = (n: number, wipe = false) =>
  Array.from({ length: n }, (_, i) => ({ name: `eph${i}`, device: `/dev/disk/by-id/nvme-EPH${i}`, use: "ephemeral", wipe }));
const raidSpec = specWith([{ name: "w-2", os: "debian", disks: ephemeral(3) }]);
const w2 = host(raidSpec, "w-2");

describe("disk layout scripts", () => {
  it("has one step per disk and one for the host's ephemeral disks together, named from disk names", () => {
    expect(diskSteps(w1).map((s) => s.key)).toEqual(["disk-backup", "disk-longhorn", "disk-ssd", "disk-blk", "disk-osd0", "ephemeral"]);
    expect(diskSteps(w2).map((s) => s.key)).toEqual(["ephemeral"]);
    expect(diskSteps(host(specWith([{ name: "cp", os: "debian" }]), "cp"))).toEqual([]);
  });

  it.each(["backup", "longhorn", "ssd", "blk", "osd0"])("renders disk %s deterministically (snapshot)", (name) => {
    expect(renderDisk(w1, disk(name))).toBe(renderDisk(w1, disk(name)));
    expect(renderDisk(w1, disk(name))).toMatchSnapshot();
  });

  it("renders the single-disk and the RAID0 ephemeral layouts (snapshot)", () => {
    expect(renderEphemeral(w1, [disk("scratch") as Extract<DiskSpec, { use: "ephemeral" }>])).toMatchSnapshot();
    expect(diskSteps(w2)[0]?.create).toMatchSnapshot();
  });

  it.skipIf(!HAS_SHELLCHECK)("every create and delete script of every use, single and RAID0 ephemeral, is shellcheck-clean", () => {
    const wiped = host(
      specWith([{ name: "w-3", os: "debian", disks: [...ALL_DISKS.map((d) => ({ ...d, wipe: true })), ...ephemeral(2, true)] }]),
      "w-3",
    );
    for (const h of [w1, w2, wiped]) {
      for (const s of diskSteps(h)) {
        expect(shellcheck(s.create), `${h.name} ${s.key}`).toBe("");
        expect(shellcheck(s.delete), `${h.name} ${s.key} delete`).toBe("");
      }
    }
  });

  it("formats and mounts with an fstab entry by UUID; data disks are nofail, the ephemeral disk is not", () => {
    const backup = renderDisk(w1, disk("backup"));
    expect(backup).toContain("FSTYPE='ext4'\nMOUNTPOINT='/srv/backup'");
    expect(backup).toContain('fstab_ensure "$MARK" "UUID=$fs_uuid $MP_FSTAB $FSTYPE defaults,nofail 0 2" "$MP_FSTAB"');
    expect(backup).toContain('mkfs.ext4 -q "$dev" </dev/null');
    expect(renderDisk(w1, disk("longhorn"))).toContain("MOUNTPOINT='/var/lib/longhorn'");
    expect(renderDisk(w1, disk("ssd"))).toContain("MOUNTPOINT='/var/lib/disks/fast/ssd'");
    expect(renderDisk(w1, disk("ssd"))).toContain('mkfs.xfs -q "$dev" </dev/null');
    const eph = diskSteps(w1).find((s) => s.key === "ephemeral")?.create ?? "";
    expect(eph).toContain('fstab_ensure "$MARK" "UUID=$fs_uuid $EPH xfs defaults 0 2" "$EPH"');
    expect(eph).toContain('line="$src $target none bind,x-systemd.requires-mounts-for=$EPH 0 0"');
    expect(eph).toContain("for target in /var/lib/kubelet /var/lib/containerd; do");
    expect(eph).toContain('cp -a "$target/." "$src/"');
  });

  it("never forces a format: mkfs without -f/-F, and only wipefs -a behind wipe: true", () => {
    for (const s of [...diskSteps(w1), ...diskSteps(w2)]) {
      expect(s.create).not.toMatch(/mkfs\.\w+ [^\n]*-[fF]\b/);
      expect(s.create).toContain('if [ "$WIPE" != 1 ]; then\n    fail "refusing to touch $label ($d): it holds $(found "$d")');
      expect(s.delete).not.toMatch(/wipefs|mkfs|dd |mdadm/);
    }
    expect(renderDisk(w1, disk("backup"))).toContain("WIPE=0");
    const wiped = host(specWith([{ name: "w-9", os: "debian", disks: [{ ...ALL_DISKS[0], wipe: true }] }]), "w-9");
    expect(renderDisk(wiped, wiped.disks[0])).toContain("WIPE=1");
  });

  it("links a local Block disk by its /dev/disk/by-id name into the class's hostDir", () => {
    const s = renderDisk(w1, disk("blk"));
    expect(s).toContain("LINK='/var/lib/disks/raw/blk'");
    expect(s).toContain("/dev/disk/by-id/* | /dev/disk/by-path/*) target=$DEVICE ;;");
    expect(s).toContain('ln -s "$target" "$LINK"');
  });

  it("leaves a ceph disk raw: verified empty, remembered, never formatted", () => {
    const s = renderDisk(w1, disk("osd0"));
    expect(s).not.toMatch(/mkfs\.|^\s*mount -t|fstab_ensure "/m);
    expect(s).toContain("MARKER='/var/lib/baremetal-k8s/disks/osd0.ceph'");
    expect(s).toContain('"no filesystem: Rook-Ceph takes it raw as an OSD"');
  });

  it("builds a RAID0 of all ephemeral disks with mdadm, each member refused unless it says wipe: true", () => {
    const s = diskSteps(w2)[0]?.create ?? "";
    expect(s).toContain("DEVICES=('/dev/disk/by-id/nvme-EPH0' '/dev/disk/by-id/nvme-EPH1' '/dev/disk/by-id/nvme-EPH2')");
    expect(s).toContain(
      `mdadm --create "$MD" --run --level=0 --metadata=1.2 --name=${EPHEMERAL_MD_NAME} --raid-devices="\${#members[@]}" "\${members[@]}"`,
    );
    expect(s).toContain("WIPE=${WIPES[$i]} refuse_or_wipe");
    expect(s).toContain("WIPES=(0 0 0)");
    expect(s).toContain("mdadm --detail --brief");
  });

  it("deletes undo only mounts, fstab lines, links and markers", () => {
    const del = renderDiskDelete(w1, disk("longhorn"));
    expect(del).toContain('umount "$MOUNTPOINT" || fail "cannot unmount $MOUNTPOINT: something still uses it');
    expect(del).toContain('fstab_remove "$MARK" "$MP_FSTAB"');
    expect(renderDiskDelete(w1, disk("blk"))).toContain('rm -f "$LINK"');
    expect(renderDiskDelete(w1, disk("scratch"))).toContain("ephemeral disks stay mounted");
    expect(renderDiskDelete(w1, disk("scratch"))).not.toMatch(/umount|fstab_remove/);
  });
});
