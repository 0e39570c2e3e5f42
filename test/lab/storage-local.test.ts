// Local volumes for real: the program's own disk-layout scripts (the `<host>-disk-<disk>` commands
// its Host components register) run over SSH on lab hosts with loop disks, and the result is what
// local-static-provisioner discovers: a mountpoint per Filesystem disk and a /dev/disk/by-id symlink
// per Block disk, directly inside the class's hostDir. Running the scripts again changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedResource } from "../../plan/evaluate";
import { runProgram, type ProgramRun, type TestConfig } from "../harness";
import { labAvailable, startLab, type Lab } from "./lab";

const PREFIX = process.env.LAB_PREFIX ?? "bs";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.40";
const avail = labAvailable();
const reason = avail.ok ? "" : avail.reason;

/** Talos-style classes under /var/mnt: SSDs as xfs, HDDs as ext4, raw NVMe as Block. */
const CLASSES = [
  { name: "local-ssd", hostDir: "/var/mnt/local-ssd", volumeMode: "Filesystem", fsType: "xfs", reclaimPolicy: "Delete" },
  { name: "local-hdd", hostDir: "/var/mnt/local-hdd", volumeMode: "Filesystem", fsType: "ext4", reclaimPolicy: "Retain" },
  { name: "local-block", hostDir: "/var/mnt/local-block", volumeMode: "Block", reclaimPolicy: "Retain" },
] as const;

/** Which lab disk becomes which config disk (xfs needs at least 300 MB; the files are sparse). */
const LAYOUT = [
  { host: "cp-1", roles: ["control-plane"], disks: [{ lab: "vdb", size: "320M", name: "ssd0", storageClass: "local-ssd" }] },
  {
    host: "w-1",
    roles: ["worker"],
    disks: [
      { lab: "vdb", size: "320M", name: "ssd0", storageClass: "local-ssd" },
      { lab: "vdc", size: "64M", name: "hdd0", storageClass: "local-hdd" },
      { lab: "vdd", size: "32M", name: "nvme0", storageClass: "local-block" },
    ],
  },
];

function labConfig(lab: Lab): TestConfig {
  return {
    cluster: {
      name: "storage-lab",
      kubernetesVersion: "1.33.4",
      endpoint: { address: `${SUBNET}.10`, keepalived: { enabled: true, interface: "eth0" } },
    },
    hosts: LAYOUT.map((h) => ({
      name: h.host,
      address: lab.host(h.host).address,
      hostKey: lab.host(h.host).hostKey,
      roles: h.roles,
      os: "debian",
      disks: h.disks.map((d) => ({
        name: d.name,
        device: lab.host(h.host).disks[d.lab]?.byId,
        use: "local",
        storageClass: d.storageClass,
      })),
    })),
    storage: { localStatic: { enabled: true, version: "2.8.0", classes: CLASSES } },
  };
}

/**
 * What local-static-provisioner would publish on a host, per class: entries of hostDir that are
 * mountpoints (Filesystem) or symlinks into /dev/disk/by-id resolving to a block device (Block),
 * with the filesystem and the device's major:minor; anything else in hostDir is reported as junk.
 */
const DISCOVER = `set -euo pipefail
devnum() { printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"; }
${CLASSES.map(
  (c) => `for e in ${c.hostDir}/*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  if [ ${c.volumeMode} = Filesystem ] && mountpoint -q "$e"; then
    echo "${c.name} $(basename "$e") fs=$(findmnt -n -o FSTYPE -M "$e") dev=$(mountpoint -d "$e")"
  elif [ ${c.volumeMode} = Block ] && [ -L "$e" ] && [ -b "$(readlink -f "$e")" ] && [[ $(readlink "$e") == /dev/disk/by-id/* ]]; then
    echo "${c.name} $(basename "$e") link=$(readlink "$e") dev=$(devnum "$e")"
  else
    echo "${c.name} $(basename "$e") junk"
  fi
done`,
).join("\n")}
`;

/** Everything the disk scripts could change on a host, for a before/after comparison. */
const SNAPSHOT = `set -euo pipefail
findmnt -rn -o TARGET,MAJ:MIN,FSTYPE,OPTIONS | grep ' ' | awk '$1 ~ "^/var/mnt/"' | sort
cat /etc/fstab
for e in /var/mnt/*/*; do printf '%s %s %s\\n' "$e" "$(stat -c '%F %i' "$e")" "$(readlink "$e" || true)"; done
for d in /dev/vd?; do printf '%s %s\\n' "$d" "$(blkid -p -o export "$d" 2>/dev/null | grep -E '^(TYPE|UUID)=' | tr '\\n' ' ')"; done
`;

