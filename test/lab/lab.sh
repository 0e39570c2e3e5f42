#!/usr/bin/env bash
# lab.sh - test hosts for baremetal-k8s: Linux "hosts" on this machine, reachable over real SSH.
#
#   lab.sh up HOST[:DISK=SIZE[,DISK=SIZE...]]...   e.g. lab.sh up cp-1:vdb=1G w-1:vdb=1G,vdc=512M
#   lab.sh down                 kill everything this lab started, delete netns/veth/loops/files
#   lab.sh status               hosts, pids, ssh reachability
#   lab.sh stop HOST            hard power-off one host (all its processes die, IPs flushed, loops detached)
#   lab.sh start HOST           boot it again (its disks and overlay upper dirs are kept, /run is fresh)
#   lab.sh sshd-stop HOST       kill only the host's sshd (the host keeps running)
#   lab.sh sshd-start HOST      start the host's sshd again
#   lab.sh ssh HOST [CMD...]    ssh root@HOST with the lab's key and pinned host keys
#   lab.sh enter HOST [CMD...]  nsenter into the host (no ssh)
#   lab.sh info                 JSON: hosts, addresses, host keys, disks, key file, gateway
#
# Environment (the lab's parameters; every engineer's tests choose their own):
#   LAB_PREFIX  network-namespace / interface prefix (default bl, [a-z0-9]{1,8})
#   LAB_SUBNET  first three octets of the /24 (default 10.250.10): .1 = this machine, .11.. = hosts
#   LAB_BASE    where the lab keeps its files (default /var/tmp/bmk8s-lab/$LAB_PREFIX)
#   LAB_STANDINS  directory of stand-in tools installed into the hosts' /usr/local/bin
#                 (default: the standins/ folder next to this script)
#   LAB_FAKE_BUILTIN_MODULES  module names to list as built in although this kernel lacks them
#                 (a stand-in: modprobe then "succeeds" doing nothing; default none); with
#                 iscsi_tcp, iscsid is stood in for too (no iSCSI in this kernel)
#   LAB_FRESH_ISCSI_NAMES=1  each host gets GenerateName=yes (a fresh open-iscsi) instead of the
#                 test machine's initiator name (default: hosts start as cloned images)
#   LAB_STEP_SLEEP  seconds every kubeadm stand-in step sleeps (bring-up benchmarks; default 0)
#   LAB_K8S_PREINSTALLED=1  install the kubelet/kubeadm/kubectl stand-ins at first boot
#   LAB_PREINSTALLED="pkg ..."  packages node preparation installs that every host has from the start
#                 (a test that skips node preparation names what it relies on); default none
#   LAB_PREINSTALLED_HOSTS="HOST=pkg,pkg ..."  the same for single hosts
#
# A host = a network namespace with a veth on a bridge (the bridge lives in its own namespace
# "$LAB_PREFIX-sw"; this machine is on it via veth "$LAB_PREFIX-gw"), plus private mount, uts and
# pid namespaces over the REAL root file system: /etc /var /usr /opt /srv /mnt are copy-on-write
# overlays (writes land in hosts/HOST/ovl/*/upper), /root /home /tmp /run /dev are private. PID 1
# is a bash reaper; it starts sshd and the units enabled through the systemctl stand-in.
set -euo pipefail

