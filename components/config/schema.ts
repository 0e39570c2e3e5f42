import { z } from "zod";
import {
  deviceProblem,
  interfaceProblem,
  kubeletLabelProblem,
  labelKeyProblem,
  labelValueProblem,
  mirrorUrlProblem,
  pathProblem,
  posixUserProblem,
  taintProblem,
} from "./strings";
import { calendarProblem, renewTokenProblem } from "./rules-day2";

/**
 * The stack config schema: the four keys (docs/CONFIG-REFERENCE.md), with their defaults.
 * Shape and types live here; rules that span several fields (duplicates,
 * overlaps, references between keys) live in `rules.ts`.
 */

export const ROLES = ["control-plane", "worker", "etcd"] as const;
export const OPERATING_SYSTEMS = ["ubuntu", "debian", "fedora", "rhel", "flatcar"] as const;
export const DISK_USES = ["mount", "longhorn", "ceph", "local", "ephemeral"] as const;
export const FS_TYPES = ["ext4", "xfs"] as const;
export const CNIS = ["cilium", "calico", "none"] as const;
export const CONTAINER_RUNTIMES = ["containerd", "crio"] as const;
export const DEFAULT_KUBELET_ROOT_DIR = "/var/lib/kubelet";

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
  error: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
});

/** A string checked by one of the validators in strings.ts: the problem it names is the finding's message. */
function checkedString(problem: (value: string) => string | undefined) {
  return z.string().check((ctx) => {
    const message = problem(ctx.value);
    if (message !== undefined) ctx.issues.push({ code: "custom", message, input: ctx.value });
  });
}

/** Every path of the config: absolute, normalised, no whitespace or control characters (strings.ts pathProblem). */
const absolutePath = checkedString(pathProblem);

/** An exact chart or release version: digits, no range, an optional leading v and pre-release. */
const chartVersion = z.string().regex(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, {
  error: 'must be an exact version such as "1.10.1" (no ranges, spaces or other text)',
});

const fsType = z.enum(FS_TYPES, {
  error: (issue) =>
    issue.input === "btrfs"
      ? "btrfs is not supported: Longhorn, Rook and the kubelet's disk accounting are tested on ext4 and xfs only. Use fsType: xfs (or ext4)"
      : `must be one of ${FS_TYPES.join(" | ")}`,
});

const port = z.number().int().min(1).max(65535);

export const keepalivedSchema = z.strictObject({
  enabled: z.boolean().optional().meta({
    description:
      "Whether the control planes run keepalived to hold the endpoint address as a floating VIP. Default: true when endpoint.address is an IP.",
  }),
  interface: checkedString(interfaceProblem)
    .optional()
    .meta({
      description:
        "Network interface on the control planes that carries the hosts' addresses (a Linux interface name); required when keepalived is enabled.",
      examples: ["eth0", "enp1s0"],
    }),
  virtualRouterId: z
    .number()
    .int()
    .min(1)
    .max(255)
    .default(51)
    .meta({ description: "VRRP router id (1-255); must be unique among VRRP groups on the same network." }),
});

