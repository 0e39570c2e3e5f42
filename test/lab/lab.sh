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
  # stand-ins (systemctl, kubeadm, ...) first in PATH
  mkdir -p "$U/local/bin" "$U/local/sbin"
  if [[ -d $STANDINS ]]; then
    for n in "$STANDINS"/*; do [[ -f $n ]] && install -m 755 "$n" "$U/local/bin/${n##*/}"; done
    # the pkgs.k8s.io stand-ins, installed by the apt-get stand-in (or preinstalled at first boot)
    mkdir -p "$U/local/lib/lab/k8s"
    for n in "$STANDINS"/k8s/*; do [[ -f $n ]] && install -m 755 "$n" "$U/local/lib/lab/k8s/${n##*/}"; done
    cp "$BASE/Release.key" "$U/local/lib/lab/k8s/Release.key"
    { echo "LAB_STEP_SLEEP=${LAB_STEP_SLEEP:-0}"
      echo "LAB_CERTS_TTL_S=${LAB_CERTS_TTL_S:-7200}"; } > "$U/local/lib/lab/k8s/standins.env"
    if [[ ${LAB_K8S_PREINSTALLED:-0} == 1 ]]; then touch "$U/local/lib/lab/k8s/preinstall"; fi
    # no iSCSI in this kernel: with iscsi_tcp faked, iscsid is stood in for too
    if [[ " ${LAB_FAKE_BUILTIN_MODULES:-} " == *" iscsi_tcp "* ]]; then
      mkdir -p "$U/sbin"; install -m 755 "$STANDINS/kernel/iscsid" "$U/sbin/iscsid"
    fi
  fi
  # LAB_FRESH_ISCSI_NAMES=1: a freshly installed open-iscsi (the name is generated on first start or
  # by the program); default: the test machine's file, i.e. hosts start as cloned images
  if [[ ${LAB_FRESH_ISCSI_NAMES:-0} == 1 && -f /etc/iscsi/initiatorname.iscsi ]]; then
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

# Kubernetes packages a fresh host does not have although the test machine may (a kubectl package,
# say): their files are hidden in every host (overlay whiteouts) and their dpkg records removed,
# so the hosts' install scripts and the apt-get stand-in see a machine without them.
HIDDEN_PKGS="kubelet kubeadm kubectl cri-tools kubernetes-cni"
hide_packages() {   # HOST
  local H=$BASE/hosts/$1 pkg f d installed=()
  for pkg in $HIDDEN_PKGS; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || continue
    installed+=("$pkg")
    while read -r f; do
      [[ -f $f || -L $f ]] || continue
      f=$(readlink -f "$(dirname "$f")")/$(basename "$f")   # /bin -> /usr/bin
      d=${f#/}; d=${d%%/*}
      [[ " $OVL_DIRS " == *" $d "* ]] || continue
      mkdir -p "$H/ovl/$d/upper/$(dirname "${f#/"$d"/}")"
      mknod "$H/ovl/$d/upper/${f#/"$d"/}" c 0 0 2>/dev/null || true
    done < <(dpkg -L "$pkg" 2>/dev/null; ls /var/lib/dpkg/info/"$pkg".* /var/lib/dpkg/info/"$pkg":* 2>/dev/null)
  done
  (( ${#installed[@]} )) || return 0
  mkdir -p "$H/ovl/var/upper/lib/dpkg"
  awk -v drop=" ${installed[*]} " 'BEGIN { RS = ""; ORS = "\n\n" }
    { split($0, l, "\n"); p = l[1]; sub(/^Package: /, "", p); if (index(drop, " " p " ") == 0) print }' \
    /var/lib/dpkg/status > "$H/ovl/var/upper/lib/dpkg/status"
}

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