PREFIX=${LAB_PREFIX:-bl}
NET=${LAB_SUBNET:-10.250.10}
[[ $PREFIX =~ ^[a-z0-9]{1,8}$ ]] || { echo "LAB_PREFIX must match [a-z0-9]{1,8}, got '$PREFIX'" >&2; exit 2; }
[[ $NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || { echo "LAB_SUBNET must be three octets like 10.250.10, got '$NET'" >&2; exit 2; }
BASE=${LAB_BASE:-/var/tmp/bmk8s-lab/$PREFIX}
SELF=$(readlink -f "$0")
STANDINS=${LAB_STANDINS:-$(dirname "$SELF")/standins}
SW=$PREFIX-sw
GW=$PREFIX-gw
OVL_DIRS="etc usr opt srv mnt var"  # copy-on-write views of the real dirs (var last: the lab lives under it)
BIND_DIRS="root home tmp"           # fresh per-host dirs

log()   { printf '[%(%T)T] lab(%s): %s\n' -1 "$PREFIX" "$*" >&2; }
die()   { log "$*"; exit 1; }
alive() { local st; [[ -r /proc/$1/stat ]] && read -r _ _ st _ < "/proc/$1/stat" 2>/dev/null && [[ $st != Z ]]; }
hosts() { awk '{print $1}' "$BASE/hosts.list" 2>/dev/null; }
ip_of() { awk -v h="$1" '$1 == h {print $2}' "$BASE/hosts.list"; }
known() { [[ -n $(ip_of "$1") ]] || die "no host '$1' in this lab (hosts: $(hosts | tr '\n' ' '))"; }
netns() { echo "$PREFIX-$1"; }
pid1()  { local p; p=$(cat "$BASE/state/$1.pid" 2>/dev/null) || return 1; pgrep -P "$p" | head -n1; }

# modules this kernel has built in, so that `modprobe NAME` succeeds inside a host (no loadable
# modules here). Names are checked against the kernel's own config.
builtin_modules() {
  local cfg line name sym
  cfg=$(zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null || true)
  while read -r name sym; do
    [[ -n $name ]] || continue
    if grep -qx "CONFIG_$sym=y" <<< "$cfg"; then echo "$name"; fi
  done <<'EOF'
overlay OVERLAY_FS
br_netfilter BRIDGE_NETFILTER
bridge BRIDGE
nf_conntrack NF_CONNTRACK
nf_nat NF_NAT
nf_tables NF_TABLES
ip_tables IP_NF_IPTABLES
iptable_filter IP_NF_FILTER
iptable_nat IP_NF_NAT
iptable_mangle IP_NF_MANGLE
ip6_tables IP6_NF_IPTABLES
xt_comment NETFILTER_XT_MATCH_COMMENT
xt_conntrack NETFILTER_XT_MATCH_CONNTRACK
xt_mark NETFILTER_XT_MARK
vxlan VXLAN
veth VETH
tun TUN
ipv6 IPV6
ext4 EXT4_FS
xfs XFS_FS
btrfs BTRFS_FS
loop BLK_DEV_LOOP
iscsi_tcp ISCSI_TCP
libiscsi SCSI_ISCSI_ATTRS
scsi_transport_iscsi SCSI_ISCSI_ATTRS
dm_mod BLK_DEV_DM
dm_crypt DM_CRYPT
dm_thin_pool DM_THIN_PROVISIONING
md_mod BLK_DEV_MD
raid0 MD_RAID0
rbd BLK_DEV_RBD
nbd BLK_DEV_NBD
ceph CEPH_FS
nfs NFS_FS
nfsv4 NFS_V4
ip_vs IP_VS
ip_vs_rr IP_VS_RR
ip_vs_wrr IP_VS_WRR
ip_vs_sh IP_VS_SH
EOF
  for line in /sys/module/*; do   # built-in modules with parameters show up here without initstate
    [[ -e $line/initstate ]] || echo "${line##*/}"
  done
  for name in ${LAB_FAKE_BUILTIN_MODULES:-}; do echo "$name"; done
}

# ------------------------------------------------------------ PID 1 of a host (inside its namespaces)
_init() {
  local h=$1 H=$BASE/hosts/$1 d n dev
  # private /dev first (paths under $BASE are still the real ones): a few real nodes, own
  # devpts/shm, this host's loop disks as /dev/vdX and /dev/disk/by-id/lab-HOST-vdX, and the
  # loop node itself so libblkid (mount UUID=..., blkid -U) finds filesystems without udev.
  mount -t tmpfs -o mode=755,size=1m "dev-$h" "$H/dev"
  for n in null zero full random urandom tty; do touch "$H/dev/$n"; mount --bind "/dev/$n" "$H/dev/$n"; done
  mkdir -p "$H/dev/pts" "$H/dev/shm" "$H/dev/disk/by-id"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 "devpts-$h" "$H/dev/pts"
  mount -t tmpfs -o mode=1777,size=64m "shm-$h" "$H/dev/shm"
  ln -s pts/ptmx "$H/dev/ptmx"; ln -s /proc/self/fd "$H/dev/fd"
  ln -s /proc/self/fd/0 "$H/dev/stdin"; ln -s /proc/self/fd/1 "$H/dev/stdout"; ln -s /proc/self/fd/2 "$H/dev/stderr"
  while read -r n dev; do
    mknod -m 660 "$H/dev/$n" b 7 "${dev#/dev/loop}"
    mknod -m 660 "$H/dev/${dev#/dev/}" b 7 "${dev#/dev/loop}"
    ln -s "../../$n" "$H/dev/disk/by-id/lab-$h-$n"
    # by-path too (VMs whose disks have no serial have only by-path names)
    mkdir -p "$H/dev/disk/by-path"; ln -s "../../$n" "$H/dev/disk/by-path/lab-$h-$n"
  done < <(cat "$H/disks" 2>/dev/null)
  for d in $BIND_DIRS; do mount --bind "$H/$d" "/$d"; done
  mount --move "$H/dev" /dev
  for d in $OVL_DIRS; do
    mount -t overlay "ovl-$PREFIX-$h-$d" -o "lowerdir=/$d,upperdir=$H/ovl/$d/upper,workdir=$H/ovl/$d/work" "/$d"
  done
  if [[ -d $BASE/packages ]]; then   # the package store, read-only, for the apt-get stand-in
    mount --bind "$BASE/packages" /usr/local/lib/lab/packages
    mount -o remount,bind,ro /usr/local/lib/lab/packages
  fi
  mount -t tmpfs -o mode=700,size=1m "hide-$h" "$BASE"   # the lab's files (keys, other hosts) are not the host's
  mount -t tmpfs -o mode=755,size=64m "run-$h" /run
  mkdir -p /run/sshd /run/lock
  hostname "$h"
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  if [[ -f /usr/local/lib/lab/k8s/preinstall ]]; then   # LAB_K8S_PREINSTALLED: as if the image had them
    apt-get install -y kubelet kubeadm kubectl > /var/log/standins-boot.log 2>&1 && rm -f /usr/local/lib/lab/k8s/preinstall
  fi
  /usr/sbin/sshd -D -E /var/log/sshd.log &
  echo $! > /run/sshd.pid
  systemctl _boot >> /var/log/standins-boot.log 2>&1 || true   # the stand-in starts enabled units
  trap 'kill -TERM -1 2>/dev/null; exit 0' TERM INT
  while :; do sleep 3600 & wait $! || true; done                 # bash as PID 1 also reaps orphans
}

# ------------------------------------------------------------ this machine's side
net_up() {
  ip netns add "$SW"
  ip -n "$SW" link set lo up
  ip -n "$SW" link add br0 type bridge
  ip -n "$SW" link set br0 up
  ip link add "$GW" type veth peer name gw netns "$SW"
  ip -n "$SW" link set gw master br0 up
  ip addr add "$NET.1/24" dev "$GW"
  ip link set "$GW" up
}

prepare_host() {   # the host's "disk": overlay upper dirs, host key, authorized_keys, loop images
  local h=$1 spec=$2 H=$BASE/hosts/$1 d E U R n sz
  for d in $OVL_DIRS; do mkdir -p "$H/ovl/$d/upper" "$H/ovl/$d/work"; done
  for d in $BIND_DIRS dev; do mkdir -p "$H/$d"; done
  chmod 1777 "$H/tmp"; E=$H/ovl/etc/upper; U=$H/ovl/usr/upper; R=$H/root
  cp /etc/skel/.bashrc /etc/skel/.profile "$R/" 2>/dev/null || true
  chmod 700 "$R"; mkdir -p "$E/ssh/sshd_config.d" "$R/.ssh"; chmod 700 "$R/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$E/ssh/ssh_host_ed25519_key"
  { echo "ListenAddress $(ip_of "$h"):22"
    echo "HostKey /etc/ssh/ssh_host_ed25519_key"
    echo "PermitRootLogin prohibit-password"
    echo "PasswordAuthentication no"
    echo "MaxStartups 100:30:200"
    echo "MaxSessions 100"; } > "$E/ssh/sshd_config.d/00-lab.conf"
  echo "$h" > "$E/hostname"
  # a fresh host has no services enabled: hide the test machine's enablements (overlay whiteouts)
  for n in /etc/systemd/system/*.wants/*; do
    [[ -e $n || -L $n ]] || continue
    mkdir -p "$E/${n#/etc/}"; rmdir "$E/${n#/etc/}"; mknod "$E/${n#/etc/}" c 0 0
  done
  { echo "127.0.0.1 localhost"
    awk '{print $2, $1}' "$BASE/hosts.list"; } > "$E/hosts"
  install -m 600 "$BASE/keys/id_ed25519.pub" "$R/.ssh/authorized_keys"
  hide_packages "$h"
  # the package store (mounted at boot) and the lab's own curl for its stand-ins, which a host without curl lacks
  mkdir -p "$U/local/lib/lab/packages" "$U/local/lib/lab/bin"
  if [[ -d $PKGS_DIR/curl/root ]]; then ln -s /usr/local/lib/lab/packages/curl/root/usr/bin/curl "$U/local/lib/lab/bin/curl"
  else ln -s /usr/bin/curl "$U/local/lib/lab/bin/curl"; fi
  # stand-ins (systemctl, kubeadm, ...) first in PATH; one that wraps a package's command (curl)
  # waits in shadow/PKG/ until the apt-get stand-in installs that package
  mkdir -p "$U/local/bin" "$U/local/sbin"
  if [[ -d $STANDINS ]]; then
    for n in "$STANDINS"/*; do
      [[ -f $n ]] || continue
      if [[ ${n##*/} == curl ]] && is_hidden "$h" curl; then
        install -D -m 755 "$n" "$U/local/lib/lab/shadow/curl/usr/local/bin/curl"
      else
        install -m 755 "$n" "$U/local/bin/${n##*/}"
      fi
    done
    # the pkgs.k8s.io stand-ins, installed by the apt-get stand-in (or preinstalled at first boot)
    mkdir -p "$U/local/lib/lab/k8s"
    for n in "$STANDINS"/k8s/*; do [[ -f $n ]] && install -m 755 "$n" "$U/local/lib/lab/k8s/${n##*/}"; done
    cp "$BASE/Release.key" "$U/local/lib/lab/k8s/Release.key"
    { echo "LAB_STEP_SLEEP=${LAB_STEP_SLEEP:-0}"
      echo "LAB_CERTS_TTL_S=${LAB_CERTS_TTL_S:-7200}"; } > "$U/local/lib/lab/k8s/standins.env"
    if [[ ${LAB_K8S_PREINSTALLED:-0} == 1 ]]; then touch "$U/local/lib/lab/k8s/preinstall"; fi
    # no iSCSI in this kernel: with iscsi_tcp faked, iscsid is stood in for too
    if [[ " ${LAB_FAKE_BUILTIN_MODULES:-} " == *" iscsi_tcp "* ]]; then
      if is_hidden "$h" open-iscsi; then install -D -m 755 "$STANDINS/kernel/iscsid" "$U/local/lib/lab/shadow/open-iscsi/usr/sbin/iscsid"
      else mkdir -p "$U/sbin"; install -m 755 "$STANDINS/kernel/iscsid" "$U/sbin/iscsid"; fi
    fi
  fi
  # LAB_FRESH_ISCSI_NAMES=1: a freshly installed open-iscsi (the name is generated on first start or
  # by the program); default: the test machine's file, i.e. hosts start as cloned images
  # (a host without open-iscsi gets a fresh name when the apt-get stand-in installs it, as from Debian's postinst)
  if [[ ${LAB_FRESH_ISCSI_NAMES:-0} == 1 && -f /etc/iscsi/initiatorname.iscsi ]] && ! is_hidden "$h" open-iscsi; then
    mkdir -p "$E/iscsi"; echo "GenerateName=yes" > "$E/iscsi/initiatorname.iscsi"; chmod 600 "$E/iscsi/initiatorname.iscsi"
  fi
  # modules.builtin: modprobe of a built-in module succeeds
  mkdir -p "$U/lib/modules"; cp -r "$BASE/modules/lib/modules/$(uname -r)" "$U/lib/modules/"
  # disks: "vdb=1G,vdc=512M" -> sparse images, attached at boot
  : > "$H/disk.list"
  if [[ -n $spec ]]; then
    local IFS=,
    for d in $spec; do
      n=${d%%=*}; sz=${d#*=}
      [[ $n =~ ^[a-z0-9]+$ ]] || die "$h: disk name '$n' must match [a-z0-9]+"
      truncate -s "$sz" "$H/$n.img"; echo "$n" >> "$H/disk.list"
    done
  fi
}