export const clusterSchema = z.strictObject({
  name: dnsLabel.meta({
    description: "Cluster name (a DNS label); names the cluster component and the kubeconfig context.",
    examples: ["homelab"],
  }),
  kubernetesVersion: z.string().meta({
    description: "Exact Kubernetes release to install, x.y.z without a leading v, quoted; 1.31 to 1.36.",
    examples: ["1.33.4"],
  }),
  endpoint: z
    .strictObject({
      address: z
        .string()
        .min(1)
        .meta({
          description:
            "Where clients reach the API server: a free IP that keepalived floats between the control planes, or a DNS name of your own load balancer.",
          examples: ["192.168.10.10"],
        }),
      port: port.default(6443).meta({ description: "API server port." }),
      keepalived: keepalivedSchema.optional().meta({
        description:
          "VIP management; enabled: false means no keepalived (your own load balancer, or the address of a single control plane).",
      }),
    })
    .meta({ description: "The API server endpoint every node and client uses." }),
  networking: z
    .strictObject({
      podSubnet: z
        .string()
        .default("10.244.0.0/16")
        .meta({ description: "Pod network (CIDR); must not overlap the service network or the hosts' network." }),
      serviceSubnet: z
        .string()
        .default("10.96.0.0/12")
        .meta({ description: "Service network (CIDR); must not overlap the pod network or the hosts' network." }),
      cni: z.enum(CNIS).default("cilium").meta({ description: "Pod network plugin, or none to install your own." }),
      loadBalancer: z
        .strictObject({
          addresses: z
            .array(z.string())
            .min(1, { error: 'lists no address: give at least one range "a-b" or CIDR on the hosts\' network' })
            .meta({
              description:
                "Addresses MetalLB hands to LoadBalancer Services: ranges a-b or CIDRs on the hosts' network, outside the endpoint, the hosts' own addresses and the pod and service networks.",
              examples: [["192.168.10.200-192.168.10.220"], ["192.168.10.192/28"]],
            }),
          version: chartVersion.default("0.15.3").meta({ description: "MetalLB chart version (exact)." }),
        })
        .optional()
        .meta({ description: "MetalLB in L2 mode, which gives LoadBalancer Services an address. Absent: no LoadBalancer implementation." }),
      gatewayApi: z.boolean().default(false).meta({
        description:
          "Install the Gateway API standard-channel CRDs (a pinned release); with cni: cilium, Cilium's Gateway API controller is switched on, with Traefik its Gateway provider.",
      }),
    })
    .prefault({})
    .meta({ description: "Cluster networks and the CNI." }),
  containerRuntime: z
    .enum(CONTAINER_RUNTIMES)
    .default("containerd")
    .meta({ description: "Container runtime of every node: containerd, or CRI-O from the repository of the Kubernetes minor." }),
  packageMirrors: z
    .strictObject({
      distribution: checkedString(mirrorUrlProblem)
        .optional()
        .meta({
          description:
            "A Debian or Ubuntu mirror (apt hosts): the program's own apt runs use it, with the host's release codename and the main component (main universe on Ubuntu), instead of the host's own sources, which stay as they are. The hosts must trust its signing key (a mirror of the distribution is signed by the distribution's key).",
          examples: ["http://mirror.lan/debian"],
        }),
      kubernetes: checkedString(mirrorUrlProblem)
        .optional()
        .meta({
          description:
            "A mirror laid out like https://pkgs.k8s.io: the hosts use <url>/core:/stable:/v<minor>/deb/ (rpm/ on dnf hosts) and its Release.key (repodata/repomd.xml.key), as they would from pkgs.k8s.io.",
          examples: ["http://mirror.lan/pkgs.k8s.io"],
        }),
    })
    .optional()
    .meta({
      description:
        "Package repositories for sites without access to the public ones (air-gapped or behind a proxy). Absent: the distribution's configured sources and https://pkgs.k8s.io.",
    }),
  faultTolerance: z.number().int().min(0).max(3).optional().meta({
    description:
      "Node failures the control plane must survive; etcd then needs 2 * faultTolerance + 1 voters. Default: 1 with two or more control-plane hosts, else 0.",
  }),
  upgrade: z
    .strictObject({
      maxUnavailableWorkers: z
        .number()
        .int()
        .min(1)
        .default(1)
        .meta({ description: "Workers drained and upgraded at the same time when cluster.kubernetesVersion is raised (an integer >= 1)." }),
      waitForStorage: z.boolean().default(true).meta({
        description:
          "Before each node's upgrade, wait until the Longhorn volumes are healthy and Ceph reports HEALTH_OK (only the enabled ones), so two storage nodes are never down together.",
      }),
      intermediateVersions: z
        .array(z.string())
        .default([])
        .meta({
          description:
            "Patch releases to stop at when the version is raised by more than one minor (one per minor passed through); by default the program's pinned newest patch of each minor (components/upgrade/versions.ts).",
          examples: [["1.34.6"]],
        }),
    })
    .prefault({})
    .meta({ description: "How raising cluster.kubernetesVersion upgrades the nodes (README: Day two)." }),
  etcdBackup: z
    .strictObject({
      schedule: checkedString(calendarProblem).meta({
        description:
          "When to take a snapshot: a systemd OnCalendar expression (man systemd.time), checked with systemd-analyze calendar on the host.",
        examples: ["daily", "*-*-* 02:30:00", "Mon..Fri *-*-* 00/6:00:00"],
      }),
      keep: z
        .number({ error: "must be a whole number of snapshots from 1 to 1000" })
        .int({ error: "must be a whole number of snapshots from 1 to 1000" })
        .min(1, { error: "must be at least 1: the newest snapshot is always kept" })
        .max(1000, { error: "must be at most 1000 snapshots" })
        .meta({ description: "Snapshots kept per control plane (1-1000); older ones are deleted after each new one is verified." }),
      path: absolutePath.meta({
        description:
          "Directory on every control plane that holds the snapshots (created root-only); removing etcdBackup leaves it and its snapshots.",
        examples: ["/var/backups/etcd"],
      }),
    })
    .optional()
    .meta({
      description:
        "(new) Scheduled etcd snapshots on every control plane (etcdctl snapshot save, verified with etcdutl snapshot status, a systemd timer; README: Day two). Absent: no scheduled snapshots.",
    }),
  certificates: z
    .strictObject({
      renew: checkedString(renewTokenProblem)
        .optional()
        .meta({
          description:
            "Change it to any other value to renew the control planes' kubeadm certificates at the next pulumi up (kubeadm certs renew all, then their static pods restart, one control plane at a time). Set for the first time on a cluster whose certificates are less than a day old, it only records the value.",
          examples: ["2026-12-05"],
        }),
    })
    .optional()
    .meta({
      description:
        "(new) Certificate renewal for clusters not upgraded within a year (every kubeadm upgrade renews them already; README: Day two). Absent: no renewal outside upgrades.",
    }),
  ssh: z
    .strictObject({
      user: checkedString(posixUserProblem)
        .default("root")
        .meta({
          description: "SSH user on every host, a POSIX user name; a non-root user needs passwordless sudo (commands run through sudo -n).",
          examples: ["ops"],
        }),
      port: port.default(22).meta({ description: "SSH port on every host." }),
      insecureIgnoreHostKey: z.boolean().default(false).meta({
        description:
          "Skip host-key pinning (labs only). When true, also tag the stack baremetal-k8s:insecureIgnoreHostKey=true for the policy pack.",
      }),
    })
    .prefault({})
    .meta({ description: "How the controller reaches the hosts." }),
  kubelet: z
    .strictObject({
      rootDir: absolutePath
        .default(DEFAULT_KUBELET_ROOT_DIR)
        .meta({ description: "Must stay /var/lib/kubelet: CSI drivers hard-code it. For more space use a disk with use: ephemeral." }),
    })
    .prefault({})
    .meta({ description: "Kubelet settings." }),
});

