import * as ipaddr from "ipaddr.js";
import { type Finding, error, warning } from "./findings";
import { type ParsedParts, STORAGE_SECTIONS } from "./parse";
import { DEFAULT_KUBELET_ROOT_DIR, type DiskInput, type HostInput } from "./schema";
import type { ClusterSpec, DiskSpec, HostSpec, KeepalivedSettings, LocalClassSpec } from "./spec";
import { isKernelDeviceName, isStableDevicePath, mirrorBase } from "./strings";
import { networkFindings } from "./rules-network";
import { runtimeFindings } from "./rules-runtime";
import { etcdBackupFindings } from "./rules-day2";

/** The lowest Kubernetes minor whose kubeadm reads the `v1beta4` config we render. */
export const MIN_KUBERNETES_MINOR = 31;
/**
 * The newest minor this program knows: FACTS.md records kubeadm's behaviour up
 * to 1.36 (v1beta3 removed, flex-volume hostPath dropped), and the storage
 * charts check their own ranges against the version. A release beyond this is
 * a typo or untested: raise it once the newer release has been checked.
 */
export const MAX_KUBERNETES_MINOR = 36;

/** Paths no data disk may be mounted at: the OS lives there. */
const RESERVED_MOUNTPOINTS = ["/", "/boot", "/dev", "/etc", "/proc", "/run", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/home", "/root"];
/** Where `use: ephemeral` disks are bind-mounted; a plain mount there would fight it. */
const EPHEMERAL_TARGETS = ["/var/lib/kubelet", "/var/lib/containerd"];

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;
const HOST_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9@._+:=/-]+)*$/;

export function isIp(address: string): boolean {
  return ipaddr.isValid(address) && (ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address));
}

function isAddress(address: string): boolean {
  return isIp(address) || (HOSTNAME.test(address) && !/^[0-9.]+$/.test(address));
}

/**
 * Why an IP cannot be a host's or the endpoint's address, if it cannot:
 * loopback and unspecified name no machine on the network, multicast and
 * broadcast no single one, link-local needs an interface scope that an SSH
 * address and the kubeadm config cannot carry, an IPv4-mapped IPv6 address
 * is an IPv4 address in disguise.
 */
export function unusableAddress(address: string): string | undefined {
  if (!isIp(address)) return undefined;
  const ip = ipaddr.parse(address);
  const range = ip.range();
  const why: Record<string, string> = {
    loopback: "a loopback address, which every machine has for itself",
    unspecified: "the unspecified address, which names no machine",
    multicast: "a multicast address, which names a group, not a machine",
    broadcast: "the broadcast address, which names every machine on the network",
    linkLocal: "a link-local address, which needs an interface scope SSH and kubeadm cannot carry",
    ipv4Mapped: "an IPv4-mapped IPv6 address (::ffff:a.b.c.d): write the IPv4 address itself",
  };
  if (why[range]) return why[range];
  if (ip.kind() === "ipv4" && (ip as ipaddr.IPv4).octets[0] >= 240) return "in 240.0.0.0/4, which is reserved and not routed";
  return undefined;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseCidr(value: string): Cidr | undefined {
  try {
    const cidr = ipaddr.parseCIDR(value);
    // Reject "10.244.1.0/16": the host bits must be zero, as kubeadm requires.
    const network =
      ipaddr.IPv4.isIPv4(value.split("/")[0] ?? "") && cidr[0].kind() === "ipv4"
        ? ipaddr.IPv4.networkAddressFromCIDR(value)
        : ipaddr.IPv6.networkAddressFromCIDR(value);
    if (network.toString() !== cidr[0].toString()) return undefined;
    return cidr;
  } catch {
    return undefined;
  }
}

function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a[0].kind() !== b[0].kind()) return false;
  return a[0].match(b) || b[0].match(a);
}

function inCidr(address: string, cidr: Cidr): boolean {
  if (!isIp(address)) return false;
  const ip = ipaddr.parse(address);
  return ip.kind() === cidr[0].kind() && ip.match(cidr);
}

/** Default disk name: the device's basename, made into a DNS label. */
export function defaultDiskName(device: string): string {
  const base = device.split("/").filter(Boolean).pop() ?? "disk";
  const label = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return label.slice(0, 63).replace(/-+$/, "") || "disk";
}