attach_disks() {   # loop-attach the host's images; "vdb /dev/loop3" lines in hosts/HOST/disks
  local H=$BASE/hosts/$1 n
  : > "$H/disks"
  while read -r n; do
    [[ -n $n ]] && echo "$n $(losetup -f --show "$H/$n.img")" >> "$H/disks"
  done < "$H/disk.list"
}

start_host() {
  local h=$1 ip ns i; ip=$(ip_of "$h"); ns=$(netns "$h")
  if [[ -f $BASE/state/$h.pid ]] && alive "$(cat "$BASE/state/$h.pid")"; then log "$h already running"; return 0; fi
  if ip netns list | grep -qx "$ns\( .*\)\?"; then   # reboot: only the configured address
    ip -n "$ns" addr flush dev eth0
  else
    i=$(awk -v h="$h" '$1 == h {print NR}' "$BASE/hosts.list")
    ip netns add "$ns"
    ip link add eth0 netns "$ns" type veth peer name "v$i" netns "$SW"
    ip -n "$SW" link set "v$i" master br0 up
    ip -n "$ns" link set lo up
  fi
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  attach_disks "$h"
  setsid ip netns exec "$ns" unshare --mount --uts --pid --fork --kill-child \
    --mount-proc --propagation private "$SELF" _init "$h" \
    > "$BASE/state/$h.log" 2>&1 < /dev/null &
  echo $! > "$BASE/state/$h.pid"
}