const diskBase = {
  name: dnsLabel
    .optional()
    .meta({ description: "Disk name, unique per host; names the disk's resources. Default: the device's basename.", examples: ["osd0"] }),
  device: checkedString(deviceProblem).meta({
    description: "Block device: a stable /dev/disk/by-id/ or /dev/disk/by-path/ link; a kernel name (/dev/sdb) is accepted with a warning.",
    examples: ["/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_S1234"],
  }),
  wipe: z.boolean().default(false).meta({
    description:
      "Allow destroying a filesystem or partition table found on the disk. Default false: such a disk stops the bring-up instead.",
  }),
};

export const diskSchema = z.discriminatedUnion(
  "use",
  [
    z
      .strictObject({
        ...diskBase,
        use: z.literal("mount"),
        fsType: fsType.default("ext4").meta({ description: "Filesystem to create." }),
        mountpoint: absolutePath.meta({
          description: "Where to mount it: an absolute, normalised path of letters, digits and . _ - + @ : =.",
          examples: ["/srv/backup"],
        }),
      })
      .meta({ description: "Formatted and mounted at mountpoint." }),
    z
      .strictObject({
        ...diskBase,
        use: z.literal("longhorn"),
        fsType: fsType.default("ext4").meta({ description: "Filesystem to create." }),
        mountpoint: absolutePath.optional().meta({ description: "Where to mount it. Default: storage.longhorn.dataPath." }),
      })
      .meta({ description: "Formatted, mounted, and used by Longhorn for volume replicas on this host." }),
    z
      .strictObject({ ...diskBase, use: z.literal("ceph") })
      .meta({ description: "Left raw and turned into a Rook-Ceph OSD; must be empty unless wipe: true." }),
    z
      .strictObject({
        ...diskBase,
        use: z.literal("local"),
        storageClass: z
          .string()
          .min(1)
          .meta({ description: "Name of a storage.localStatic.classes entry.", examples: ["fast-ssd"] }),
      })
      .meta({ description: "Published as a local PersistentVolume of a local-static-provisioner class." }),
    z
      .strictObject({ ...diskBase, use: z.literal("ephemeral") })
      .meta({ description: "All ephemeral disks of a host form one xfs volume bind-mounted at /var/lib/kubelet and /var/lib/containerd." }),
  ],
  { error: `must be one of ${DISK_USES.join(" | ")}` },
);