/**
 * The rules that span fields: references between keys, duplicates, overlaps.
 * Returns the findings and, when none is an error, the resolved spec.
 */
export function applyRules(parts: ParsedParts): { spec?: ClusterSpec; findings: Finding[] } {
  const findings: Finding[] = [];
  const { cluster, storage, broken } = parts;
  const hosts = parts.hosts ?? [];
  const parsedHosts = hosts.filter((h): h is HostInput => h !== undefined);
  const controlPlaneCount = parsedHosts.filter((h) => h.roles.includes("control-plane")).length;
  // The address family of the hosts: the first host given as an IP decides; kubeadm here is single-stack.
  const firstIpHost = parsedHosts.find((h) => isIp(h.address));
  const hostFamily = firstIpHost ? ipaddr.parse(firstIpHost.address).kind() : undefined;

  // --- cluster
  let podCidr: Cidr | undefined;
  let serviceCidr: Cidr | undefined;
  let keepalived: KeepalivedSettings = { enabled: false };
  if (cluster) {
    const v = cluster.kubernetesVersion;
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (!m) {
      const fix = /^v\d+\.\d+\.\d+$/.test(v) ? `write "${v.slice(1)}" without the leading v` : 'write the exact release, e.g. "1.33.4"';
      findings.push(error("cluster.kubernetesVersion", `must be x.y.z, got ${JSON.stringify(v)}: ${fix}`));
    } else if (Number(m[1]) !== 1 || Number(m[2]) < MIN_KUBERNETES_MINOR) {
      findings.push(
        error(
          "cluster.kubernetesVersion",
          `${v} is older than 1.${MIN_KUBERNETES_MINOR}, the first release whose kubeadm reads the v1beta4 config this program writes: choose 1.${MIN_KUBERNETES_MINOR}.0 or newer`,
        ),
      );
    } else if (Number(m[2]) > MAX_KUBERNETES_MINOR) {
      findings.push(
        error(
          "cluster.kubernetesVersion",
          `${v} is newer than any release this program knows: it supports Kubernetes 1.${MIN_KUBERNETES_MINOR} to 1.${MAX_KUBERNETES_MINOR} (kubeadm config, storage charts and node preparation are checked against those). Choose a 1.${MIN_KUBERNETES_MINOR}.x to 1.${MAX_KUBERNETES_MINOR}.x release, e.g. "1.33.4"`,
        ),
      );
    }

    const address = cluster.endpoint.address;
    const addressIsIp = isIp(address);
    if (!isAddress(address)) {
      findings.push(
        error(
          "cluster.endpoint.address",
          `${JSON.stringify(address)} is neither an IP address nor a DNS name: set the virtual IP for the API server, e.g. 192.168.10.10`,
        ),
      );
    }
    const unusable = unusableAddress(address);
    if (unusable) {
      findings.push(
        error(
          "cluster.endpoint.address",
          `${address} is ${unusable}: clients could not reach the API server there. Use the VIP or load balancer address on the hosts' network`,
        ),
      );
    } else if (addressIsIp && hostFamily && ipaddr.parse(address).kind() !== hostFamily) {
      findings.push(
        error(
          "cluster.endpoint.address",
          `${address} is an ${ipaddr.parse(address).kind() === "ipv6" ? "IPv6" : "IPv4"} address, but the hosts have ${hostFamily === "ipv6" ? "IPv6" : "IPv4"} addresses (e.g. ${firstIpHost?.name} at ${firstIpHost?.address}): the cluster is single-stack and the control planes must reach the endpoint in their own family. Use an ${hostFamily === "ipv6" ? "IPv6" : "IPv4"} address`,
        ),
      );
    }
    // The address of a host (any listed one, even one with errors of its own): then it is no VIP.
    const ownerIndex = parts.hostAddresses.indexOf(address);
    const owner = ownerIndex >= 0 ? (hosts[ownerIndex]?.name ?? `hosts[${ownerIndex}]`) : undefined;
    const ka = cluster.endpoint.keepalived;
    // CONFIG.md: keepalived is on by default when the address is an IP that is no host's own (a VIP to hold).
    const kaByDefault = ka?.enabled === undefined;
    const kaEnabled = ka?.enabled ?? (addressIsIp && owner === undefined);
    if (!kaEnabled && owner !== undefined && controlPlaneCount >= 2) {
      findings.push(
        warning(
          "cluster.endpoint.address",
          `${address} is host ${owner}'s own address, so with ${controlPlaneCount} control planes the API endpoint still dies with that one host. Pick a free IP on the hosts' network as endpoint.address and let keepalived float it between the control planes (keepalived: {interface: eth0}), or point it at your own load balancer`,
        ),
      );
    }
    if (kaEnabled) {
      if (!addressIsIp) {
        findings.push(
          error(
            "cluster.endpoint.keepalived.enabled",
            `keepalived can only hold an IP address, but cluster.endpoint.address is ${JSON.stringify(address)}: set the address to a free IP on the hosts' network, or set keepalived.enabled: false and point the DNS name at your own load balancer`,
          ),
        );
      }
      if (!ka?.interface) {
        const why = kaByDefault
          ? `keepalived is enabled by default because cluster.endpoint.address ${address} is an IP that is no host's own (a VIP to hold), so it is required: name the network interface that carries the hosts' addresses on the control planes, e.g. eth0 or enp1s0, or set keepalived.enabled: false if your own load balancer holds ${address}`
          : "is required when keepalived is enabled: name the network interface that carries the hosts' addresses on the control planes, e.g. eth0 or enp1s0";
        findings.push(error("cluster.endpoint.keepalived.interface", why));
      } else {
        keepalived = { enabled: true, interface: ka.interface, virtualRouterId: ka.virtualRouterId };
      }
      if (owner !== undefined) {
        findings.push(
          error(
            "cluster.endpoint.address",
            `${address} is also host ${owner}'s address, but keepalived needs a free address to float between control planes: pick an unused IP on the same network`,
          ),
        );
      }
    }

    podCidr = parseCidr(cluster.networking.podSubnet);
    serviceCidr = parseCidr(cluster.networking.serviceSubnet);
    if (!podCidr)
      findings.push(
        error(
          "cluster.networking.podSubnet",
          `${JSON.stringify(cluster.networking.podSubnet)} is not a network in CIDR form with zero host bits, e.g. 10.244.0.0/16`,
        ),
      );
    if (!serviceCidr)
      findings.push(
        error(
          "cluster.networking.serviceSubnet",
          `${JSON.stringify(cluster.networking.serviceSubnet)} is not a network in CIDR form with zero host bits, e.g. 10.96.0.0/12`,
        ),
      );
    if (podCidr && serviceCidr && cidrsOverlap(podCidr, serviceCidr)) {
      findings.push(
        error(
          "cluster.networking.serviceSubnet",
          `${cluster.networking.serviceSubnet} overlaps podSubnet ${cluster.networking.podSubnet}: Services and Pods would get the same addresses. Use disjoint ranges, e.g. podSubnet 10.244.0.0/16 and serviceSubnet 10.96.0.0/12`,
        ),
      );
    }
    for (const [key, cidr, raw] of [
      ["podSubnet", podCidr, cluster.networking.podSubnet],
      ["serviceSubnet", serviceCidr, cluster.networking.serviceSubnet],
    ] as const) {
      if (!cidr) continue;
      if (inCidr(address, cidr)) {
        findings.push(
          error(
            `cluster.networking.${key}`,
            `${raw} contains the API endpoint ${address}: the cluster would route it inside the overlay. Choose a ${key} outside the hosts' network`,
          ),
        );
      }
      hosts.forEach((h, i) => {
        if (h && inCidr(h.address, cidr)) {
          findings.push(
            error(
              `hosts[${i}].address`,
              `${h.address} lies inside cluster.networking.${key} ${raw}: the host network and the cluster's ${key === "podSubnet" ? "Pod" : "Service"} network overlap, so traffic to the host would be routed into the cluster. Move ${key} to a range your LAN does not use`,
            ),
          );
        }
      });
    }

    if (cluster.kubelet.rootDir !== DEFAULT_KUBELET_ROOT_DIR) {
      findings.push(
        error(
          "cluster.kubelet.rootDir",
          `is ${cluster.kubelet.rootDir}, but CSI drivers (Longhorn, Rook-Ceph, local volumes) hard-code hostPaths under ${DEFAULT_KUBELET_ROOT_DIR} and break when the kubelet root moves. Keep the default and, for more space, add a disk with use: ephemeral, which is mounted and bind-mounted at ${DEFAULT_KUBELET_ROOT_DIR}`,
        ),
      );
    }
  }

  // --- MetalLB's pool, Traefik's address, the Gateway API (rules-network.ts); day-two keys (rules-day2.ts)
  if (cluster) {
    findings.push(...etcdBackupFindings(cluster.etcdBackup));
    const indexed = hosts.flatMap((h, index) => (h ? [{ host: h, index }] : []));
    findings.push(...networkFindings({ cluster, ingress: parts.ingress, hosts: indexed }));
  }

  // --- hosts
  const seenName = new Map<string, number>();
  const seenAddress = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (!h) return;
    const first = seenName.get(h.name);
    if (first !== undefined)
      findings.push(
        error(
          `hosts[${i}].name`,
          `${JSON.stringify(h.name)} is already the name of hosts[${first}]: host names name every resource, so each must be unique`,
        ),
      );
    else seenName.set(h.name, i);
    const unusable = unusableAddress(h.address);
    if (!isAddress(h.address)) {
      findings.push(error(`hosts[${i}].address`, `${JSON.stringify(h.address)} is neither an IP address nor a DNS name`));
    } else if (unusable) {
      findings.push(
        error(
          `hosts[${i}].address`,
          `${h.address} is ${unusable}: the controller cannot reach the host there. Use the host's address on the network`,
        ),
      );
    } else if (hostFamily && isIp(h.address) && ipaddr.parse(h.address).kind() !== hostFamily) {
      findings.push(
        error(
          `hosts[${i}].address`,
          `${h.address} is an ${hostFamily === "ipv6" ? "IPv4" : "IPv6"} address, but ${firstIpHost?.name} has the ${hostFamily === "ipv6" ? "IPv6" : "IPv4"} address ${firstIpHost?.address}: the cluster is single-stack, so give every host an address of one family`,
        ),
      );
    }
    const firstAddr = seenAddress.get(h.address);
    if (firstAddr !== undefined)
      findings.push(
        error(
          `hosts[${i}].address`,
          `${h.address} is already the address of hosts[${firstAddr}] (${hosts[firstAddr]?.name}): two entries for one machine would prepare it twice. Remove the duplicate or correct the address`,
        ),
      );
    else seenAddress.set(h.address, i);

    if (h.hostKey === undefined) {
      if (cluster && !cluster.ssh.insecureIgnoreHostKey) {
        findings.push(
          error(
            `hosts[${i}].hostKey`,
            `is required because host keys are pinned (cluster.ssh.insecureIgnoreHostKey is false). Read it from the host with \`ssh-keyscan -t ed25519 ${h.address}\` and paste "ssh-ed25519 AAAA..."`,
          ),
        );
      }
    } else if (!HOST_KEY.test(h.hostKey.trim())) {
      findings.push(
        error(
          `hosts[${i}].hostKey`,
          'is not an SSH public host key: expected "<type> <base64>" and at most a plain comment (letters, digits, @ . _ - + : = /), e.g. "ssh-ed25519 AAAAC3Nza...", as printed by `ssh-keyscan`',
        ),
      );
    }
    if (new Set(h.roles).size !== h.roles.length) {
      findings.push(warning(`hosts[${i}].roles`, "lists a role twice: each role counts once"));
    }
    // Default (CONFIG.md): preinstalled on an immutable root or Flatcar; only an explicit false there is wrong.
    if (h.immutableRoot && h.packagesPreinstalled === false && h.os !== "flatcar") {
      findings.push(
        error(
          `hosts[${i}].packagesPreinstalled`,
          "is false, but immutableRoot is true: packages cannot be installed on a read-only root, so node preparation only verifies them. Bake containerd, kubeadm, kubelet and kubectl into the image (e.g. rpm-ostree layering or a sysext) and remove packagesPreinstalled (it defaults to true on an immutable root)",
        ),
      );
    }
    if (h.os === "flatcar" && h.packagesPreinstalled === false) {
      findings.push(
        error(
          `hosts[${i}].packagesPreinstalled`,
          "is false, but os: flatcar has no package manager: bake containerd, kubeadm and kubelet into the image (e.g. a Flatcar sysext) and remove packagesPreinstalled (it defaults to true on flatcar)",
        ),
      );
    }
  });
  if (parts.hosts && parsedHosts.length === hosts.length && !parsedHosts.some((h) => h.roles.includes("control-plane"))) {
    findings.push(
      error(
        "hosts",
        "has no host with role control-plane: the cluster needs one to run kubeadm init. Add control-plane to the roles of the host that should lead",
      ),
    );
  }

  // --- storage classes
  const classes = new Map<string, LocalClassSpec>();
  const hostDirs = new Map<string, string>();
  // Checks that read a storage section are skipped when it failed to parse (its error is already reported).
  const storageOk = (section: keyof typeof broken.storage) => !broken.storage[section];
  storage.localStatic.classes.forEach((c, i) => {
    if (classes.has(c.name))
      findings.push(error(`storage.localStatic.classes[${i}].name`, `${c.name} is defined twice: class names must be unique`));
    const other = hostDirs.get(c.hostDir);
    if (other !== undefined)
      findings.push(
        error(
          `storage.localStatic.classes[${i}].hostDir`,
          `${c.hostDir} is already the hostDir of class ${other}: the provisioner needs one directory per class`,
        ),
      );
    classes.set(c.name, c);
    hostDirs.set(c.hostDir, c.name);
  });

  // --- disks
  const resolvedHosts: HostSpec[] = [];
  const diskUsesSeen = new Set<string>();
  hosts.forEach((h, i) => {
    if (!h) return;
    const disks = resolveDisks(
      h,
      i,
      storageOk("longhorn") ? storage.longhorn.dataPath : undefined,
      storageOk("localStatic") ? { classes, enabled: storage.localStatic.enabled } : undefined,
      findings,
    );
    for (const d of disks) diskUsesSeen.add(d.use);
    resolvedHosts.push({
      name: h.name,
      address: h.address,
      ...(h.hostKey !== undefined ? { hostKey: h.hostKey.trim() } : {}),
      roles: [...new Set(h.roles)],
      os: h.os,
      immutableRoot: h.immutableRoot,
      packagesPreinstalled: h.packagesPreinstalled ?? (h.immutableRoot || h.os === "flatcar"),
      labels: h.labels,
      taints: h.taints,
      disks,
    });
  });

  if (cluster?.packageMirrors) findings.push(...packageMirrorFindings(cluster.packageMirrors, resolvedHosts));
  // Indexed like hosts[] only when every host parsed (resolvedHosts skips the broken ones).
  if (cluster && resolvedHosts.length === hosts.length) findings.push(...runtimeFindings(cluster.containerRuntime, resolvedHosts));

  // --- storage systems against the disks that carry them
  const complete = parts.hosts !== undefined && parsedHosts.length === hosts.length;
  if (complete) {
    if (storageOk("longhorn") && storage.longhorn.enabled && !diskUsesSeen.has("longhorn")) {
      findings.push(
        error(
          "storage.longhorn.enabled",
          "Longhorn is enabled but no host has a disk with use: longhorn to carry its data. Add such a disk to the hosts that should store volumes, or disable Longhorn",
        ),
      );
    }
    if (storageOk("longhorn") && !storage.longhorn.enabled && diskUsesSeen.has("longhorn")) {
      findings.push(
        warning(
          "storage.longhorn.enabled",
          "is false, but some disks have use: longhorn: they will be formatted and mounted, and no Longhorn will use them. Enable Longhorn or change those disks' use",
        ),
      );
    }
    if (storageOk("rookCeph") && storage.rookCeph.enabled && !diskUsesSeen.has("ceph")) {
      findings.push(
        error(
          "storage.rookCeph.enabled",
          "Rook-Ceph is enabled but no host has a disk with use: ceph to become an OSD. Add raw disks with use: ceph, or disable Rook-Ceph",
        ),
      );
    }
    if (storageOk("rookCeph") && !storage.rookCeph.enabled && diskUsesSeen.has("ceph")) {
      findings.push(
        warning(
          "storage.rookCeph.enabled",
          "is false, but some disks have use: ceph: they stay raw and unused. Enable Rook-Ceph or change those disks' use",
        ),
      );
    }
    if (storageOk("localStatic") && storage.localStatic.enabled) {
      if (storage.localStatic.classes.length === 0) {
        findings.push(
          error(
            "storage.localStatic.classes",
            "local-static-provisioner is enabled but defines no class: add one, e.g. {name: fast-storage, hostDir: /var/lib/disks/ssd}",
          ),
        );
      } else if (!diskUsesSeen.has("local")) {
        findings.push(
          error(
            "storage.localStatic.enabled",
            "local-static-provisioner is enabled but no host has a disk with use: local to offer. Add disks with use: local and storageClass: <class>, or disable it",
          ),
        );
      } else {
        storage.localStatic.classes.forEach((c, i) => {
          const used = resolvedHosts.some((h) => h.disks.some((d) => d.use === "local" && d.storageClass === c.name));
          if (!used)
            findings.push(
              warning(
                `storage.localStatic.classes[${i}]`,
                `class ${c.name} has no disk: its StorageClass will have no volumes until a disk with use: local, storageClass: ${c.name} is added`,
              ),
            );
        });
      }
    }
    if (storage.defaultClass !== undefined && STORAGE_SECTIONS.every(storageOk)) {
      const known = [
        ...(storage.rookCeph.enabled ? ["ceph-block"] : []),
        ...(storage.longhorn.enabled ? ["longhorn"] : []),
        ...(storage.localStatic.enabled ? storage.localStatic.classes.map((c) => c.name) : []),
      ];
      if (!known.includes(storage.defaultClass)) {
        findings.push(
          error(
            "storage.defaultClass",
            `${JSON.stringify(storage.defaultClass)} is not a StorageClass this stack creates; choose one of: ${known.length ? known.join(", ") : "(none: enable a storage system first)"}`,
          ),
        );
      }
    }
  }

  if (!cluster || !complete || !parts.ingress || findings.some((f) => f.severity === "error")) {
    return { findings };
  }

  const controlPlanes = resolvedHosts.filter((h) => h.roles.includes("control-plane")).length;
  const spec: ClusterSpec = {
    cluster: {
      name: cluster.name,
      kubernetesVersion: cluster.kubernetesVersion,
      endpoint: { address: cluster.endpoint.address, port: cluster.endpoint.port, keepalived },
      networking: cluster.networking,
      containerRuntime: cluster.containerRuntime,
      faultTolerance: cluster.faultTolerance ?? (controlPlanes >= 2 ? 1 : 0),
      ssh: cluster.ssh,
      kubelet: cluster.kubelet,
      packageMirrors: {
        ...(cluster.packageMirrors?.distribution !== undefined ? { distribution: mirrorBase(cluster.packageMirrors.distribution) } : {}),
        ...(cluster.packageMirrors?.kubernetes !== undefined ? { kubernetes: mirrorBase(cluster.packageMirrors.kubernetes) } : {}),
      },
      upgrade: cluster.upgrade,
      ...(cluster.etcdBackup ? { etcdBackup: cluster.etcdBackup } : {}),
      ...(cluster.certificates ? { certificates: cluster.certificates } : {}),
    },
    hosts: resolvedHosts,
    storage: {
      ...(storage.defaultClass !== undefined ? { defaultClass: storage.defaultClass } : {}),
      longhorn: storage.longhorn,
      rookCeph: storage.rookCeph,
      localStatic: { enabled: storage.localStatic.enabled, version: storage.localStatic.version, classes: storage.localStatic.classes },
    },
    ingress: parts.ingress,
  };
  return { spec, findings };
}