wait_ssh() {
  local h t0=$SECONDS
  for h in "$@"; do
    until timeout 1 bash -c "</dev/tcp/$(ip_of "$h")/22" 2>/dev/null; do
      (( SECONDS - t0 < 30 )) || { log "$h: sshd not up"; tail "$BASE/state/$h.log" >&2; return 1; }
      sleep 0.05
    done
  done
}

stop_host() {   # power cut: SIGKILL the host's PID 1 -> the kernel kills its whole pid namespace
  local h=$1 f=$BASE/state/$1.pid p c i ns; ns=$(netns "$h")
  if [[ -f $f ]]; then
    p=$(cat "$f")
    if [[ -r /proc/$p/cmdline ]] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q "_init $h "; then
      c=$(pgrep -P "$p" | head -n1 || true)
      if [[ -n $c ]]; then kill -KILL "$c" 2>/dev/null || true; fi
      kill -KILL "$p" 2>/dev/null || true
      for ((i = 0; i < 500; i++)); do
        alive "$p" || { [[ -n $c ]] && alive "$c"; } || break; sleep 0.02
      done
    fi
    rm -f "$f"
  fi
  ip -n "$ns" addr flush dev eth0 2>/dev/null || true   # powered off: no IPs, no VIPs
  ip -n "$ns" link set eth0 down 2>/dev/null || true
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  if [[ -f $BASE/hosts/$h/disks ]]; then
    while read -r _ p; do
      for ((i = 0; i < 50; i++)); do losetup -d "$p" 2>/dev/null && break; sleep 0.05; done
    done < "$BASE/hosts/$h/disks"
    : > "$BASE/hosts/$h/disks"
  fi
}

