import { type Finding, error, warning } from "./findings";
import type { DiskInput, HostInput } from "./schema";
import type { DiskSpec, LocalClassSpec } from "./spec";
import { isKernelDeviceName, isStableDevicePath } from "./strings";

/** The rules of one host's disks: names, devices and mountpoints unique on the host, and each disk resolved to its spec. */

/** Paths no data disk may be mounted at: the OS lives there. */
const RESERVED_MOUNTPOINTS = ["/", "/boot", "/dev", "/etc", "/proc", "/run", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/home", "/root"];
/** Where `use: ephemeral` disks are bind-mounted; a plain mount there would fight it. */
const EPHEMERAL_TARGETS = ["/var/lib/kubelet", "/var/lib/containerd"];

/** Default disk name: the device's basename, made into a DNS label. */
export function defaultDiskName(device: string): string {
  const base = device.split("/").filter(Boolean).pop() ?? "disk";
  const label = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return label.slice(0, 63).replace(/-+$/, "") || "disk";
}

export function resolveDisks(
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
    // by-id and by-path links are stable; anything else (a kernel name above all) gets a warning.
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
