import type { DiskSpec, HostSpec } from "../config/spec";
import { shQuote } from "./remote-script";
import { TRACK_CHANGES, scriptFooter, scriptHeader, shVar } from "./shell";

/**
 * Disk layout scripts, one per disk (and one for a host's ephemeral disks,
 * which form one array). Every script is non-destructive: a device holding a
 * filesystem, partition table or RAID/LVM signature other than the one it
 * would create is refused, naming the device and what blkid/wipefs found,
 * unless the disk says `wipe: true`. Re-running on a laid-out host changes
 * nothing. Disk scripts of one host take a lock, so they may run in parallel
 * sessions without racing on /etc/fstab.
 */

/** A disk that is formatted and mounted: `mount`, `longhorn`, and `local` Filesystem classes. */
export type MountedDisk = Extract<DiskSpec, { mountpoint: string }>;
export type BlockLinkDisk = Extract<DiskSpec, { linkPath: string }>;
export type CephDisk = Extract<DiskSpec, { use: "ceph" }>;
export type EphemeralDisk = Extract<DiskSpec, { use: "ephemeral" }>;

/** Where a host's ephemeral disk (or array) is mounted; /var/lib/kubelet and /var/lib/containerd are bind mounts of directories on it. */
export const EPHEMERAL_MOUNT = "/var/lib/baremetal-k8s/ephemeral";
export const EPHEMERAL_BINDS = ["/var/lib/kubelet", "/var/lib/containerd"] as const;
/** The md array name of a host's ephemeral disks (RAID0), as /dev/md/<name>. */
export const EPHEMERAL_MD_NAME = "bk8s-ephemeral";
/** Where the program remembers disks it verified empty and handed over (ceph). */
export const DISK_STATE_DIR = "/var/lib/baremetal-k8s/disks";

export function isMountedDisk(d: DiskSpec): d is MountedDisk {
  return "mountpoint" in d;
}

export function isBlockLinkDisk(d: DiskSpec): d is BlockLinkDisk {
  return "linkPath" in d;
}

/**
 * The comment line above each fstab entry the program writes: how delete finds its own lines. Built from
 * host, disk and class names (DNS labels once validated); any other character becomes `_`, so no config
 * text can end the comment line. Unchanged for valid names: older releases' lines are still found.
 */
export function fstabMark(host: HostSpec, what: string): string {
  return `# baremetal-k8s: ${commentSafe(host.name)} ${commentSafe(what)}`;
}

function commentSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9 ()._:/-]/g, "_");
}

/**
 * A path as an /etc/fstab field: fstab splits fields on blanks and reads `\ooo` octal escapes
 * (fstab(5)), so a space, tab, newline or backslash is written as \040, \011, \012, \134.
 */
