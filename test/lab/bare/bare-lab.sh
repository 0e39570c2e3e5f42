#!/usr/bin/env bash
# bare-lab.sh - bare lab hosts: each a freshly installed Debian 12 server (rootfs.sh) booted with real
# systemd as PID 1 (systemd-nspawn --boot) on the lab bridge, reachable over real SSH, installing packages
# with the real apt from the mirrors this lab serves on its gateway.
#
#   bare-lab.sh up HOST[:DISK=SIZE[,DISK=SIZE...]]...   boot the hosts (same conventions as lab.sh)
#   bare-lab.sh down                 power off the hosts, stop the mirrors, delete netns/veth/loops/files
#   bare-lab.sh info                 JSON: hosts, addresses, host keys, disks, key file, gateway, mirrors
#   bare-lab.sh ssh HOST [CMD...]    ssh root@HOST with the lab's key and pinned host keys
#   bare-lab.sh enter HOST [CMD...]  a shell in the host's namespaces (no ssh)
#
# Environment: LAB_PREFIX, LAB_SUBNET, LAB_BASE as lab.sh (defaults bb, 10.250.60, /var/tmp/bmk8s-lab/$LAB_PREFIX);
#   LAB_K8S_VERSION (default 1.33.4) and LAB_TOOLS_BIN (default: $BMK8S_TOOLS_CACHE/bin): the Kubernetes
#   repository's packages; LAB_MIRROR_PORT (default 8080): the mirrors' HTTP port on the gateway address.
#
# A host: a network namespace with a veth on the lab bridge (as lab.sh), and `systemd-nspawn --boot` of a
# copy-on-write overlay of the cached root (hosts/HOST/upper holds what the host wrote) in that namespace,
# in a mount namespace of its own. What the installer would have made per machine is written into the upper
# layer before the first boot: host key, machine id, hostname, /etc/hosts, root's authorized key, apt's
# sources pointing at the lab's Debian mirror and that mirror's key in /etc/apt/trusted.gpg.d (an internal
# mirror's key, as an OS installed from a local mirror has it). One lab shim: /usr/lib/modules/KVER/
# modules.builtin lists the modules this kernel has built in (it has no loadable modules and no module
# tree), so `modprobe overlay` succeeds as on a stock kernel. Nothing else differs from the installed OS.
set -euo pipefail