write_client_cfg() {
  : > "$BASE/known_hosts"; : > "$BASE/ssh_config"
  local h ip
  while read -r h ip _; do
    echo "$ip $(cut -d' ' -f1,2 "$BASE/hosts/$h/ovl/etc/upper/ssh/ssh_host_ed25519_key.pub")" >> "$BASE/known_hosts"
    printf 'Host %s\n  HostName %s\n  HostKeyAlias %s\n' "$h" "$ip" "$ip" >> "$BASE/ssh_config"
  done < "$BASE/hosts.list"
  cat >> "$BASE/ssh_config" <<EOF
Host *
  User root
  IdentityFile $BASE/keys/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $BASE/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
EOF
}

# Packages a fresh host does not have although the test machine may. KUBE_PKGS (pkgs.k8s.io) are
# stood in for by the apt-get stand-in. PRODUCT_PKGS are the distribution packages node preparation
# installs (components/host/render-node-prep.ts: containerd, keepalived, curl, gpg and the storage
# tools; runc and cryptsetup-bin come as dependencies): until the apt-get stand-in installs one, a
# host has none of its files and dpkg does not list it, so a package node preparation forgets stays
# missing and the step that needs it fails. A test that skips node preparation names what the image
# brings (LAB_PREINSTALLED, LAB_PREINSTALLED_HOSTS). Base packages every Debian image has
# (e2fsprogs, ca-certificates) stay visible.
KUBE_PKGS="kubelet kubeadm kubectl cri-tools kubernetes-cni"
PRODUCT_PKGS="keepalived containerd runc curl gpg open-iscsi nfs-common cryptsetup cryptsetup-bin dmsetup lvm2 xfsprogs mdadm"
PKGS_DIR=$BASE/packages   # per lab: PKG/{files,status,depends,root/,hide/}; bind-mounted read-only into every host

