import { z } from "zod";

/**
 * The stack config schema: the four keys of CONFIG.md, with their defaults.
 * Shape and types live here; rules that span several fields (duplicates,
 * overlaps, references between keys) live in `rules.ts`.
 */

export const ROLES = ["control-plane", "worker", "etcd"] as const;
export const OPERATING_SYSTEMS = ["ubuntu", "debian", "fedora", "rhel", "flatcar"] as const;
export const DISK_USES = ["mount", "longhorn", "ceph", "local", "ephemeral"] as const;
export const FS_TYPES = ["ext4", "xfs"] as const;
export const CNIS = ["cilium", "calico", "none"] as const;
export const DEFAULT_KUBELET_ROOT_DIR = "/var/lib/kubelet";

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
  });

const absolutePath = z.string().regex(/^\/[^\0]*$/, { error: "must be an absolute path starting with '/'" });

const fsType = z.enum(FS_TYPES, {
  error: (issue) =>
    issue.input === "btrfs"
      ? "btrfs is not supported: Longhorn, Rook and the kubelet's disk accounting are tested on ext4 and xfs only. Use fsType: xfs (or ext4)"
      : `must be one of ${FS_TYPES.join(" | ")}`,
});

const port = z.number().int().min(1).max(65535);

export const keepalivedSchema = z.strictObject({
  enabled: z.boolean().optional(),
  interface: z.string().min(1).optional(),
  virtualRouterId: z.number().int().min(1).max(255).default(51),
});

export const clusterSchema = z.strictObject({
  name: dnsLabel,
  kubernetesVersion: z.string(),
  endpoint: z.strictObject({
    address: z.string().min(1),
    port: port.default(6443),
    keepalived: keepalivedSchema.optional(),
  }),
  networking: z
    .strictObject({
      podSubnet: z.string().default("10.244.0.0/16"),
      serviceSubnet: z.string().default("10.96.0.0/12"),
      cni: z.enum(CNIS).default("cilium"),
    })
    .prefault({}),
  faultTolerance: z.number().int().min(0).max(3).optional(),
  ssh: z
    .strictObject({
      user: z.string().min(1).default("root"),
      port: port.default(22),
      insecureIgnoreHostKey: z.boolean().default(false),
    })
    .prefault({}),
  kubelet: z
    .strictObject({
      rootDir: absolutePath.default(DEFAULT_KUBELET_ROOT_DIR),
    })
    .prefault({}),
});

const diskBase = {
  name: dnsLabel.optional(),
  device: z.string().regex(/^\/dev\/\S+$/, { error: "must be a device path under /dev, ideally /dev/disk/by-id/..." }),
  wipe: z.boolean().default(false),
};

export const diskSchema = z.discriminatedUnion(
  "use",
  [
    z.strictObject({ ...diskBase, use: z.literal("mount"), fsType: fsType.default("ext4"), mountpoint: absolutePath }),
    z.strictObject({ ...diskBase, use: z.literal("longhorn"), fsType: fsType.default("ext4"), mountpoint: absolutePath.optional() }),
    z.strictObject({ ...diskBase, use: z.literal("ceph") }),
    z.strictObject({ ...diskBase, use: z.literal("local"), storageClass: z.string().min(1) }),
    z.strictObject({ ...diskBase, use: z.literal("ephemeral") }),
  ],
  { error: `must be one of ${DISK_USES.join(" | ")}` },
);

export const hostSchema = z.strictObject({
  name: dnsLabel,
  address: z.string().min(1),
  hostKey: z.string().optional(),
  roles: z.array(z.enum(ROLES)).min(1, { error: `needs at least one role: ${ROLES.join(" | ")}` }),
  os: z.enum(OPERATING_SYSTEMS).default("ubuntu"),
  immutableRoot: z.boolean().default(false),
  packagesPreinstalled: z.boolean().default(false),
  labels: z.record(z.string(), z.string()).default({}),
  taints: z
    .array(
      z.string().regex(/^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/, {
        error: 'must look like "key=value:Effect" with Effect NoSchedule, PreferNoSchedule or NoExecute',
      }),
    )
    .default([]),
  disks: z.array(diskSchema).default([]),
});

export const localClassSchema = z.strictObject({
  name: dnsLabel,
  hostDir: absolutePath,
  volumeMode: z.enum(["Filesystem", "Block"]).default("Filesystem"),
  fsType: fsType.default("ext4"),
  reclaimPolicy: z.enum(["Delete", "Retain"]).default("Delete"),
});

export const storageSchema = z.strictObject({
  defaultClass: z.string().min(1).optional(),
  longhorn: z
    .strictObject({
      enabled: z.boolean().default(false),
      version: z.string().default("1.10.1"),
      dataPath: absolutePath.default("/var/lib/longhorn"),
      replicaCount: z.number().int().min(1).optional(),
    })
    .prefault({}),
  rookCeph: z
    .strictObject({
      enabled: z.boolean().default(false),
      version: z.string().default("v1.19.2"),
      monCount: z.number().int().min(1).max(9).optional(),
      poolSize: z.number().int().min(1).optional(),
    })
    .prefault({}),
  localStatic: z
    .strictObject({
      enabled: z.boolean().default(false),
      version: z.string().default("2.8.0"),
      classes: z.array(localClassSchema).default([]),
    })
    .prefault({}),
});

export const hostsSchema = z.array(hostSchema).min(1, { error: "lists no host: add at least one control-plane host" });

export type ClusterInput = z.output<typeof clusterSchema>;
export type HostInput = z.output<typeof hostSchema>;
export type DiskInput = z.output<typeof diskSchema>;
export type StorageInput = z.output<typeof storageSchema>;
export type LocalClass = z.output<typeof localClassSchema>;
export type Role = (typeof ROLES)[number];
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];
export type DiskUse = (typeof DISK_USES)[number];
export type FsType = (typeof FS_TYPES)[number];
export type Cni = (typeof CNIS)[number];
