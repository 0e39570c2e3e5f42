import { type Finding, error, warning } from "./findings";
import { STORAGE_SECTIONS, type StorageSection } from "./parse";
import type { StorageInput } from "./schema";
import type { HostSpec, LocalClassSpec } from "./spec";

/** The rules of the storage section: local classes unique, each enabled system carried by disks of its use, the default class one the stack creates. */

/** Whether a storage section parsed: the checks that read a section are skipped when it did not (its error is already reported). */
export type StorageOk = (section: StorageSection) => boolean;

/** The local-static classes by name; names and host directories must be unique. */
export function localClassRules(storage: StorageInput, findings: Finding[]): Map<string, LocalClassSpec> {
  const classes = new Map<string, LocalClassSpec>();
  const hostDirs = new Map<string, string>();
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
  return classes;
}

/** Each enabled storage system against the disks that carry it (`diskUsesSeen`: the uses of every resolved disk). */
export function storageSystemRules(
  storage: StorageInput,
  storageOk: StorageOk,
  diskUsesSeen: ReadonlySet<string>,
  resolvedHosts: readonly HostSpec[],
  findings: Finding[],
): void {
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