/** Where `cluster.packageMirrors` does not reach: hosts that install nothing, dnf hosts for the distribution mirror, RHEL's containerd.io. */
function packageMirrorFindings(mirrors: { distribution?: string; kubernetes?: string }, hosts: HostSpec[]): Finding[] {
  const out: Finding[] = [];
  const installing = hosts.filter((h) => !h.packagesPreinstalled && !h.immutableRoot && h.os !== "flatcar");
  const names = (hs: HostSpec[]) => hs.map((h) => h.name).join(", ");
  if (installing.length === 0 && hosts.length > 0) {
    out.push(
      warning(
        "cluster.packageMirrors",
        "is set, but no host installs packages (every host has packagesPreinstalled or an immutable root): the mirrors are not used. Remove the key, or set packagesPreinstalled: false where the program should install",
      ),
    );
    return out;
  }
  const dnfHosts = installing.filter((h) => h.os === "fedora" || h.os === "rhel");
  if (mirrors.distribution !== undefined && dnfHosts.length > 0) {
    out.push(
      warning(
        "cluster.packageMirrors.distribution",
        `applies to apt hosts (ubuntu, debian) only; ${names(dnfHosts)} install${dnfHosts.length === 1 ? "s" : ""} with dnf from the repositories in /etc/yum.repos.d: point those at your mirror on the host`,
      ),
    );
  }
  const rhel = installing.filter((h) => h.os === "rhel");
  if (rhel.length > 0) {
    out.push(
      warning(
        "cluster.packageMirrors",
        `RHEL ships no containerd: ${names(rhel)} get containerd.io from Docker's repository (download.docker.com) unless /etc/yum.repos.d/docker-ce.repo already exists. Behind a mirror, put a docker-ce.repo pointing at it there, or preinstall containerd`,
      ),
    );
  }
  return out;
}