describe.skipIf(reason !== "")(
  `local volumes laid out by the program's disk scripts on loop devices${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    let lab: Lab;
    let run: ProgramRun;
    const timings: Record<string, number> = {};

    const diskSteps = (host: string): RecordedResource[] =>
      run.commands().filter((c) => c.name.startsWith(`${host}-disk-`) && c.type === "command:remote:Command");

    /** Runs every disk step of every host (hosts in parallel, a host's steps in turn); returns their output by step. */
    async function runDiskSteps(): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      await Promise.all(
        LAYOUT.map(async (h) => {
          for (const step of diskSteps(h.host)) {
            const create = step.plainInputs.create as string;
            const stdin = step.plainInputs.stdin as string | undefined;
            const r = await lab.ssh(h.host, create, { stdin });
            if (r.code !== 0) throw new Error(`${step.name} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
            out[step.name] = r.stdout + r.stderr;
          }
        }),
      );
      return out;
    }

    const snapshot = async () =>
      Object.fromEntries(await Promise.all(LAYOUT.map(async (h) => [h.host, (await lab.ssh(h.host, SNAPSHOT)).stdout] as const)));

    beforeAll(async () => {
      let t = Date.now();
      lab = await startLab({
        prefix: PREFIX,
        subnet: SUBNET,
        preinstalled: ["xfsprogs"], // a shortcut: only the disk steps run here; node preparation would install mkfs.xfs
        hosts: LAYOUT.map((h) => ({ name: h.host, disks: h.disks.map((d) => ({ name: d.lab, size: d.size })) })),
      });
      timings.labUp = Date.now() - t;
      t = Date.now();
      run = await runProgram(labConfig(lab));
      timings.evaluate = Date.now() - t;
    });
    afterAll(async () => {
      await lab?.down();
      console.log(`[storage-local] timings (ms): ${JSON.stringify(timings)}`);
    });

    it("registers one disk step per local disk, each on its own host", () => {
      for (const h of LAYOUT) {
        expect(
          diskSteps(h.host)
            .map((s) => s.name)
            .sort(),
        ).toEqual(h.disks.map((d) => `${h.host}-disk-${d.name}`).sort());
        for (const s of diskSteps(h.host)) expect(run.hostAddressOf(s)).toBe(lab.host(h.host).address);
      }
    });

    it("lays out every disk so the provisioner finds exactly the configured volumes in each class's hostDir", async () => {
      const t = Date.now();
      await runDiskSteps();
      timings.firstRun = Date.now() - t;
      for (const h of LAYOUT) {
        const found = (await lab.ssh(h.host, DISCOVER)).stdout.trim().split("\n").filter(Boolean).sort();
        const devnum = async (byId: string) =>
          (await lab.ssh(h.host, `printf '%d:%d' "0x$(stat -L -c %t ${byId})" "0x$(stat -L -c %T ${byId})"`)).stdout.trim();
        const expected: string[] = [];
        for (const d of h.disks) {
          const cls = CLASSES.find((c) => c.name === d.storageClass);
          const byId = lab.host(h.host).disks[d.lab]?.byId;
          const dev = await devnum(byId);
          expected.push(
            cls?.volumeMode === "Block"
              ? `${d.storageClass} ${d.name} link=${byId} dev=${dev}`
              : `${d.storageClass} ${d.name} fs=${cls && "fsType" in cls ? cls.fsType : "?"} dev=${dev}`,
          );
        }
        expect(found, h.host).toEqual(expected.sort());
      }
    });

    it("changes nothing when the scripts run again", async () => {
      await runDiskSteps(); // in place already when the tests above ran; makes this test stand alone
      const before = await snapshot();
      // The snapshot shows the layout (it cannot pass by comparing two empty states).
      for (const h of LAYOUT) {
        for (const d of h.disks)
          expect(before[h.host], `${h.host}/${d.name}`).toContain(`${CLASSES.find((c) => c.name === d.storageClass)?.hostDir}/${d.name}`);
      }
      const t = Date.now();
      await runDiskSteps();
      timings.secondRun = Date.now() - t;
      expect(await snapshot()).toEqual(before);
    });
  },
);
