// Shared by the renderer tests: specs for every host variant, and shellcheck over rendered scripts.
import { spawnSync } from "node:child_process";
import { validateConfig, type ClusterSpec } from "../../components/config";

export const HAS_SHELLCHECK = spawnSync("sh", ["-c", "command -v shellcheck"]).status === 0;

/** shellcheck's findings for a script (empty when clean). */
export function shellcheck(script: string, severity: "style" | "warning" = "style"): string {
  const r = spawnSync("shellcheck", ["--shell=bash", `--severity=${severity}`, "-"], { input: script, encoding: "utf8" });
  return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
}

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/";

/** A validated spec: one host per entry, with each storage system on when some disk uses it. */
export function specWith(hosts: Record<string, unknown>[], opts: { user?: string; version?: string } = {}): ClusterSpec {
  const uses = new Set(hosts.flatMap((h) => ((h.disks ?? []) as { use: string }[]).map((d) => d.use)));
  const { spec, findings } = validateConfig({
    cluster: {
      name: "t",
      kubernetesVersion: opts.version ?? "1.33.4",
      endpoint: { address: "192.168.10.10", keepalived: { enabled: false } },
      ssh: { user: opts.user ?? "root" },
    },
    hosts: hosts.map((h, i) => ({ address: `192.168.10.${20 + i}`, hostKey: KEY, roles: i === 0 ? ["control-plane"] : ["worker"], ...h })),
    storage: {
      longhorn: { enabled: uses.has("longhorn") },
      rookCeph: { enabled: uses.has("ceph") },
      localStatic: {
        enabled: uses.has("local"),
        classes: [
          { name: "fast", hostDir: "/var/lib/disks/fast", volumeMode: "Filesystem", fsType: "xfs" },
          { name: "raw", hostDir: "/var/lib/disks/raw", volumeMode: "Block" },
        ],
      },
    },
    sshPrivateKeySet: true,
  });
  if (!spec) throw new Error(`test config refused: ${JSON.stringify(findings)}`);
  return spec;
}

export { hostIn as host } from "../harness";

/** One host of every disk use, so each storage system's prerequisites appear. */
export const ALL_DISKS = [
  { name: "backup", device: "/dev/disk/by-id/ata-BACKUP", use: "mount", fsType: "ext4", mountpoint: "/srv/backup" },
  { name: "longhorn", device: "/dev/disk/by-id/nvme-LONGHORN", use: "longhorn" },
  { name: "ssd", device: "/dev/disk/by-id/ata-SSD", use: "local", storageClass: "fast" },
  { name: "blk", device: "/dev/disk/by-id/ata-BLOCK", use: "local", storageClass: "raw" },
  { name: "osd0", device: "/dev/disk/by-id/ata-OSD0", use: "ceph" },
  { name: "scratch", device: "/dev/disk/by-id/nvme-SCRATCH", use: "ephemeral" },
];