export const hostSchema = z.strictObject({
  name: dnsLabel.meta({ description: "Host name (a DNS label), unique; names every resource of this host.", examples: ["cp-1"] }),
  address: z
    .string()
    .min(1)
    .meta({ description: "IP address or DNS name the controller reaches over SSH; unique.", examples: ["192.168.10.11"] }),
  hostKey: z
    .string()
    .optional()
    .meta({
      description:
        "The host's SSH public host key, as printed by ssh-keyscan -t ed25519 <address>; required unless cluster.ssh.insecureIgnoreHostKey.",
      examples: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA..."],
    }),
  roles: z
    .array(z.enum(ROLES))
    .min(1, { error: `needs at least one role: ${ROLES.join(" | ")}` })
    .meta({
      description: "control-plane, worker and/or etcd (a witness etcd member on a non-control-plane host).",
      examples: [["control-plane"], ["worker", "etcd"]],
    }),
  os: z.enum(OPERATING_SYSTEMS).default("ubuntu").meta({ description: "Operating system family, for package installation." }),
  immutableRoot: z
    .boolean()
    .default(false)
    .meta({ description: "/ is read-only (e.g. Flatcar, Fedora CoreOS); writable paths come from /var." }),
  packagesPreinstalled: z.boolean().optional().meta({
    description:
      "containerd, kubeadm and kubelet are baked into the image; nothing is installed. Default: true when immutableRoot is true or os is flatcar, else false.",
  }),
  labels: z
    .record(z.string(), z.string())
    .check((ctx) => {
      for (const [key, value] of Object.entries(ctx.value)) {
        const message = labelKeyProblem(key) ?? kubeletLabelProblem(key) ?? labelValueProblem(value);
        if (message !== undefined) ctx.issues.push({ code: "custom", message, input: value, path: [key] });
      }
    })
    .default({})
    .meta({
      description: "Node labels: Kubernetes label keys and values, set by the kubelet at registration.",
      examples: [{ "topology.kubernetes.io/zone": "rack-a" }],
    }),
  taints: z
    .array(checkedString(taintProblem))
    .default([])
    .meta({ description: "Node taints as key=value:Effect.", examples: [["dedicated=storage:NoSchedule"]] }),
  disks: z.array(diskSchema).default([]).meta({ description: "Data disks and what each is for (use)." }),
});