PREFIX=${LAB_PREFIX:-bb}
NET=${LAB_SUBNET:-10.250.60}
[[ $PREFIX =~ ^[a-z0-9]{1,8}$ ]] || { echo "LAB_PREFIX must match [a-z0-9]{1,8}, got '$PREFIX'" >&2; exit 2; }
[[ $NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || { echo "LAB_SUBNET must be three octets like 10.250.60, got '$NET'" >&2; exit 2; }
BASE=${LAB_BASE:-/var/tmp/bmk8s-lab/$PREFIX}
SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
SW=$PREFIX-sw
GW=$PREFIX-gw
PORT=${LAB_MIRROR_PORT:-8080}
K8S_VERSION=${LAB_K8S_VERSION:-1.33.4}
TOOLS_BIN=${LAB_TOOLS_BIN:-${BMK8S_TOOLS_CACHE:-/var/cache/baremetal-k8s/tools}/bin}

log()   { printf '[%(%T)T] bare-lab(%s): %s\n' -1 "$PREFIX" "$*" >&2; }
die()   { log "$*"; exit 1; }
alive() { local st; [[ -r /proc/$1/stat ]] && read -r _ _ st _ < "/proc/$1/stat" 2>/dev/null && [[ $st != Z ]]; }
hosts() { awk '{print $1}' "$BASE/hosts.list" 2>/dev/null; }
ip_of() { awk -v h="$1" '$1 == h {print $2}' "$BASE/hosts.list"; }
known() { [[ -n $(ip_of "$1") ]] || die "no host '$1' in this lab (hosts: $(hosts | tr '\n' ' '))"; }
netns() { echo "$PREFIX-$1"; }
cgname() { echo "bmk8s-$PREFIX-$1"; }
# the host's PID 1 (systemd): the child of systemd-nspawn
pid1()  { local p; p=$(cat "$BASE/state/$1.pid" 2>/dev/null) || return 1; pgrep -P "$p" | head -n1; }

# modules this kernel has built in (its config says =y), for the modules.builtin shim
builtin_modules() {
  local cfg name sym m
  cfg=$(zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null || true)
  while read -r name sym; do
    if grep -qx "CONFIG_$sym=y" <<< "$cfg"; then echo "$name"; fi
  done <<'LIST'
overlay OVERLAY_FS
br_netfilter BRIDGE_NETFILTER
bridge BRIDGE
nf_conntrack NF_CONNTRACK
nf_nat NF_NAT
nf_tables NF_TABLES
ip_tables IP_NF_IPTABLES
iptable_filter IP_NF_FILTER
iptable_nat IP_NF_NAT
ip6_tables IP6_NF_IPTABLES
veth VETH
vxlan VXLAN
ext4 EXT4_FS
xfs XFS_FS
loop BLK_DEV_LOOP
iscsi_tcp ISCSI_TCP
dm_mod BLK_DEV_DM
md_mod BLK_DEV_MD
raid0 MD_RAID0
nfs NFS_FS
rbd BLK_DEV_RBD
LIST
  for m in /sys/module/*; do [[ -e $m/initstate ]] || echo "${m##*/}"; done
}

# ------------------------------------------------------------ inside the host's own mount namespace
_nspawn() {
  local h=$1 H=$BASE/hosts/$1 c n dev args=()
  mount -t overlay "bare-$PREFIX-$h" -o "lowerdir=$(cat "$BASE/rootfs"),upperdir=$H/upper,workdir=$H/work" "$H/merged"
  mount -t tmpfs "nspawn-rt-$PREFIX-$h" /run/systemd       # nspawn's runtime files, private to this host
  for c in systemd unified; do                               # a cgroup of its own (nspawn makes payload/ in it)
    [[ -d /sys/fs/cgroup/$c ]] || continue
    mkdir -p "/sys/fs/cgroup/$c/$(cgname "$h")"; echo $$ > "/sys/fs/cgroup/$c/$(cgname "$h")/cgroup.procs"
  done
  while read -r n dev; do   # the host's disks: /dev/vdX, its loop node (libblkid finds filesystems by it), by-id/by-path names
    args+=("--bind=$dev:/dev/$n" "--bind=$dev" "--bind=$dev:/dev/disk/by-id/lab-$h-$n" "--bind=$dev:/dev/disk/by-path/lab-$h-$n")
  done < <(cat "$H/disks" 2>/dev/null)
  # /proc/sys/net writable (per network namespace: the host's own sysctls stay as they are); the rest of /proc/sys read-only
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network exec systemd-nspawn -q --register=no --keep-unit --boot -D "$H/merged" -M "$h" --hostname="$h" \
    --network-namespace-path="/run/netns/$(netns "$h")" --capability=CAP_NET_ADMIN \
    --console=read-only "${args[@]}"
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

mirrors_up() {   # the repositories, served over HTTP on the gateway address only
  local k8s debian
  k8s=$("$HERE/k8s-repo.sh" "$K8S_VERSION" "$TOOLS_BIN")
  debian=$("$HERE/debian-mirror.sh" "$K8S_VERSION" "$TOOLS_BIN")
  # the same Debian mirror under two names: os/debian is where the hosts' OS was installed from (their own
  # /etc/apt/sources.list), debian is what cluster.packageMirrors.distribution names; apt's "Get:" lines and
  # this server's log tell which one a run used
  mkdir -p "$BASE/www/os"
  ln -sfn "$debian/debian" "$BASE/www/debian"
  ln -sfn "$debian/debian" "$BASE/www/os/debian"
  ln -sfn "$k8s" "$BASE/www/kubernetes"
  echo "$debian" > "$BASE/debian-mirror"
  setsid python3 -m http.server --bind "$NET.1" --directory "$BASE/www" "$PORT" > "$BASE/state/http.log" 2>&1 < /dev/null &
  echo $! > "$BASE/state/http.pid"
  local i
  for ((i = 0; i < 100; i++)); do
    timeout 1 bash -c "</dev/tcp/$NET.1/$PORT" 2>/dev/null && return 0
    sleep 0.05
  done
  die "the mirrors' HTTP server did not start on $NET.1:$PORT: $(cat "$BASE/state/http.log")"
}

prepare_host() {   # what the installer writes per machine, into the host's upper layer
  local h=$1 spec=$2 H=$BASE/hosts/$1 E R d n sz kv debian
  mkdir -p "$H/upper" "$H/work" "$H/merged"
  E=$H/upper/etc; R=$H/upper/root
  mkdir -p "$E/ssh/sshd_config.d" "$R/.ssh" "$E/apt/trusted.gpg.d"; chmod 700 "$R" "$R/.ssh"
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$E/machine-id"; echo >> "$E/machine-id"
  ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$E/ssh/ssh_host_ed25519_key"
  { echo "HostKey /etc/ssh/ssh_host_ed25519_key"
    echo "PermitRootLogin prohibit-password"
    echo "PasswordAuthentication no"; } > "$E/ssh/sshd_config.d/00-lab.conf"
  echo "$h" > "$E/hostname"
  { echo "127.0.0.1 localhost"
    echo "127.0.1.1 $h"
    awk '{print $2, $1}' "$BASE/hosts.list"; } > "$E/hosts"
  install -m 600 "$BASE/keys/id_ed25519.pub" "$R/.ssh/authorized_keys"
  # apt: the OS was installed from the lab's mirror, whose key it trusts
  echo "deb http://$NET.1:$PORT/os/debian bookworm main" > "$E/apt/sources.list"
  debian=$(cat "$BASE/debian-mirror")
  install -m 644 "$debian/lab-debian-mirror.gpg" "$E/apt/trusted.gpg.d/baremetal-k8s-lab-mirror.gpg"
  # lab shim: modules.builtin (this kernel has no module tree)
  kv=$(uname -r); mkdir -p "$H/upper/usr/lib/modules/$kv"
  builtin_modules | sort -u | sed 's|.*|kernel/lab/&.ko|' > "$H/upper/usr/lib/modules/$kv/modules.builtin"
  depmod -b "$H/upper/usr" "$kv" 2> /dev/null || true   # kmod's modprobe reads the index (modules.builtin.bin)
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

attach_disks() {
  local H=$BASE/hosts/$1 n
  : > "$H/disks"
  while read -r n; do
    [[ -n $n ]] && echo "$n $(losetup -f --show "$H/$n.img")" >> "$H/disks"
  done < "$H/disk.list"
}

start_host() {
  local h=$1 ip ns i; ip=$(ip_of "$h"); ns=$(netns "$h")
  if [[ -f $BASE/state/$h.pid ]] && alive "$(cat "$BASE/state/$h.pid")"; then log "$h already running"; return 0; fi
  if ip netns list | grep -qx "$ns\( .*\)\?"; then
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
  date +%s.%N > "$BASE/state/$h.started"
  setsid unshare --mount --propagation private "$SELF" _nspawn "$h" > "$BASE/state/$h.log" 2>&1 < /dev/null &
  echo $! > "$BASE/state/$h.pid"
}

wait_ssh() {   # sshd accepting a login (the ssh unit started), per host; the times go to state/HOST.ready
  local h t0=$SECONDS
  for h in "$@"; do
    until ssh -n -F "$BASE/ssh_config" -o ConnectTimeout=1 "$h" true 2>/dev/null; do
      (( SECONDS - t0 < 60 )) || { log "$h: no ssh login after 60 s"; tail -n 30 "$BASE/state/$h.log" >&2; return 1; }
      sleep 0.1
    done
    printf '%.3f\n' "$(echo "$(date +%s.%N) - $(cat "$BASE/state/$h.started")" | bc)" > "$BASE/state/$h.ready"   # 0.950, never bc's .950 (not JSON)
  done
}

stop_host() {   # power cut: SIGKILL to the host's systemd kills its whole pid namespace, nspawn then exits
  local h=$1 f=$BASE/state/$1.pid p c i ns; ns=$(netns "$h")
  if [[ -f $f ]]; then
    p=$(cat "$f")
    if [[ -r /proc/$p/cmdline ]] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -qE -- "(_nspawn $h |-M $h )"; then
      c=$(pgrep -P "$p" | head -n1 || true)
      kill -KILL ${c:+"$c"} 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
      for ((i = 0; i < 200; i++)); do alive "$p" || break; sleep 0.05; done
      kill -KILL "$p" 2>/dev/null || true
    fi
    rm -f "$f"
  fi
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  for c in systemd unified; do
    if [[ -d /sys/fs/cgroup/$c/$(cgname "$h") ]]; then
      find "/sys/fs/cgroup/$c/$(cgname "$h")" -name cgroup.procs -exec cat {} + 2>/dev/null |
        while read -r p; do kill -KILL "$p" 2>/dev/null || true; done
      for ((i = 0; i < 50; i++)); do
        find "/sys/fs/cgroup/$c/$(cgname "$h")" -depth -type d -exec rmdir {} + 2>/dev/null && break; sleep 0.05
      done
    fi
  done
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
    echo "$ip $(cut -d' ' -f1,2 "$BASE/hosts/$h/upper/etc/ssh/ssh_host_ed25519_key.pub")" >> "$BASE/known_hosts"
    printf 'Host %s\n  HostName %s\n  HostKeyAlias %s\n' "$h" "$ip" "$ip" >> "$BASE/ssh_config"
  done < "$BASE/hosts.list"
  cat >> "$BASE/ssh_config" <<CFG
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
CFG
}

cmd_up() {
  local t0 arg h spec i=0 rootfs; t0=$(date +%s.%N)
  (( $# > 0 )) || die "usage: bare-lab.sh up HOST[:DISK=SIZE,...]..."
  command -v systemd-nspawn > /dev/null || die "systemd-nspawn is missing: apt-get install systemd-container (.ci/run installs it)"
  if ip netns list | grep -q "^$SW\b"; then die "already up (bare-lab.sh down first)"; fi
  rm -rf "$BASE"; mkdir -p "$BASE/keys" "$BASE/state" "$BASE/hosts"
  : > "$BASE/hosts.list"
  for arg in "$@"; do
    h=${arg%%:*}; i=$((i + 1))
    [[ $h =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "host name '$h' must match [a-z0-9][a-z0-9-]*"
    [[ -z $(ip_of "$h") ]] || die "host '$h' given twice"
    echo "$h $NET.$((10 + i))" >> "$BASE/hosts.list"
  done
  rootfs=$("$HERE/rootfs.sh"); echo "$rootfs" > "$BASE/rootfs"
  ssh-keygen -q -t ed25519 -N '' -C "bmk8s-lab-$PREFIX" -f "$BASE/keys/id_ed25519"
  net_up
  mirrors_up
  for arg in "$@"; do
    h=${arg%%:*}; spec=""; [[ $arg == *:* ]] && spec=${arg#*:}
    mkdir -p "$BASE/hosts/$h"; prepare_host "$h" "$spec"
  done
  write_client_cfg
  for h in $(hosts); do start_host "$h"; done
  # shellcheck disable=SC2046
  wait_ssh $(hosts)
  log "up: $# bare hosts in $(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)") s (ssh login after boot: $(for h in $(hosts); do printf '%s %.2f s ' "$h" "$(cat "$BASE/state/$h.ready")"; done))"
}

cmd_down() {
  local t0 f p h; t0=$(date +%s.%N)
  for h in $(hosts); do stop_host "$h" & done; wait
  if [[ -f $BASE/state/http.pid ]]; then
    p=$(cat "$BASE/state/http.pid")
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "http.server --bind $NET.1"; then kill "$p" 2>/dev/null || true; fi
  fi
  for f in $(ip netns list | awk -v p="$PREFIX-" 'index($1, p) == 1 {print $1}'); do
    for p in $(ip netns pids "$f"); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$f" 2>/dev/null || true
  done
  ip link del "$GW" 2>/dev/null || true
  losetup -l -n -O NAME,BACK-FILE | awk -v b="$BASE/hosts/" 'index($2, b) == 1 {print $1}' |
    while read -r f; do losetup -d "$f" || true; done
  rm -rf "$BASE"
  log "down in $(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"
}

cmd_info() {
  local h ip first=1 n dev
  printf '{"prefix":"%s","subnet":"%s","gateway":"%s.1","base":"%s","keyFile":"%s/keys/id_ed25519",' "$PREFIX" "$NET" "$NET" "$BASE" "$BASE"
  printf '"mirrors":{"distribution":"http://%s.1:%s/debian","kubernetes":"http://%s.1:%s/kubernetes"},"hosts":[' "$NET" "$PORT" "$NET" "$PORT"
  while read -r h ip _; do
    (( first )) || printf ','; first=0
    printf '{"name":"%s","address":"%s","hostKey":"%s","readyS":%s,"disks":{' "$h" "$ip" \
      "$(cut -d' ' -f1,2 "$BASE/hosts/$h/upper/etc/ssh/ssh_host_ed25519_key.pub")" "$(cat "$BASE/state/$h.ready" 2>/dev/null || echo null)"
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

case ${1:-} in
  _nspawn) shift; _nspawn "$@" ;;
  up)     shift; cmd_up "$@" ;;
  down)   cmd_down ;;
  info)   cmd_info ;;
  ssh)    shift; exec ssh -F "$BASE/ssh_config" "$@" ;;
  enter)  known "$2"; h=$2; shift 2; exec nsenter -t "$(pid1 "$h")" -a -- "${@:-bash}" ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
