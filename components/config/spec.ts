import type { Cni, ContainerRuntime, FsType, OperatingSystem, Role } from "./schema";

/**
 * The validated cluster description every other layer works from: defaults
 * applied, derived values resolved (disk names, mountpoints, keepalived,
 * fault tolerance). Produced only when the config has no error finding.
 */
export interface ClusterSpec {
  cluster: ClusterSettings;
  hosts: HostSpec[];
  storage: StorageSpec;
  /** `baremetal-k8s:ingress`; absent in specs made by hand means none. */
  ingress?: IngressSpec;
}

export interface ClusterSettings {
  name: string;
  kubernetesVersion: string;
  endpoint: {
    address: string;
    port: number;
    keepalived: KeepalivedSettings;
  };
  networking: {
    podSubnet: string;
    serviceSubnet: string;
    cni: Cni;
    /** MetalLB (L2); absent: no LoadBalancer implementation. */
    loadBalancer?: LoadBalancerSpec;
    /** Gateway API standard-channel CRDs; absent means false. */
    gatewayApi?: boolean;
  };
  /** Absent in specs made by hand means containerd. */
  containerRuntime?: ContainerRuntime;
  /** Node failures the control plane must survive (default resolved). */
  faultTolerance: number;
  ssh: { user: string; port: number; insecureIgnoreHostKey: boolean };
  kubelet: { rootDir: string };
  /** Package repositories that replace the public ones; URLs without a trailing slash. */
  packageMirrors: PackageMirrors;
  upgrade: UpgradeSettings;
  /** Scheduled etcd snapshots on every control plane; absent: none (components/day2). */
  etcdBackup?: EtcdBackupSpec;
  /** Certificate renewal outside upgrades; absent or without `renew`: none (components/day2). */
  certificates?: { renew?: string };
}

export interface EtcdBackupSpec {
  /** A systemd OnCalendar expression (validated: config/rules-day2.ts). */
  schedule: string;
  keep: number;
  /** Absolute, normalised. */
  path: string;
}

export interface PackageMirrors {
  /** A Debian/Ubuntu mirror the program's apt runs use instead of the host's own sources (apt hosts only). */
  distribution?: string;
  /** A base laid out like https://pkgs.k8s.io. */
  kubernetes?: string;
}

/** How a raised kubernetesVersion is rolled out (components/upgrade). */
export interface UpgradeSettings {
  maxUnavailableWorkers: number;
  waitForStorage: boolean;
  /** x.y.z releases replacing the pinned newest patch of their minor as an intermediate hop. */
  intermediateVersions: string[];
}

export interface LoadBalancerSpec {
  /** As written: ranges "a-b" or CIDRs, validated. */
  addresses: string[];
  version: string;
}

export interface IngressSpec {
  traefik: { enabled: boolean; version: string; loadBalancerIP?: string };
}

export type KeepalivedSettings = { enabled: false } | { enabled: true; interface: string; virtualRouterId: number };

export interface HostSpec {
  name: string;
  address: string;
  hostKey?: string;
  roles: Role[];
  os: OperatingSystem;
  immutableRoot: boolean;
  packagesPreinstalled: boolean;
  labels: Record<string, string>;
  taints: string[];
  disks: DiskSpec[];
}

interface DiskCommon {
  /** Unique on its host; names the disk's resources. */
  name: string;
  device: string;
  wipe: boolean;
}

export type DiskSpec =
  | (DiskCommon & { use: "mount"; fsType: FsType; mountpoint: string })
  | (DiskCommon & { use: "longhorn"; fsType: FsType; mountpoint: string })
  | (DiskCommon & { use: "ceph" })
  | (DiskCommon & { use: "local"; storageClass: string; volumeMode: "Filesystem"; fsType: FsType; mountpoint: string })
  | (DiskCommon & { use: "local"; storageClass: string; volumeMode: "Block"; linkPath: string })
  | (DiskCommon & { use: "ephemeral" });

export interface LocalClassSpec {
  name: string;
  hostDir: string;
  volumeMode: "Filesystem" | "Block";
  fsType: FsType;
  reclaimPolicy: "Delete" | "Retain";
}

export interface StorageSpec {
  /** The StorageClass to mark default, when the config names one. */
  defaultClass?: string;
  longhorn: { enabled: boolean; version: string; dataPath: string; replicaCount?: number };
  rookCeph: { enabled: boolean; version: string; monCount?: number; poolSize?: number };
  localStatic: { enabled: boolean; version: string; classes: LocalClassSpec[] };
}

export function containerRuntimeOf(spec: ClusterSpec): ContainerRuntime {
  return spec.cluster.containerRuntime ?? "containerd";
}