export function fstabField(path: string): string {
  return path.replace(/[\\ \t\n\r]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/** A fixed description of what a disk becomes: script titles and fstab marks carry no config text. */
function mountedWhat(disk: MountedDisk, withClass: boolean): string {
  if (disk.use === "longhorn") return "Longhorn data path";
  if (disk.use === "local") return withClass ? `local volume of class ${disk.storageClass}` : "local volume";
  return "mount";
}

const DISK_LIB = `# One disk script at a time per host: they share /etc/fstab.
mkdir -p /run/lock
exec 9>/run/lock/baremetal-k8s-disks.lock
flock -w 600 9 || fail "another disk step held /run/lock/baremetal-k8s-disks.lock for 10 minutes"
# resolve_device PATH: sets dev to the block device PATH names.
resolve_device() {
  [ -e "$1" ] || fail "device $1 does not exist on this host: check the disk's device in the config (ls -l /dev/disk/by-id/ on the host lists the stable names)"
  dev=$(readlink -f "$1")
  [ -b "$dev" ] || fail "$1 ($dev) is not a block device"
}
# probe DEV: sets fs_type, fs_uuid, pt_type from the on-disk signatures (blkid -p reads the device, not a cache).
probe() {
  local out rc=0
  fs_type="" fs_uuid="" pt_type=""
  out=$(blkid -p -o export "$1" 2>/dev/null) || rc=$?
  case $rc in
    0) ;;
    2) return 0 ;;
    *) fs_type="ambivalent-signatures"; return 0 ;;
  esac
  fs_type=$(printf '%s\\n' "$out" | sed -n 's/^TYPE=//p')
  fs_uuid=$(printf '%s\\n' "$out" | sed -n 's/^UUID=//p')
  pt_type=$(printf '%s\\n' "$out" | sed -n 's/^PTTYPE=//p')
}
# found DEV: what is on the device, for people.
found() {
  local what=""
  [ -z "$fs_type" ] || what="a $fs_type signature\${fs_uuid:+ (UUID $fs_uuid)}"
  [ -z "$pt_type" ] || what="\${what:+$what and }a $pt_type partition table"
  printf '%s. wipefs lists:\\n%s' "$what" "$(wipefs "$1" 2>&1 || true)"
}
# mounts_of DEV: every mount point of DEV or its partitions, one per line (findmnt's \x20 escapes decoded).
mounts_of() {
  local nums t
  nums=$(lsblk -nro MAJ:MIN "$1" 2>/dev/null | tr -d ' ')
  findmnt -rn -o TARGET,MAJ:MIN | awk -v nums="$nums" 'BEGIN { n = split(nums, a, "\\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 } ($2 in want) { print $1 }' |
    while IFS= read -r t; do printf '%b\\n' "$t"; done
}
# devnum DEV: major:minor, as findmnt prints it.
devnum() {
  printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}
# mounted_dev MOUNTPOINT: major:minor of what is mounted there, or nothing.
mounted_dev() {
  { findmnt -rn -M "$1" -o MAJ:MIN 2>/dev/null || true; } | head -n 1 | tr -d ' '
}
# refuse_or_wipe LABEL DEV WANT: a device with foreign signatures is refused unless wipe: true.
refuse_or_wipe() {
  local label=$1 d=$2 want=$3 busy
  busy=$(mounts_of "$d")
  [ -z "$busy" ] || fail "$label ($d) holds $(found "$d")
and is mounted at: $busy. It is in use: refusing to touch it, even with wipe: true"
  if [ "$WIPE" != 1 ]; then
    fail "refusing to touch $label ($d): it holds $(found "$d")
This disk gets $want, and its existing data would be destroyed. If that data may go, set wipe: true on this disk in the config and run again; otherwise point the disk at another device."
  fi
  note "wipe: true: erasing the signatures on $label ($d): $(found "$d")"
  wipefs -a "$d" >/dev/null
  changed=1
}
# fstab_ensure MARK LINE MOUNTPOINT: adds LINE (under MARK) unless fstab has it; fails when fstab mounts something else there.
# MOUNTPOINT as fstab writes it (fstabField: blanks as \\040).
fstab_ensure() {
  local mark=$1 line=$2 mp=$3 existing
  existing=$(MP=$mp awk '!/^[[:space:]]*#/ && $2 == ENVIRON["MP"]' /etc/fstab)
  if [ -z "$existing" ]; then
    printf '%s\\n%s\\n' "$mark" "$line" >>/etc/fstab
    note "added to /etc/fstab: $line"
    changed=1
  elif [ "$existing" != "$line" ]; then
    if [ "$(printf '%s\\n' "$existing" | awk '{ print $1 }')" = "$(printf '%s\\n' "$line" | awk '{ print $1 }')" ]; then
      note "/etc/fstab already mounts it at $mp with its own options: kept ($existing)"
    else
      fail "/etc/fstab already mounts something else at $mp: $existing. Remove that line, or choose another mountpoint in the config"
    fi
  fi
}
`;

const FSTAB_REMOVE = `# fstab_remove MARK MOUNTPOINT: drops the program's line for MOUNTPOINT (as fstab writes it) and its MARK
# comment; a MARK above another line (the same disk at its new mountpoint) stays.
fstab_remove() {
  local mark=$1 mp=$2 tmp
  tmp=$(mktemp)
  MARK=$mark MP=$mp awk 'held != "" { if ($2 == ENVIRON["MP"]) { held = ""; next } print held; held = "" }
    $0 == ENVIRON["MARK"] { held = $0; next } { print } END { if (held != "") print held }' /etc/fstab >"$tmp"
  if ! cmp -s "$tmp" /etc/fstab; then
    cat "$tmp" >/etc/fstab
    note "removed the /etc/fstab entry for $(printf '%b' "$mp")"
  fi
  rm -f "$tmp"
}
`;

function mkfsCommand(fsType: "ext4" | "xfs"): string {
  // No force flags: mkfs itself refuses a device that still holds something, a second line of defence.
  return fsType === "xfs" ? 'mkfs.xfs -q "$dev" </dev/null' : 'mkfs.ext4 -q "$dev" </dev/null';
}

/** The start of a disk script. `title` is fixed text (never config text: it lands in a comment). */
function diskHeader(host: HostSpec, disk: DiskSpec, title: string): string {
  return [
    scriptHeader(`disk layout: ${title}`, `${host.name}/${disk.name}`),
    TRACK_CHANGES,
    shVar("DEVICE", disk.device),
    `WIPE=${disk.wipe ? 1 : 0}`,
    DISK_LIB,
  ].join("\n");
}

function renderMounted(host: HostSpec, disk: MountedDisk): string {
  return `${diskHeader(host, disk, `${disk.use === "mount" ? "formatted and mounted" : mountedWhat(disk, false)}`)}
${FSTAB_REMOVE}${shVar("FSTYPE", disk.fsType)}
${shVar("MOUNTPOINT", disk.mountpoint)}
${shVar("MP_FSTAB", fstabField(disk.mountpoint))}
${shVar("MARK", fstabMark(host, `disk ${disk.name} (${mountedWhat(disk, true)})`))}
${shVar("MARK_PREFIX", fstabMark(host, `disk ${disk.name} (`))}
resolve_device "$DEVICE"
here=$(mounted_dev "$MOUNTPOINT")
if [ -n "$here" ] && [ "$here" != "$(devnum "$dev")" ]; then
  fail "$MOUNTPOINT already has another filesystem mounted (device $here): unmount it, or choose another mountpoint for this disk"
fi
probe "$dev"
if [ "$fs_type" = "$FSTYPE" ] && [ -z "$pt_type" ]; then
  [ -n "$here" ] || note "$DEVICE holds a $FSTYPE filesystem already: using it as it is"
else
  if [ -n "$fs_type$pt_type" ]; then
    refuse_or_wipe "$DEVICE" "$dev" "a new $FSTYPE filesystem mounted at $MOUNTPOINT"
  fi
  ${mkfsCommand(disk.fsType)}
  note "formatted $DEVICE as $FSTYPE"
  changed=1
  probe "$dev"
  if [ "$fs_type" != "$FSTYPE" ] || [ -z "$fs_uuid" ]; then
    fail "mkfs.$FSTYPE ran but blkid finds no $FSTYPE filesystem on $dev"
  fi
fi
# Where this disk was mounted before (its mountpoint, or its class and so its hostDir, changed in the
# config): the program's own fstab lines for this disk (under any of its marks), with this filesystem, at
# another mountpoint. The disk moves in place: mounted at the new mountpoint first, then the old mount is
# unmounted and its line goes. No old step's delete will do it: steps are never replaced (remoteStepOptions).
# The data stays on the disk.
previous=()
while IFS= read -r p; do
  [ -z "$p" ] || previous+=("$p")
done < <(PREFIX=$MARK_PREFIX UUID="UUID=$fs_uuid" MP=$MP_FSTAB awk 'mark != "" && $1 == ENVIRON["UUID"] && $2 != ENVIRON["MP"] { print mark "\\t" $2 }
  { mark = (index($0, ENVIRON["PREFIX"]) == 1) ? $0 : "" }' /etc/fstab)
is_previous() {
  local p
  for p in "\${previous[@]}"; do
    [ "$(printf '%b' "\${p#*$'\\t'}")" != "$1" ] || return 0
  done
  return 1
}
while IFS= read -r t; do
  [ -z "$t" ] || [ "$t" = "$MOUNTPOINT" ] || is_previous "$t" || fail "$DEVICE is mounted at $t already: unmount it there first"
done < <(mounts_of "$dev")
fstab_ensure "$MARK" "UUID=$fs_uuid $MP_FSTAB $FSTYPE defaults,nofail 0 2" "$MP_FSTAB"
if [ -z "$here" ]; then
  mkdir -p "$MOUNTPOINT"
  if [ -n "$(ls -A "$MOUNTPOINT" 2>/dev/null)" ]; then
    fail "$MOUNTPOINT is not empty: mounting $DEVICE there would hide its files. Move them away (or onto the disk), then run again"
  fi
  mount -t "$FSTYPE" "$dev" "$MOUNTPOINT"
  note "mounted $DEVICE at $MOUNTPOINT"
  changed=1
fi
for p in "\${previous[@]}"; do
  old_mark=\${p%%$'\\t'*}
  old_fstab=\${p#*$'\\t'}
  old=$(printf '%b' "$old_fstab")
  if [ "$(mounted_dev "$old")" = "$(devnum "$dev")" ]; then
    # the old line stays until the old mount is gone, so that the next run finds it and tries again
    umount "$old" || fail "moved to $MOUNTPOINT, but cannot unmount $old: something still uses it (see fuser -vm $old). Stop that, then run pulumi up again"
    note "moved from $old to $MOUNTPOINT: unmounted $old (the data stays on the disk, now at $MOUNTPOINT)"
  fi
  fstab_remove "$old_mark" "$old_fstab"
  changed=1
done
${scriptFooter(`${disk.fsType} on ${disk.device} at ${disk.mountpoint}`)}`;
}

/**
 * A local Block-class disk: a symlink at `<hostDir>/<disk>` to a stable path of the disk. A by-id or
 * by-path device is that path. A kernel name (/dev/vdf) is resolved on the host at the first run to a
 * by-id (else by-path) link of the same device, remembered under DISK_STATE_DIR; a later run refuses,
 * naming the disk, when the kernel name now is another device than the one remembered.
 */
function renderBlockLink(host: HostSpec, disk: BlockLinkDisk): string {
  return `${diskHeader(host, disk, "local block volume")}
${shVar("DISK", disk.name)}
${shVar("LINK", disk.linkPath)}
${shVar("STABLE_STATE", `${DISK_STATE_DIR}/${disk.name}.stable`)}
${shVar("LINK_STATE", `${DISK_STATE_DIR}/${disk.name}.link`)}
resolve_device "$DEVICE"
num=$(devnum "$dev")
# The provisioner only accepts stable names: a by-id or by-path link, never /dev/sdX.
target=""
case $DEVICE in
  /dev/disk/by-id/* | /dev/disk/by-path/*) target=$DEVICE ;;
  *)
    if [ -f "$STABLE_STATE" ]; then
      target=$(cat "$STABLE_STATE")
      if [ ! -e "$target" ] || [ "$(devnum "$target")" != "$num" ]; then
        fail "disk $DISK: its device $DEVICE is now $dev, but at the first run it was $target$([ -e "$target" ] && printf ' (%s)' "$(readlink -f "$target")"). Kernel names can change between boots: refusing to hand another disk to pods. Set the disk's device to its stable path ($target) in the config"
      fi
    else
      for l in /dev/disk/by-id/* /dev/disk/by-path/*; do
        if [ -e "$l" ] && [ "$(devnum "$l")" = "$num" ]; then
          target=$l
          break
        fi
      done
    fi
    ;;
esac
[ -n "$target" ] || fail "$DEVICE has no /dev/disk/by-id or /dev/disk/by-path name: local block volumes need one (set the disk's device to such a path)"
remember() {
  case $DEVICE in
    /dev/disk/by-id/* | /dev/disk/by-path/*) return 0 ;;
  esac
  if [ "$(cat "$STABLE_STATE" 2>/dev/null)" != "$target" ]; then
    mkdir -p "$(dirname "$STABLE_STATE")"
    printf '%s\\n' "$target" >"$STABLE_STATE"
    note "$DEVICE is $target: remembered, later runs check that $DEVICE still names this disk"
  fi
}
# Where this disk was linked before (its class, and so its hostDir, changed in the config): the link
# recorded at the last run goes once the new one is in place. No old step's delete will do it: steps are
# never replaced (remoteStepOptions). A link there that now names another disk is left alone.
move_link() {
  local prev
  prev=$(cat "$LINK_STATE" 2>/dev/null || true)
  if [ -n "$prev" ] && [ "$prev" != "$LINK" ] && [ -L "$prev" ]; then
    if [ ! -e "$prev" ] || [ "$(devnum "$prev")" = "$num" ]; then
      rm -f "$prev"
      note "moved from $prev to $LINK: removed $prev (the disk itself is untouched)"
      changed=1
    fi
  fi
  if [ "$prev" != "$LINK" ]; then
    mkdir -p "$(dirname "$LINK_STATE")"
    printf '%s\\n' "$LINK" >"$LINK_STATE"
  fi
}
if [ -L "$LINK" ]; then
  if [ ! -e "$LINK" ] || [ "$(devnum "$LINK")" != "$num" ]; then
    fail "$LINK already points at $(readlink "$LINK"), not at $DEVICE: remove that link or choose another disk name"
  fi
  remember
  move_link
  if [ "$changed" = 0 ]; then
    note "$LINK -> $(readlink "$LINK"): already in place, nothing to do"
  else
    note "$LINK -> $(readlink "$LINK"): in place"
  fi
  exit 0
fi
[ ! -e "$LINK" ] || fail "$LINK exists and is not a symlink: the provisioner needs a stable /dev/disk symlink there. Move it away and run again"
probe "$dev"
if [ -n "$fs_type$pt_type" ]; then
  refuse_or_wipe "$DEVICE" "$dev" "handed raw to pods as a block volume (the provisioner erases it when a volume is released)"
fi
busy=$(mounts_of "$dev")
[ -z "$busy" ] || fail "$DEVICE is mounted at $busy: a local block volume must not be in use by the host"
remember
mkdir -p "$(dirname "$LINK")"
ln -s "$target" "$LINK"
note "linked $LINK -> $target"
changed=1
move_link
${scriptFooter(`block link ${disk.linkPath}`)}`;
}

function renderCeph(host: HostSpec, disk: CephDisk): string {
  return `${diskHeader(host, disk, "raw Rook-Ceph OSD")}
${shVar("MARKER", `${DISK_STATE_DIR}/${disk.name}.ceph`)}
resolve_device "$DEVICE"
# Once verified empty and handed over, Rook writes its own data: not inspected again.
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$DEVICE" ]; then
  note "verified empty earlier and handed to Rook-Ceph: nothing to do"
  exit 0
fi
busy=$(mounts_of "$dev")
[ -z "$busy" ] || fail "$DEVICE is mounted at $busy: an OSD disk must not be in use by the host"
probe "$dev"
if [ -n "$fs_type$pt_type" ]; then
  # Rook skips a device with a filesystem or partitions ("no devices matched", rook#6832).
  refuse_or_wipe "$DEVICE" "$dev" "no filesystem: Rook-Ceph takes it raw as an OSD"
  dd if=/dev/zero of="$dev" bs=1M count=10 conv=fsync status=none
  probe "$dev"
  [ -z "$fs_type$pt_type" ] || fail "$DEVICE still shows $(found "$dev") after wiping"
fi
mkdir -p "$(dirname "$MARKER")"
printf '%s\\n' "$DEVICE" >"$MARKER"
note "$DEVICE is empty: ready for Rook-Ceph"
changed=1
${scriptFooter(`raw disk ${disk.device} for Rook-Ceph`)}`;
}

/**
 * All ephemeral disks of a host: one disk is used directly, several become one
 * mdadm RAID0; either way formatted xfs, mounted at EPHEMERAL_MOUNT, and
 * /var/lib/kubelet and /var/lib/containerd become bind mounts of directories
 * on it, their existing content copied over first (containerd and the kubelet
 * are stopped meanwhile). The kubelet keeps its default root dir, which CSI
 * drivers hard-code.
 */
export function renderEphemeral(host: HostSpec, disks: EphemeralDisk[]): string {
  if (disks.length === 0) throw new Error(`host ${host.name} has no ephemeral disk`);
  const raid = disks.length > 1;
  const header = [
    scriptHeader(`ephemeral disk${raid ? "s (RAID0)" : ""}: /var/lib/kubelet and /var/lib/containerd`, `${host.name}/ephemeral`),
    TRACK_CHANGES,
    `DEVICES=(${disks.map((d) => shQuote(d.device)).join(" ")})`,
    // Each member may be erased only when it says wipe: true; the array's own filesystem only when all of them do.
    `WIPES=(${disks.map((d) => (d.wipe ? 1 : 0)).join(" ")})`,
    `WIPE=${disks.every((d) => d.wipe) ? 1 : 0}`,
    DISK_LIB,
    shVar("EPH", EPHEMERAL_MOUNT),
    shVar("MARK", fstabMark(host, "ephemeral disks")),
  ].join("\n");
  const single = `resolve_device "\${DEVICES[0]}"
label=\${DEVICES[0]}
WIPE=\${WIPES[0]}
`;
  const array = `${shVar("MD", `/dev/md/${EPHEMERAL_MD_NAME}`)}
members=()
for d in "\${DEVICES[@]}"; do
  resolve_device "$d"
  members+=("$dev")
done
if [ ! -e "$MD" ]; then
  ours=1
  for i in "\${!members[@]}"; do
    probe "\${members[$i]}"
    if [ "$fs_type" != linux_raid_member ] || [ -n "$pt_type" ]; then
      ours=0
    fi
  done
  if [ "$ours" = 1 ] && mdadm --examine --brief "\${members[@]}" 2>/dev/null | grep -q "name=[^ ]*${EPHEMERAL_MD_NAME}"; then
    mdadm --assemble "$MD" "\${members[@]}"
    note "assembled the existing RAID0 $MD"
    changed=1
  else
    for i in "\${!members[@]}"; do
      probe "\${members[$i]}"
      if [ -n "$fs_type$pt_type" ]; then
        WIPE=\${WIPES[$i]} refuse_or_wipe "\${DEVICES[$i]}" "\${members[$i]}" "a member of a new RAID0 of \${DEVICES[*]}"
      fi
    done
    mdadm --create "$MD" --run --level=0 --metadata=1.2 --name=${EPHEMERAL_MD_NAME} --raid-devices="\${#members[@]}" "\${members[@]}"
    note "created RAID0 $MD from \${DEVICES[*]}"
    changed=1
  fi
  conf=/etc/mdadm/mdadm.conf
  [ -d /etc/mdadm ] || conf=/etc/mdadm.conf
  uuid=$(mdadm --detail --export "$MD" | sed -n 's/^MD_UUID=//p')
  if ! grep -qs "$uuid" "$conf"; then
    mdadm --detail --brief "$MD" >>"$conf"
    note "recorded $MD in $conf"
  fi
fi
dev=$(readlink -f "$MD")
label=$MD
`;
  const body = `probe "$dev"
if [ "$fs_type" != xfs ] || [ -n "$pt_type" ]; then
  if [ -n "$fs_type$pt_type" ]; then
    refuse_or_wipe "$label" "$dev" "a new xfs filesystem for /var/lib/kubelet and /var/lib/containerd"
  fi
  mkfs.xfs -q "$dev" </dev/null
  note "formatted $label as xfs"
  changed=1
  probe "$dev"
  if [ "$fs_type" != xfs ] || [ -z "$fs_uuid" ]; then
    fail "mkfs.xfs ran but blkid finds no xfs filesystem on $dev"
  fi
fi
num=$(devnum "$dev")
here=$(mounted_dev "$EPH")
if [ -n "$here" ] && [ "$here" != "$num" ]; then
  fail "$EPH already has another filesystem mounted (device $here): unmount it first"
fi
fstab_ensure "$MARK" "UUID=$fs_uuid $EPH xfs defaults 0 2" "$EPH"
if [ -z "$here" ]; then
  mkdir -p "$EPH"
  mount -t xfs "$dev" "$EPH"
  note "mounted $label at $EPH"
  changed=1
fi
stopped=()
stop_services() {
  local s
  [ "\${#stopped[@]}" -gt 0 ] && return 0
  command -v systemctl >/dev/null 2>&1 || return 0
  for s in kubelet containerd; do
    if systemctl is-active --quiet "$s" 2>/dev/null; then
      systemctl stop "$s"
      stopped+=("$s")
      note "stopped $s to move its directory"
    fi
  done
}
for target in ${EPHEMERAL_BINDS.join(" ")}; do
  src=$EPH/$(basename "$target")
  line="$src $target none bind,x-systemd.requires-mounts-for=$EPH 0 0"
  if [ "$(mounted_dev "$target")" = "$num" ]; then
    fstab_ensure "$MARK" "$line" "$target"
    continue
  fi
  ! mountpoint -q "$target" 2>/dev/null || fail "$target is a mount point of another filesystem: it cannot also be a bind mount of the ephemeral disk. Remove that mount (and its /etc/fstab line) first"
  if findmnt -rn -o TARGET | grep -q "^$target/"; then
    fail "$target has mounts below it (pod volumes?): drain the node and stop the kubelet before its directory can move to the ephemeral disk"
  fi
  stop_services
  mkdir -p "$src" "$target"
  if [ -z "$(ls -A "$src")" ] && [ -n "$(ls -A "$target")" ]; then
    cp -a "$target/." "$src/"
    note "copied the existing content of $target to the ephemeral disk (the original stays underneath)"
  fi
  fstab_ensure "$MARK" "$line" "$target"
  mount --bind "$src" "$target"
  note "bind-mounted $src at $target"
  changed=1
done
for s in "\${stopped[@]}"; do
  systemctl start "$s"
  note "started $s again"
done
${scriptFooter(`ephemeral storage for ${EPHEMERAL_BINDS.join(" and ")}`)}`;
  return `${header}\n${raid ? array : single}${body}`;
}

/** The layout script of one disk that is not ephemeral (ephemeral disks go together: renderEphemeral). */
export function renderDisk(host: HostSpec, disk: DiskSpec): string {
  switch (disk.use) {
    case "mount":
    case "longhorn":
      return renderMounted(host, disk);
    case "local":
      return disk.volumeMode === "Filesystem" ? renderMounted(host, disk) : renderBlockLink(host, disk);
    case "ceph":
      return renderCeph(host, disk);
    case "ephemeral":
      throw new Error(
        `disk ${disk.name} of host ${host.name} is ephemeral: render it with the host's other ephemeral disks (renderEphemeral)`,
      );
    default: {
      const unknown: never = disk;
      throw new Error(`unknown disk use ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * What deleting a disk's resource undoes: unmount and drop the program's fstab
 * line, remove the block link or the "verified" marker. Never a wipe; data
 * stays on the disk. Ephemeral disks stay mounted: the node's containers and
 * kubelet state live there.
 */
export function renderDiskDelete(host: HostSpec, disk: DiskSpec): string {
  const scope = disk.use === "ephemeral" ? `${host.name}/ephemeral` : `${host.name}/${disk.name}`;
  const head = scriptHeader(`${disk.use === "ephemeral" ? "ephemeral disks" : "disk layout"}: removal (data stays on the disk)`, scope);
  const devnum = `# devnum PATH: major:minor of the block device PATH names.
devnum() {
  printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}
`;
  if (isMountedDisk(disk)) {
    // Only this disk's own mount goes: another filesystem may be mounted at the path by now (a stack
    // whose step an older release replaced), and its fstab line may carry the same mark.
    return `${head}
${shVar("DEVICE", disk.device)}
${shVar("MOUNTPOINT", disk.mountpoint)}
${shVar("MP_FSTAB", fstabField(disk.mountpoint))}
${shVar("MARK", fstabMark(host, `disk ${disk.name} (${mountedWhat(disk, true)})`))}
${devnum}${FSTAB_REMOVE}here=$({ findmnt -rn -M "$MOUNTPOINT" -o MAJ:MIN 2>/dev/null || true; } | head -n 1 | tr -d ' ')
if [ -n "$here" ] && [ -b "$DEVICE" ] && [ "$here" != "$(devnum "$DEVICE")" ]; then
  note "$MOUNTPOINT has another filesystem mounted now (device $here, not $DEVICE): left alone, with its /etc/fstab line"
  exit 0
fi
if [ -n "$here" ]; then
  umount "$MOUNTPOINT" || fail "cannot unmount $MOUNTPOINT: something still uses it (see fuser -vm $MOUNTPOINT). Stop that, then run pulumi up again"
  note "unmounted $MOUNTPOINT (the data stays on the disk)"
fi
fstab_remove "$MARK" "$MP_FSTAB"
`;
  }
  if (isBlockLinkDisk(disk)) {
    return `${head}
${shVar("LINK", disk.linkPath)}
${shVar("DEVICE", disk.device)}
${shVar("STABLE_STATE", `${DISK_STATE_DIR}/${disk.name}.stable`)}
${shVar("LINK_STATE", `${DISK_STATE_DIR}/${disk.name}.link`)}
${devnum}stable=$(cat "$STABLE_STATE" 2>/dev/null || true)
if [ -L "$LINK" ] && [ -e "$LINK" ]; then
  for d in "$DEVICE" "$stable"; do
    if [ -n "$d" ] && [ -e "$d" ] && [ "$(devnum "$LINK")" = "$(devnum "$d")" ]; then
      rm -f "$LINK"
      note "removed $LINK (the disk itself is untouched)"
      break
    fi
  done
fi
rm -f "$STABLE_STATE" "$LINK_STATE"
`;
  }
  if (disk.use === "ceph") {
    return `${head}
${shVar("MARKER", `${DISK_STATE_DIR}/${disk.name}.ceph`)}
rm -f "$MARKER"
note "no longer tracked; the disk and any Ceph data on it are untouched"
`;
  }
  return `${head}
note "ephemeral disks stay mounted at ${EPHEMERAL_BINDS.join(" and ")}: the node's containers and kubelet state live there"
`;
}

/** The steps of a host's disk layout: one per non-ephemeral disk, one for all its ephemeral disks. */
export interface DiskStep {
  /** Suffix of the resource name: `disk-<disk name>`, or `ephemeral`. */
  key: string;
  disks: DiskSpec[];
  create: string;
  delete: string;
  /**
   * What the step acts on, for the `triggers` written when it is created (identityTriggers). Later changes
   * are ignored (remoteStepOptions): a new mountpoint or link path is an in-place update, whose create
   * moves the disk and undoes the old mount or link itself. Never script text or `wipe`.
   */
  identity: string[];
}

/**
 * The identity of one disk, as written into its step's `triggers` at creation: the disk and the place
 * its delete script undoes (the mount at its mountpoint, the link at its link path, the ceph marker of
 * its name). Changes of it are ignored afterwards (remoteStepOptions): nothing about a disk replaces its
 * step, since a replacement would run the old delete after the new create. A new mountpoint or link
 * path is an update whose create moves the disk; a device that changes to another disk is an update,
 * which refuses while the old disk still holds the place.
 */
export function diskIdentity(d: DiskSpec): string[] {
  const where = isMountedDisk(d) ? `mountpoint=${d.mountpoint}` : isBlockLinkDisk(d) ? `link=${d.linkPath}` : `use=${d.use}`;
  return [`disk=${d.name}`, where];
}

export function diskSteps(host: HostSpec): DiskStep[] {
  const steps: DiskStep[] = [];
  const ephemeral = host.disks.filter((d): d is EphemeralDisk => d.use === "ephemeral");
  for (const d of host.disks) {
    if (d.use === "ephemeral") continue;
    steps.push({
      key: `disk-${d.name}`,
      disks: [d],
      create: renderDisk(host, d),
      delete: renderDiskDelete(host, d),
      identity: diskIdentity(d),
    });
  }
  if (ephemeral.length > 0) {
    steps.push({
      key: "ephemeral",
      disks: ephemeral,
      create: renderEphemeral(host, ephemeral),
      delete: renderDiskDelete(host, ephemeral[0]),
      identity: ephemeral.flatMap(diskIdentity),
    });
  }
  return steps;
}