function resolveDisks(
  h: HostInput,
  i: number,
  /** Undefined when storage.longhorn failed to parse: longhorn disks without a mountpoint are then not checked. */
  longhornDataPath: string | undefined,
  /** Undefined when storage.localStatic failed to parse: local disks are then not checked against its classes. */
  localStatic: { classes: Map<string, LocalClassSpec>; enabled: boolean } | undefined,
  findings: Finding[],
): DiskSpec[] {
  const out: DiskSpec[] = [];
  const names = new Map<string, number>();
  const devices = new Map<string, number>();
  const mounts = new Map<string, number>();
  const hasEphemeral = h.disks.some((d) => d.use === "ephemeral");
  h.disks.forEach((d: DiskInput, j) => {
    const at = `hosts[${i}].disks[${j}]`;
    const name = d.name ?? defaultDiskName(d.device);
    const n = names.get(name);
    if (n !== undefined) {
      findings.push(
        error(
          d.name ? `${at}.name` : `${at}.device`,
          `disk name ${JSON.stringify(name)} is already used by ${`hosts[${i}].disks[${n}]`}${d.name ? "" : " (the name defaults to the device's basename)"}: disk names name resources and must be unique on a host. Set a distinct name`,
        ),
      );
    } else names.set(name, j);
    const dev = devices.get(d.device);
    if (dev !== undefined) {
      findings.push(
        error(
          `${at}.device`,
          `${d.device} is already hosts[${i}].disks[${dev}]: one device can have one use. Remove the duplicate or correct the device path`,
        ),
      );
    } else devices.set(d.device, j);
    // CONFIG.md Devices: by-id and by-path are stable; anything else (a kernel name above all) gets a warning.
    if (!isStableDevicePath(d.device)) {
      findings.push(
        warning(
          `${at}.device`,
          isKernelDeviceName(d.device)
            ? `${d.device} is a kernel name, which can change between boots and then point at another disk. Prefer the disk's stable link: ls -l /dev/disk/by-id /dev/disk/by-path, and use the one that points at ${d.device.slice(5)}`
            : `${d.device} is not a /dev/disk/by-id/ or /dev/disk/by-path/ link, the names that stay with one disk. Prefer one of those (ls -l /dev/disk/by-id /dev/disk/by-path)`,
        ),
      );
    }

    const claimMount = (mountpoint: string, key: string) => {
      const mp = mountpoint.replace(/\/+$/, "") || "/";
      const other = mounts.get(mp);
      if (other !== undefined) {
        findings.push(
          error(
            `${at}.${key}`,
            `${mp} is already the mountpoint of hosts[${i}].disks[${other}]: mounting a second disk there hides the first one's data. Give each disk its own mountpoint`,
          ),
        );
      } else mounts.set(mp, j);
      if (RESERVED_MOUNTPOINTS.includes(mp)) {
        findings.push(
          error(
            `${at}.${key}`,
            `${mp} holds the operating system: mounting a disk over it would hide system files. Mount data disks under /mnt, /srv or /var/lib/<name>`,
          ),
        );
      }
      if (EPHEMERAL_TARGETS.includes(mp)) {
        findings.push(
          error(
            `${at}.${key}`,
            `${mp} is managed by use: ephemeral (bind-mounted from the ephemeral disk set). Give this disk use: ephemeral instead of mounting it there yourself`,
          ),
        );
      }
      return mp;
    };

    switch (d.use) {
      case "mount":
        out.push({
          name,
          device: d.device,
          wipe: d.wipe,
          use: "mount",
          fsType: d.fsType,
          mountpoint: claimMount(d.mountpoint, "mountpoint"),
        });
        break;
      case "longhorn": {
        const mountpoint = d.mountpoint ?? longhornDataPath;
        if (mountpoint === undefined) break;
        out.push({
          name,
          device: d.device,
          wipe: d.wipe,
          use: "longhorn",
          fsType: d.fsType,
          mountpoint: claimMount(mountpoint, "mountpoint"),
        });
        break;
      }
      case "ceph":
        out.push({ name, device: d.device, wipe: d.wipe, use: "ceph" });
        break;
      case "ephemeral":
        out.push({ name, device: d.device, wipe: d.wipe, use: "ephemeral" });
        break;
      case "local": {
        if (!localStatic) break;
        const { classes, enabled: localStaticEnabled } = localStatic;
        const cls = classes.get(d.storageClass);
        if (!cls) {
          const names = [...classes.keys()];
          findings.push(
            error(
              `${at}.storageClass`,
              `${JSON.stringify(d.storageClass)} is not a class in storage.localStatic.classes${names.length ? ` (defined: ${names.join(", ")})` : " (none is defined)"}: name an existing class or add it there`,
            ),
          );
          break;
        }
        if (!localStaticEnabled) {
          findings.push(
            error(
              `${at}.use`,
              "is local, but storage.localStatic.enabled is false: nothing would publish this disk. Enable storage.localStatic or change the disk's use",
            ),
          );
        }
        const path = `${cls.hostDir.replace(/\/+$/, "")}/${name}`;
        if (cls.volumeMode === "Block") {
          // A kernel name is linked to the disk's stable path, resolved on the host (warned above); other paths cannot be.
          if (!isStableDevicePath(d.device) && !isKernelDeviceName(d.device)) {
            findings.push(
              error(
                `${at}.device`,
                `${d.device} is neither a /dev/disk/by-id/ or /dev/disk/by-path/ link nor a kernel name, but class ${cls.name} is a Block class: the provisioner publishes a symlink to the disk's stable path. Use the disk's /dev/disk/by-id/ or /dev/disk/by-path/ link`,
              ),
            );
          }
          out.push({ name, device: d.device, wipe: d.wipe, use: "local", storageClass: cls.name, volumeMode: "Block", linkPath: path });
        } else {
          out.push({
            name,
            device: d.device,
            wipe: d.wipe,
            use: "local",
            storageClass: cls.name,
            volumeMode: "Filesystem",
            fsType: cls.fsType,
            mountpoint: claimMount(path, "storageClass"),
          });
        }
        break;
      }
      default: {
        const unreachable: never = d;
        throw new Error(`unhandled disk use ${JSON.stringify(unreachable)}`);
      }
    }
  });
  if (hasEphemeral) {
    for (const [mp, j] of mounts) {
      if (mp !== "/var/lib/kubelet" && (mp.startsWith("/var/lib/kubelet/") || mp.startsWith("/var/lib/containerd/"))) {
        findings.push(
          error(
            `hosts[${i}].disks[${j}].mountpoint`,
            `${mp} lies inside a directory that use: ephemeral bind-mounts over; the mount would be hidden. Mount it elsewhere`,
          ),
        );
      }
    }
  }
  // A mount inside another disk's mountpoint works only if mounted in order; flag it.
  const mps = [...mounts.keys()];
  for (const a of mps) {
    for (const b of mps) {
      if (a !== b && b.startsWith(`${a}/`)) {
        findings.push(
          warning(
            `hosts[${i}].disks[${mounts.get(b)}]`,
            `mountpoint ${b} is inside ${a}, another disk's mountpoint: it is mounted after that disk, and its data is hidden if the outer disk is ever mounted again on top. Prefer sibling directories`,
          ),
        );
      }
    }
  }
  return out;
}