export const localClassSchema = z.strictObject({
  name: dnsLabel.meta({ description: "StorageClass name.", examples: ["fast-ssd"] }),
  hostDir: absolutePath.meta({
    description: "Directory on each host where this class's disks appear (mounted or linked as <hostDir>/<disk name>).",
    examples: ["/var/lib/disks/ssd"],
  }),
  volumeMode: z
    .enum(["Filesystem", "Block"])
    .default("Filesystem")
    .meta({ description: "Filesystem: disks are formatted and mounted; Block: raw devices are linked." }),
  fsType: fsType.default("ext4").meta({ description: "Filesystem for Filesystem classes." }),
  reclaimPolicy: z
    .enum(["Delete", "Retain"])
    .default("Delete")
    .meta({ description: "What happens to a released volume's data: Delete wipes it for reuse, Retain keeps it for manual recovery." }),
});

export const storageSchema = z.strictObject({
  defaultClass: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "StorageClass marked default: ceph-block, longhorn, or a localStatic class name." }),
  longhorn: z
    .strictObject({
      enabled: z.boolean().default(false).meta({ description: "Install Longhorn." }),
      version: chartVersion.default("1.10.1").meta({ description: "Longhorn chart version (exact)." }),
      dataPath: absolutePath
        .default("/var/lib/longhorn")
        .meta({ description: "Default mountpoint of longhorn disks and Longhorn's data path." }),
      replicaCount: z
        .number()
        .int()
        .min(1)
        .optional()
        .meta({ description: "Replicas per volume, each on its own host. Default: min(3, hosts with longhorn disks)." }),
    })
    .prefault({})
    .meta({ description: "Longhorn: replicated block storage on disks with use: longhorn." }),
  rookCeph: z
    .strictObject({
      enabled: z.boolean().default(false).meta({ description: "Install Rook and a Ceph cluster; provides the ceph-block StorageClass." }),
      version: chartVersion.default("v1.19.2").meta({ description: "Rook release (exact)." }),
      monCount: z
        .number()
        .int()
        .min(1)
        .max(9)
        .optional()
        .meta({ description: "Ceph monitors, each on its own node; odd. Default: largest odd number <= nodes, at most 3." }),
      poolSize: z
        .number()
        .int()
        .min(1)
        .optional()
        .meta({ description: "Copies of each block, each on its own host. Default: min(3, hosts with ceph disks)." }),
    })
    .prefault({})
    .meta({ description: "Rook-Ceph: replicated block storage on raw disks with use: ceph." }),
  localStatic: z
    .strictObject({
      enabled: z.boolean().default(false).meta({ description: "Install local-static-provisioner." }),
      version: chartVersion.default("2.8.0").meta({ description: "local-static-provisioner chart version (exact)." }),
      classes: z
        .array(localClassSchema)
        .default([])
        .meta({ description: "StorageClasses of local volumes; disks with use: local name one." }),
    })
    .prefault({})
    .meta({ description: "local-static-provisioner: disks with use: local become node-local PersistentVolumes (no replication)." }),
});

export const ingressSchema = z.strictObject({
  traefik: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .meta({ description: "Install Traefik as ingress controller, behind a Service of type LoadBalancer." }),
      version: chartVersion.default("41.3.0").meta({ description: "Traefik chart version (exact)." }),
      loadBalancerIP: z
        .string()
        .optional()
        .meta({
          description:
            "The address Traefik's Service asks MetalLB for; must lie in cluster.networking.loadBalancer.addresses. Default: any free one.",
          examples: ["192.168.10.200"],
        }),
    })
    .prefault({})
    .meta({ description: "Traefik ingress controller." }),
});

export const hostsSchema = z
  .array(hostSchema)
  .min(1, { error: "lists no host: add at least one control-plane host" })
  .meta({ description: "The machines of the cluster, in order: the first control-plane host leads the bring-up." });

export type ClusterInput = z.output<typeof clusterSchema>;
export type HostInput = z.output<typeof hostSchema>;
export type DiskInput = z.output<typeof diskSchema>;
export type StorageInput = z.output<typeof storageSchema>;
export type LocalClass = z.output<typeof localClassSchema>;
export type IngressInput = z.output<typeof ingressSchema>;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];
export type Role = (typeof ROLES)[number];
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];
export type DiskUse = (typeof DISK_USES)[number];
export type FsType = (typeof FS_TYPES)[number];
export type Cni = (typeof CNIS)[number];