# Once per lab: for every package above that the test machine has, its files (real paths), dpkg
# record and dependencies; PRODUCT_PKGS also get their files (hard links) for the apt-get stand-in
# to install; every package a whiteout tree (hide/<dir>/upper/...) copied into the hosts that lack it.
make_packages() {
  # One python process (a spawn per file, as mknod in bash, takes half a minute on a loaded machine):
  # per package the real paths (/sbin/lvm -> /usr/sbin/lvm) of its files and symlinks in the overlaid
  # dirs, its dpkg record and dependencies, a whiteout of each file under hide/<dir>/upper/ (directories
  # with the real ones' modes: an upper directory's mode is what a host sees), and for PRODUCT_PKGS the
  # files themselves under root/ (hard links, or copies across file systems).
  python3 - "$OVL_DIRS" "$KUBE_PKGS" "$PRODUCT_PKGS" "$PKGS_DIR" <<'PY'
import glob, os, re, shutil, stat, sys
ovl, kube, product = (a.split() for a in sys.argv[1:4])
store = sys.argv[4]
records = {}
for stanza in open("/var/lib/dpkg/status", encoding="utf-8", errors="surrogateescape").read().split("\n\n"):
    m = re.match(r"Package: (\S+)\n", stanza)
    if m and re.search(r"^Status: install ok installed$", stanza, re.M):
        records[m.group(1)] = stanza.strip("\n") + "\n\n"

def field(stanza, name):
    m = re.search(r"^" + name + r": (.*(?:\n .*)*)", stanza, re.M)
    return m.group(1) if m else ""

def mkparents(base, real, parts):
    cur = base
    os.makedirs(cur, exist_ok=True)
    for part in parts:
        cur, real = os.path.join(cur, part), os.path.join(real, part)
        if not os.path.isdir(cur):
            os.mkdir(cur)
            st = os.stat(real)
            os.chmod(cur, stat.S_IMODE(st.st_mode))
            os.chown(cur, st.st_uid, st.st_gid)

for pkg in kube + product:
    if pkg not in records:
        continue
    P = os.path.join(store, pkg)
    os.makedirs(os.path.join(P, "hide"), exist_ok=True)
    info = sorted(glob.glob(f"/var/lib/dpkg/info/{pkg}.*") + glob.glob(f"/var/lib/dpkg/info/{pkg}:*"))
    listed = []
    for lst in (i for i in info if i.endswith(".list")):
        listed += open(lst, encoding="utf-8", errors="surrogateescape").read().split("\n")
    # a freshly installed open-iscsi has no initiator name yet (its postinst makes one): hidden, not stored
    extra = ["/etc/iscsi/initiatorname.iscsi"] if pkg == "open-iscsi" else []
    files = set()
    for f in listed + info + extra:
        if not f.startswith("/") or not (os.path.isfile(f) or os.path.islink(f)):
            continue
        f = os.path.join(os.path.realpath(os.path.dirname(f)), os.path.basename(f))
        top, _, rest = f[1:].partition("/")
        if top not in ovl or not rest:
            continue
        mkparents(os.path.join(P, "hide", top, "upper"), "/" + top, rest.split("/")[:-1])
        w = os.path.join(P, "hide", top, "upper", rest)
        if not os.path.lexists(w):
            os.mknod(w, stat.S_IFCHR, os.makedev(0, 0))
        if f not in extra:
            files.add(f)
    with open(os.path.join(P, "files"), "w") as fh:
        fh.write("".join(f + "\n" for f in sorted(files)))
    with open(os.path.join(P, "status"), "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(records[pkg])
    deps = set()
    for d in re.split(r"[,|]", field(records[pkg], "Pre-Depends") + "," + field(records[pkg], "Depends")):
        d = re.sub(r"\(.*?\)|:any|\s", "", d)
        if d:
            deps.add(d)
    with open(os.path.join(P, "depends"), "w") as fh:
        fh.write("".join(d + "\n" for d in sorted(deps)))
    if pkg in product:
        for f in sorted(files):
            dst = os.path.join(P, "root", f[1:])
            mkparents(os.path.join(P, "root"), "/", f[1:].split("/")[:-1])
            if os.path.islink(f):
                os.symlink(os.readlink(f), dst)
            else:
                try:
                    os.link(f, dst)
                except OSError:
                    shutil.copy2(f, dst)
PY
}

# The product packages HOST has from the start: LAB_PREINSTALLED (every host), LAB_PREINSTALLED_HOSTS
# ("HOST=pkg,pkg ..."), with their dependencies among PRODUCT_PKGS (an image with containerd has runc).
preinstalled() {   # HOST -> one package a line
  local h=$1 e p list=${LAB_PREINSTALLED:-} todo=() seen=" "
  for e in ${LAB_PREINSTALLED_HOSTS:-}; do [[ ${e%%=*} == "$h" ]] && list+=" ${e#*=}"; done
  read -ra todo <<< "${list//,/ }"
  while (( ${#todo[@]} )); do
    p=${todo[0]}; todo=("${todo[@]:1}")
    [[ $seen == *" $p "* ]] && continue
    seen+="$p "; echo "$p"
    if [[ -f $PKGS_DIR/$p/depends ]]; then
      while read -r e; do if [[ " $PRODUCT_PKGS " == *" $e "* ]]; then todo+=("$e"); fi; done < "$PKGS_DIR/$p/depends"
    fi
  done
  return 0
}

check_preinstalled() {   # names must be product packages the test machine has
  local e p
  for p in ${LAB_PREINSTALLED:-} $(for e in ${LAB_PREINSTALLED_HOSTS:-}; do echo "${e#*=}" | tr , ' '; done); do
    [[ " $PRODUCT_PKGS " == *" $p "* ]] || die "preinstalled package '$p' is not one node preparation installs (known: $PRODUCT_PKGS)"
    [[ -d $PKGS_DIR/$p ]] || die "preinstalled package '$p' is not installed on this machine (.ci/run installs it)"
  done
}

hide_packages() {   # HOST: whiteouts of every package it lacks, and dpkg's status without them
  local h=$1 H=$BASE/hosts/$1 pkg pre hidden=()
  pre=" $(preinstalled "$h" | tr '\n' ' ') "
  for pkg in $KUBE_PKGS $PRODUCT_PKGS; do
    [[ -d $PKGS_DIR/$pkg && $pre != *" $pkg "* ]] || continue
    hidden+=("$pkg")
    cp -a "$PKGS_DIR/$pkg/hide/." "$H/ovl/"
  done
  printf '%s\n' "${hidden[@]}" > "$H/hidden-packages"
  (( ${#hidden[@]} )) || return 0
  mkdir -p "$H/ovl/var/upper/lib/dpkg"
  awk -v drop=" ${hidden[*]} " 'BEGIN { RS = ""; ORS = "\n\n" }
    { split($0, l, "\n"); p = l[1]; sub(/^Package: /, "", p); if (index(drop, " " p " ") == 0) print }' \
    /var/lib/dpkg/status > "$H/ovl/var/upper/lib/dpkg/status"
}
is_hidden() { grep -qx "$2" "$BASE/hosts/$1/hidden-packages" 2>/dev/null; }   # HOST PKG

make_modules() {   # modules.builtin + depmod's index, copied into every host's /usr/lib/modules
  local kv; kv=$(uname -r)
  mkdir -p "$BASE/modules/lib/modules/$kv"
  builtin_modules | sort -u | sed 's|.*|kernel/lab/&.ko|' > "$BASE/modules/lib/modules/$kv/modules.builtin"
  depmod -b "$BASE/modules" "$kv" 2>/dev/null || true
}

make_release_key() {   # what the curl stand-in serves for pkgs.k8s.io/.../Release.key
  local g; g=$(mktemp -d)
  if command -v gpg > /dev/null &&
    GNUPGHOME=$g gpg --batch -q --passphrase '' --quick-gen-key "baremetal-k8s lab stand-in pkgs.k8s.io" ed25519 sign never 2> /dev/null &&
    GNUPGHOME=$g gpg --batch -q --armor --export > "$BASE/Release.key" 2> /dev/null; then :
  else
    printf '%s\n' '-----BEGIN PGP PUBLIC KEY BLOCK-----' '' 'bGFiIHN0YW5kLWluIChubyBncGcgb24gdGhlIHRlc3QgbWFjaGluZSk=' '=AAAA' '-----END PGP PUBLIC KEY BLOCK-----' > "$BASE/Release.key"
  fi
  gpgconf --homedir "$g" --kill all 2> /dev/null || true
  rm -rf "$g"
}

cmd_up() {
  local t0 arg h spec i=0; t0=$(date +%s.%N)
  (( $# > 0 )) || die "usage: lab.sh up HOST[:DISK=SIZE,...]..."
  (( $# <= 200 )) || die "at most 200 hosts"
  if ip netns list | grep -q "^$SW\b"; then die "already up (lab.sh down first)"; fi
  rm -rf "$BASE"; mkdir -p "$BASE/keys" "$BASE/state" "$BASE/hosts"
  : > "$BASE/hosts.list"
  for arg in "$@"; do
    h=${arg%%:*}; i=$((i + 1))
    [[ $h =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "host name '$h' must match [a-z0-9][a-z0-9-]*"
    [[ -z $(ip_of "$h") ]] || die "host '$h' given twice"
    echo "$h $NET.$((10 + i))" >> "$BASE/hosts.list"
  done
  ssh-keygen -q -t ed25519 -N '' -C "bmk8s-lab-$PREFIX" -f "$BASE/keys/id_ed25519"
  make_release_key
  make_modules
  make_packages
  check_preinstalled
  net_up
  for arg in "$@"; do
    h=${arg%%:*}; spec=""; [[ $arg == *:* ]] && spec=${arg#*:}
    mkdir -p "$BASE/hosts/$h"; prepare_host "$h" "$spec"
  done
  write_client_cfg
  for h in $(hosts); do start_host "$h"; done
  # shellcheck disable=SC2046
  wait_ssh $(hosts)
  log "up: $# hosts in $(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)") s; lab.sh ssh $(hosts | head -n1)"
}

cmd_down() {
  local t0 f p h; t0=$(date +%s.%N)
  for h in $(hosts); do stop_host "$h" & done; wait
  for f in $(ip netns list | awk -v p="$PREFIX-" 'index($1, p) == 1 {print $1}'); do
    for p in $(ip netns pids "$f"); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$f" 2>/dev/null || true
  done
  ip link del "$GW" 2>/dev/null || true
  losetup -l -n -O NAME,BACK-FILE | awk -v b="$BASE/hosts/" 'index($2, b) == 1 {print $1}' |
    while read -r f; do losetup -d "$f" || true; done        # safety net for leaked loops
  rm -rf "$BASE"
  log "down in $(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"
}

cmd_status() {
  local h ip
  while read -r h ip _; do
    printf '%-10s %-14s pid=%-7s ' "$h" "$ip" "$(cat "$BASE/state/$h.pid" 2>/dev/null || echo -)"
    ssh -n -F "$BASE/ssh_config" "$h" 'echo "$(hostname) up"' 2>&1 || true
  done < "$BASE/hosts.list"
}

cmd_info() {   # JSON for lab.ts
  local h ip first=1 n dev
  printf '{"prefix":"%s","subnet":"%s","gateway":"%s.1","base":"%s","keyFile":"%s/keys/id_ed25519","hosts":[' \
    "$PREFIX" "$NET" "$NET" "$BASE" "$BASE"
  while read -r h ip _; do
    (( first )) || printf ','; first=0
    printf '{"name":"%s","address":"%s","hostKey":"%s","disks":{' "$h" "$ip" \
      "$(cut -d' ' -f1,2 "$BASE/hosts/$h/ovl/etc/upper/ssh/ssh_host_ed25519_key.pub")"
    local df=1
    while read -r n; do
      [[ -n $n ]] || continue
      (( df )) || printf ','; df=0
      dev=$(awk -v n="$n" '$1 == n {print $2}' "$BASE/hosts/$h/disks" 2>/dev/null)
      printf '"%s":{"device":"/dev/%s","byId":"/dev/disk/by-id/lab-%s-%s","loop":"%s"}' "$n" "$n" "$h" "$n" "$dev"
    done < "$BASE/hosts/$h/disk.list"
    printf '}}'
  done < "$BASE/hosts.list"
  printf ']}\n'
}

sshd_ctl() {   # stop/start only the sshd of a running host
  local h=$1 what=$2 c; c=$(pid1 "$h") || die "$h is not running"
  [[ -n $c ]] || die "$h is not running"
  if [[ $what == stop ]]; then
    # shellcheck disable=SC2016  # expanded inside the host
    nsenter -t "$c" -a -- sh -c 'kill -KILL $(cat /run/sshd.pid) 2>/dev/null; pkill -KILL -x sshd; true'
  else
    nsenter -t "$c" -a -- sh -c '/usr/sbin/sshd -E /var/log/sshd.log -o PidFile=/run/sshd.pid'
    wait_ssh "$h"
  fi
}

case ${1:-} in
  _init)  shift; _init "$@" ;;
  up)     shift; cmd_up "$@" ;;
  down)   cmd_down ;;
  status) cmd_status ;;
  info)   cmd_info ;;
  stop)   known "$2"; stop_host "$2" ;;
  start)  known "$2"; start_host "$2"; wait_ssh "$2" ;;
  sshd-stop)  known "$2"; sshd_ctl "$2" stop ;;
  sshd-start) known "$2"; sshd_ctl "$2" start ;;
  ssh)    shift; exec ssh -F "$BASE/ssh_config" "$@" ;;
  enter)  known "$2"; h=$2; shift 2; exec nsenter -t "$(pid1 "$h")" -a -- "${@:-bash}" ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
