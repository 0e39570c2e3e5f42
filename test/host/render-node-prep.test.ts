import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { remoteScript, shQuote } from "../../components/host/remote-script";
import {
  PAUSE_TAG_BY_MINOR,
  renderNodePrep,
  renderNodePrepDelete,
  renderSandboxImageFunction,
  sandboxImage,
  volumePluginDir,
} from "../../components/host/render-node-prep";
import { ALL_DISKS, HAS_SHELLCHECK, host, shellcheck, specWith } from "./scripts";

const variants = {
  ubuntu: specWith([{ name: "n", os: "ubuntu", disks: ALL_DISKS }]),
  debian: specWith([{ name: "n", os: "debian" }]),
  fedora: specWith([{ name: "n", os: "fedora", disks: ALL_DISKS }]),
  rhel: specWith([{ name: "n", os: "rhel" }]),
  flatcar: specWith([{ name: "n", os: "flatcar", packagesPreinstalled: true, immutableRoot: true, disks: ALL_DISKS }]),
  preinstalled: specWith([{ name: "n", os: "ubuntu", packagesPreinstalled: true, disks: ALL_DISKS }]),
  immutableFedora: specWith([{ name: "n", os: "fedora", immutableRoot: true, packagesPreinstalled: true }]),
  nonRoot: specWith([{ name: "n", os: "debian", disks: ALL_DISKS }], { user: "admin" }),
};
const render = (v: keyof typeof variants) => renderNodePrep(host(variants[v], "n"), variants[v]);

describe("renderNodePrep", () => {
  it.each(Object.keys(variants) as (keyof typeof variants)[])("renders the %s variant deterministically (snapshot)", (v) => {
    expect(render(v)).toBe(render(v));
    expect(render(v)).toMatchSnapshot();
  });

  it.skipIf(!HAS_SHELLCHECK)("is shellcheck-clean in every variant, and so is the sudo wrapper of a non-root user", () => {
    for (const v of Object.keys(variants) as (keyof typeof variants)[]) expect(shellcheck(render(v)), v).toBe("");
    const wrapped = remoteScript(render("nonRoot"), "admin");
    expect(wrapped.startsWith("sudo -n bash -c '")).toBe(true);
    // (the wrapper is one quoted word: shellcheck's style notes about '\'' inside it do not apply)
    expect(shellcheck(`#!/usr/bin/env bash\n${wrapped}\n`, "warning")).toBe("");
    // the quoting carries the script through unchanged
    const echoed = spawnSync("bash", ["-c", `printf %s ${wrapped.slice("sudo -n bash -c ".length)}`], { encoding: "utf8" }).stdout;
    expect(echoed).toBe(render("nonRoot"));
  });

  it("starts strict, turns swap off now and in fstab, loads and persists overlay and br_netfilter, and sets the sysctls", () => {
    const s = render("debian");
    expect(s.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(s).toContain("set -eEuo pipefail");
    expect(s).toContain("swapoff -a");
    expect(s).toContain('$3 == "swap" { print "# swap disabled by baremetal-k8s');
    expect(s).toContain("systemctl mask");
    expect(s).toContain("write_file /etc/modules-load.d/k8s.conf 0644 <<'EOF'\noverlay\nbr_netfilter\nEOF");
    expect(s).toContain("net.bridge.bridge-nf-call-iptables = 1\nnet.ipv4.ip_forward = 1");
  });

  it("installs the Kubernetes packages of the cluster's minor from pkgs.k8s.io, pinned and held, on apt hosts", () => {
    const s = render("debian");
    expect(s).toContain("K8S_VERSION='1.33.4'");
    // the repository of the version's minor, computed by the script: the text does not change with the version
    expect(s).toContain("K8S_MIRROR='https://pkgs.k8s.io'");
    expect(s).toContain(
      'apt_signed_source kubernetes.list /etc/apt/keyrings/kubernetes-apt-keyring.gpg "$K8S_MIRROR/core:/stable:/v${1%.*}/deb/"',
    );
    expect(s).toContain("deb [signed-by=$keyring] $repo /");
    expect(s).toContain('for p in "$@"; do pins+=("$p=$v-*"); done');
    expect(s).toContain('kube_repo "$K8S_VERSION"\n  kube_install "$K8S_VERSION" kubelet kubeadm kubectl');
    expect(s).toContain('apt-mark hold "${missing[@]}"');
    // one apt-mark run for the holds, none to unhold (each run reads the whole package cache)
    expect(s.match(/^\s*apt-mark (un)?hold/gm)).toHaveLength(1);
    expect(s).toContain("pkg_install containerd");
    const other = specWith([{ name: "n", os: "debian" }], { version: "1.34.2" });
    const minor = spawnSync("bash", ["-c", 'v=$1; echo "v${v%.*}"', "-", other.cluster.kubernetesVersion], { encoding: "utf8" }).stdout;
    expect(minor).toBe("v1.34\n");
    // only the version line differs between two versions
    const diff = renderNodePrep(host(other, "n"), other)
      .split("\n")
      .filter((l, i) => l !== s.split("\n")[i]);
    expect(diff).toEqual(["K8S_VERSION='1.34.2'"]);
  });

  it("uses the rpm repository with an exclude as the hold on dnf hosts, and Docker's containerd.io on RHEL", () => {
    const f = render("fedora");
    expect(f).toContain("K8S_MIRROR='https://pkgs.k8s.io'");
    expect(f).toContain('local repo="$K8S_MIRROR/core:/stable:/v${1%.*}/rpm/"');
    expect(f).toContain("baseurl=$repo");
    expect(f).toContain("exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni");
    expect(f).toContain('for p in "$@"; do pkgs+=("$p-$v"); done\n  dnf install -y -q --setopt=disable_excludes=kubernetes "${pkgs[@]}"');
    expect(f).toContain("setenforce 0");
    expect(f).not.toContain("apt-get");
    expect(f).toContain(
      "pkg_install ca-certificates curl e2fsprogs xfsprogs iscsi-initiator-utils nfs-utils cryptsetup device-mapper lvm2",
    );
    const r = render("rhel");
    expect(r).toContain("https://download.docker.com/linux/rhel/docker-ce.repo");
    expect(r).toContain("pkg_install containerd.io");
  });

  it("writes SystemdCgroup = true explicitly into the runc options of config version 2 (containerd 1.x) or 3 (2.x)", () => {
    const s = render("debian");
    expect(s).toContain(`runc_options='[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'`);
    expect(s).toContain(`runc_options="[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"`);
    expect(s).toContain('containerd config default | toml_set "$runc_options" SystemdCgroup true');
    expect(s).not.toMatch(/sed[^\n]*SystemdCgroup/);
  });

  it("sets the sandbox image kubeadm expects for the cluster's Kubernetes minor, in the table of config version 2 or 3", () => {
    const s = render("debian");
    // the pause image of the kubelet installed here, else of K8S_VERSION (a cluster node keeps its version until its upgrade step)
    expect(s).toContain('SANDBOX_IMAGE=$(sandbox_image_for "${node_version:-$K8S_VERSION}")');
    expect(s).toContain(`sandbox_table='[plugins."io.containerd.grpc.v1.cri"]'\n    sandbox_key=sandbox_image`);
    expect(s).toContain(`sandbox_table="[plugins.'io.containerd.cri.v1.images'.pinned_images]"\n    sandbox_key=sandbox`);
    expect(s).toContain('toml_set "$sandbox_table" "$sandbox_key" "$sandbox_value"');
    const v134 = specWith([{ name: "n", os: "debian" }], { version: "1.34.2" });
    for (const v of [v134.cluster.kubernetesVersion, "1.31.0", "1.33.4", "1.35.9", "1.36.0", "1.40.0", "1.30.2"]) {
      const fn = renderSandboxImageFunction();
      const out = spawnSync("bash", ["-c", `${fn}\nsandbox_image_for "$1"`, "-", v], { encoding: "utf8" }).stdout;
      expect(out, v).toBe(`${sandboxImage(v)}\n`);
    }
  });

  it("keeps one table of pause tags by minor, kubeadm's constants.PauseVersion of each release", () => {
    expect(PAUSE_TAG_BY_MINOR).toEqual({ 31: "3.10", 32: "3.10", 33: "3.10", 34: "3.10.1", 35: "3.10.1", 36: "3.10.2" });
    expect(sandboxImage("1.31.0")).toBe("registry.k8s.io/pause:3.10");
    expect(sandboxImage("1.33.4")).toBe("registry.k8s.io/pause:3.10");
    expect(sandboxImage("1.35.9")).toBe("registry.k8s.io/pause:3.10.1");
    expect(sandboxImage("1.36.0")).toBe("registry.k8s.io/pause:3.10.2");
    // a minor newer than the table: the newest tag known (kubeadm only warns on a mismatch)
    expect(sandboxImage("1.40.0")).toBe("registry.k8s.io/pause:3.10.2");
  });

  it("installs keepalived and curl on the control planes of a cluster with keepalived enabled, and only there", () => {
    const ka = specWith([
      { name: "cp", os: "debian" },
      { name: "w", os: "debian" },
    ]);
    const withKa: typeof ka = {
      ...ka,
      cluster: {
        ...ka.cluster,
        endpoint: { ...ka.cluster.endpoint, keepalived: { enabled: true, interface: "eth0", virtualRouterId: 51 } },
      },
    };
    const cp = renderNodePrep(host(withKa, "cp"), withKa);
    expect(cp).toContain("pkg_install ca-certificates curl gpg keepalived\n");
    expect(cp).toContain('command -v keepalived >/dev/null 2>&1 || lacking="$lacking keepalived"');
    expect(cp).toContain('command -v curl >/dev/null 2>&1 || lacking="$lacking curl"');
    expect(renderNodePrep(host(withKa, "w"), withKa)).not.toContain("keepalived");
    expect(renderNodePrep(host(ka, "cp"), ka)).not.toContain("keepalived");
    const fedora = { ...withKa, hosts: withKa.hosts.map((h) => ({ ...h, os: "fedora" as const })) };
    expect(renderNodePrep(host(fedora, "cp"), fedora)).toContain("pkg_install ca-certificates curl keepalived\n");
    // an image that should bring them (packagesPreinstalled) is checked for both
    const baked = { ...withKa, hosts: withKa.hosts.map((h) => ({ ...h, packagesPreinstalled: true })) };
    const v = renderNodePrep(host(baked, "cp"), baked);
    expect(v).not.toContain("pkg_install");
    expect(v).toContain('command -v keepalived >/dev/null 2>&1 || lacking="$lacking keepalived"');
    expect(v).toContain('command -v curl >/dev/null 2>&1 || lacking="$lacking curl"');
  });

  it("puts no config text into comments: the host name and version reach the script only as quoted values", () => {
    const base = specWith([{ name: "n", os: "debian", disks: ALL_DISKS }]);
    const evilName = "n'$(touch /tmp/bk8s-pwned)\ntouch /tmp/bk8s-pwned2 #";
    const evilVersion = "1.33.4'\n$(touch /tmp/bk8s-pwned3)";
    const evil = {
      ...base,
      cluster: { ...base.cluster, kubernetesVersion: evilVersion },
      hosts: base.hosts.map((h) => ({ ...h, name: evilName })),
    };
    for (const s of [renderNodePrep(evil.hosts[0], evil), renderNodePrepDelete(evil.hosts[0])]) {
      const comments = s.split("\n").filter((l) => /^\s*#/.test(l));
      expect(comments.join("\n")).not.toContain("pwned");
      // every occurrence is one of the quoted values; nothing of them is left outside the quotes
      const rest = [
        `SCOPE=${shQuote(evilName)}`,
        `K8S_VERSION=${shQuote(evilVersion)}`,
        shQuote(`host ${evilName} lacks these commands:`),
      ].reduce((acc, q) => acc.split(q).join(""), s);
      expect(rest).not.toContain("pwned");
      expect(spawnSync("bash", ["-n"], { input: s }).status).toBe(0);
    }
  });

  it("installs nothing on packagesPreinstalled hosts and names what is missing", () => {
    const s = render("preinstalled");
    expect(s).not.toMatch(/apt-get|dnf |pkg_install|curl /);
    expect(s).toContain("packagesPreinstalled: installing nothing, verifying what the image brings");
    for (const c of [
      "containerd",
      "runc",
      "kubeadm",
      "kubelet",
      "kubectl",
      "mkfs.xfs",
      "iscsiadm",
      "iscsi-iname",
      "mount.nfs",
      "cryptsetup",
      "dmsetup",
      "lvm",
    ]) {
      expect(s).toContain(`command -v ${c} >/dev/null 2>&1 || lacking=`);
    }
    expect(s).toContain(
      "this host has packagesPreinstalled: true, so nothing is installed on it: bake them into its image, or set packagesPreinstalled: false",
    );
  });

  it("gives immutable roots writable CNI directories from /var in fstab, and a volume-plugin dir on /var", () => {
    const s = render("immutableFedora");
    expect(s).toContain("ensure_writable /etc/cni/net.d /var/lib/baremetal-k8s/rw/etc-cni-net.d");
    expect(s).toContain("ensure_writable /opt/cni/bin /var/lib/baremetal-k8s/rw/opt-cni-bin");
    expect(s).toContain('line="$backing $dir none bind,x-systemd.requires-mounts-for=/var 0 0"');
    expect(s).toContain("mkdir -p /var/lib/kubelet/volumeplugins");
    expect(s).not.toMatch(/dnf install/);
    expect(volumePluginDir(host(variants.immutableFedora, "n"))).toBe("/var/lib/kubelet/volumeplugins");
    expect(volumePluginDir(host(variants.debian, "n"))).toBe("/usr/libexec/kubernetes/kubelet-plugins/volume/exec");
    expect(render("debian")).not.toContain("ensure_writable");
  });

  it("adds Longhorn's and Rook-Ceph's node prerequisites only to hosts carrying their disks", () => {
    const s = render("ubuntu");
    expect(s).toContain("overlay\nbr_netfilter\niscsi_tcp\nEOF");
    expect(s).toContain("pkg_install ca-certificates curl gpg e2fsprogs xfsprogs open-iscsi nfs-common cryptsetup dmsetup lvm2");
    expect(s).toContain('devnode "^sd[a-z0-9]+"');
    expect(s).toContain("write_file /etc/multipath/conf.d/longhorn.conf");
    expect(s).toContain("modprobe rbd");
    const plain = render("debian");
    expect(plain).not.toMatch(/iscsi_tcp|open-iscsi|multipath|lvm2|modprobe rbd|xfsprogs|mdadm/);
    const raid = specWith([
      { name: "n", os: "debian", disks: [ALL_DISKS[5], { ...ALL_DISKS[5], name: "scratch2", device: "/dev/disk/by-id/nvme-SCRATCH2" }] },
    ]);
    expect(renderNodePrep(host(raid, "n"), raid)).toContain("pkg_install ca-certificates curl gpg xfsprogs mdadm");
  });
});

describe("the rendered containerd configuration code, run against containerd's own default configs", () => {
  const script = render("debian");
  const section = script.slice(script.indexOf("toml_has() {"), script.indexOf("cfg=/etc/containerd/config.toml"));
  const V2_DEFAULT_HAS_DEBIAN = spawnSync("sh", ["-c", "command -v containerd"]).status === 0;
  // containerd 2.x `config default` (abbreviated, same tables): the runc options table without a SystemdCgroup line (containerd#12101).
  const V3_DEFAULT = `version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'
          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
            BinaryName = ''
            Root = ''
            ShimCgroup = ''
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''
  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
`;

  function configure(
    versionLine: string,
    defaultConfig: string,
    image = "registry.k8s.io/pause:3.10",
  ): { out: string; version: string; code: number } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk8s-containerd-"));
    try {
      fs.writeFileSync(path.join(dir, "default.toml"), defaultConfig);
      const driver = `set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
containerd() { case $1 in --version) echo ${JSON.stringify(versionLine)} ;; config) cat "$DIR/default.toml" ;; esac; }
SANDBOX_IMAGE=${JSON.stringify(image)}
${section}
! containerd_config_ok "$DIR/default.toml" || fail "the default already counts as configured"
containerd config default | toml_set "$runc_options" SystemdCgroup true | toml_set "$sandbox_table" "$sandbox_key" "$sandbox_value" >"$DIR/out.toml"
containerd_config_ok "$DIR/out.toml"
echo "$cfg_version"
`;
      const r = spawnSync("bash", ["-c", driver], { encoding: "utf8", env: { ...process.env, DIR: dir } });
      const out = fs.existsSync(path.join(dir, "out.toml")) ? fs.readFileSync(path.join(dir, "out.toml"), "utf8") : "";
      return { out, version: r.stdout.trim(), code: r.status ?? -1 };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("adds SystemdCgroup = true to containerd 2.x's version 3 default, where the line is missing", () => {
    const r = configure("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376", V3_DEFAULT);
    expect(r.code).toBe(0);
    expect(r.version).toBe("3");
    expect(r.out).toMatch(
      /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.runc\.options\]\n +SystemdCgroup = true\n +BinaryName = ''/,
    );
    expect(r.out.match(/SystemdCgroup/g)).toHaveLength(1);
  });

  it("sets the sandbox image in containerd 2.x's pinned_images table (version 3), replacing the default's line", () => {
    const r = configure("containerd github.com/containerd/containerd/v2 v2.1.4 x", V3_DEFAULT, "registry.k8s.io/pause:3.10.1");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /\[plugins\.'io\.containerd\.cri\.v1\.images'\.pinned_images\]\n +sandbox = "registry\.k8s\.io\/pause:3\.10\.1"\n +\[/,
    );
    expect(r.out.match(/sandbox = /g)).toHaveLength(1);
    expect(r.out).not.toContain("sandbox_image");
  });

  it("appends the runc options table when a default config lacks it", () => {
    const r = configure("containerd github.com/containerd/containerd/v2 v2.0.0 x", "version = 3\n[plugins]\n");
    expect(r.code).toBe(0);
    expect(r.out).toContain("[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n  SystemdCgroup = true\n");
    expect(r.out.endsWith(`[plugins.'io.containerd.cri.v1.images'.pinned_images]\n  sandbox = "registry.k8s.io/pause:3.10"\n`)).toBe(true);
  });

  it.skipIf(!V2_DEFAULT_HAS_DEBIAN)("turns SystemdCgroup = false into true in Debian's real containerd 1.6 default (version 2)", () => {
    const real = spawnSync("containerd", ["config", "default"], { encoding: "utf8" }).stdout;
    expect(real).toContain("SystemdCgroup = false");
    const r = configure(spawnSync("containerd", ["--version"], { encoding: "utf8" }).stdout.trim(), real);
    expect(r.code).toBe(0);
    expect(r.version).toBe("2");
    expect(r.out).not.toContain("SystemdCgroup = false");
    expect(r.out.match(/SystemdCgroup = true/g)).toHaveLength(1);
    // Debian's 1.6 default names pause:3.6; kubeadm 1.33 expects 3.10
    expect(real).toContain('sandbox_image = "registry.k8s.io/pause:3.6"');
    expect(r.out).toContain('sandbox_image = "registry.k8s.io/pause:3.10"');
    expect(r.out.match(/sandbox_image = /g)).toHaveLength(1);
    // containerd itself reads the result and keeps both settings
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk8s-containerd-"));
    try {
      fs.writeFileSync(path.join(dir, "config.toml"), r.out);
      const dump = spawnSync("containerd", ["--config", path.join(dir, "config.toml"), "config", "dump"], { encoding: "utf8" }).stdout;
      expect(dump).toContain('sandbox_image = "registry.k8s.io/pause:3.10"');
      expect(dump).toContain("SystemdCgroup = true");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a containerd that is neither 1.x nor 2.x", () => {
    expect(configure("containerd github.com/containerd/containerd/v3 v3.0.0 x", V3_DEFAULT).code).not.toBe(0);
  });
});

describe("cluster.packageMirrors in node preparation", () => {
  const MIRRORS = { distribution: "http://10.250.60.1:8080/debian", kubernetes: "http://10.250.60.1:8080/pkgs.k8s.io" };
  const withMirrors = (os: "debian" | "ubuntu" | "fedora") => {
    const spec = specWith([{ name: "n", os }]);
    spec.cluster.packageMirrors = MIRRORS;
    return renderNodePrep(host(spec, "n"), spec);
  };

  it("takes the Kubernetes packages from the mirror's copy of the pkgs.k8s.io layout, with its signing key, on apt and dnf hosts", () => {
    const deb = withMirrors("debian");
    expect(deb).toContain("K8S_MIRROR='http://10.250.60.1:8080/pkgs.k8s.io'");
    expect(deb).toContain('"$K8S_MIRROR/core:/stable:/v${1%.*}/deb/"');
    expect(deb).toContain('curl -fsSL "${repo}Release.key"');
    expect(deb).not.toContain("https://pkgs.k8s.io");
    const rpm = withMirrors("fedora");
    expect(rpm).toContain("K8S_MIRROR='http://10.250.60.1:8080/pkgs.k8s.io'");
    expect(rpm).toContain('local repo="$K8S_MIRROR/core:/stable:/v${1%.*}/rpm/"');
    expect(rpm).toContain("baseurl=$repo");
    expect(rpm).toContain("gpgkey=${repo}repodata/repomd.xml.key");
    expect(rpm).not.toContain("https://pkgs.k8s.io");
    // the distribution mirror is for apt hosts; dnf hosts keep their own repositories (a warning says so)
    expect(rpm).not.toContain("DIST_MIRROR");
  });

  it.skipIf(!HAS_SHELLCHECK)("is shellcheck-clean with mirrors on apt and dnf hosts", () => {
    for (const os of ["debian", "ubuntu", "fedora"] as const) expect(shellcheck(withMirrors(os)), os).toBe("");
  });

  const IS_ROOT = process.getuid?.() === 0;
  const HAS_APT = spawnSync("sh", ["-c", "command -v apt-get && command -v unshare"]).status === 0;
  /**
   * The script's own apt source handling, run by bash against the real apt-get in a private mount namespace whose
   * /etc/apt is an empty tmpfs (the machine's is untouched): what apt would fetch, without fetching it.
   */
  function aptUris(script: string, runs: number): { uris: string[]; notes: string[]; code: number; stderr: string } {
    const lines = script.split("\n");
    const at = (marker: string) => {
      const i = lines.findIndex((l) => l.startsWith(marker));
      expect(i, marker).toBeGreaterThan(0);
      return i;
    };
    const header = lines.slice(0, at("# A module counts as present"));
    // the package functions (with the distribution mirror's section), up to the first package install
    const apt = lines.slice(at("APT_SOURCES=()"), at("# Packages from the distribution."));
    // the signing key is not fetched here: curl and gpg stand in, leaving a keyring file
    const stubs = ["curl() { :; }", 'gpg() { echo key >"${@: -1}"; }'];
    const body = [...header, ...apt, ...stubs, 'kube_repo "$K8S_VERSION"', 'note "changed=$changed"'].join("\n");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk8s-apt-"));
    try {
      fs.writeFileSync(path.join(dir, "prep.sh"), body);
      fs.mkdirSync(path.join(dir, "lists", "partial"), { recursive: true });
      const driver = `set -euo pipefail
mount -t tmpfs bk8s-apt /etc/apt
# the host's own sources, one-line and deb822 style, which an air-gapped host cannot reach
mkdir -p /etc/apt/sources.list.d
echo "deb http://deb.debian.org/debian bookworm main" >/etc/apt/sources.list
printf 'Types: deb\\nURIs: http://security.debian.org/debian-security\\nSuites: bookworm-security\\nComponents: main\\n' >/etc/apt/sources.list.d/debian.sources
for i in $(seq ${runs}); do bash "$DIR/prep.sh"; done
source <(sed -n '/^APT_SOURCES=()/,/^}/p; /^DIST_MIRROR=/,/^APT_SOURCES=(-o/p' "$DIR/prep.sh" | grep -E '^(APT_SOURCES|APT_PARTS|DIST_MIRROR)=')
apt-get "\${APT_SOURCES[@]}" -o Dir::State::Lists="$DIR/lists" -o Debug::NoLocking=1 update --print-uris | awk '{ print $1 }' | tr -d "'"
`;
      const r = spawnSync("unshare", ["-m", "--propagation", "private", "bash", "-c", driver], {
        encoding: "utf8",
        env: { ...process.env, DIR: dir },
      });
      const out = r.stdout.split("\n").filter((l) => l !== "");
      return {
        uris: out.filter((l) => l.startsWith("http")),
        notes: out.filter((l) => l.startsWith("n: ")),
        code: r.status ?? -1,
        stderr: r.stderr,
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it.skipIf(!IS_ROOT || !HAS_APT)(
    "makes the real apt-get read only the mirrors, at the host's release codename, and a second run writes nothing",
    () => {
      const codename = /^VERSION_CODENAME=(.*)$/m.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
      const once = aptUris(withMirrors("debian"), 1);
      expect(once.code, once.stderr).toBe(0);
      expect(once.uris).toContain(`http://10.250.60.1:8080/debian/dists/${codename}/InRelease`);
      expect(once.uris).toContain("http://10.250.60.1:8080/pkgs.k8s.io/core:/stable:/v1.33/deb/InRelease");
      // nothing else: not the machine's own sources, which an air-gapped host could not reach
      expect(once.uris.filter((u) => !u.startsWith("http://10.250.60.1:8080/"))).toEqual([]);
      expect(once.notes).toContain("n: wrote /etc/apt/baremetal-k8s/distribution.list");
      expect(once.notes).toContain("n: wrote /etc/apt/sources.list.d/kubernetes.list");
      expect(once.notes).toContain("n: changed=1");
      const twice = aptUris(withMirrors("debian"), 2);
      expect(twice.code, twice.stderr).toBe(0);
      expect(twice.notes.slice(-1)).toEqual(["n: changed=0"]);
    },
  );

  it.skipIf(!IS_ROOT || !HAS_APT)(
    "without a distribution mirror, apt reads the host's own sources and the kubernetes list as before",
    () => {
      const spec = specWith([{ name: "n", os: "debian" }]);
      const r = aptUris(renderNodePrep(host(spec, "n"), spec), 1);
      expect(r.code, r.stderr).toBe(0);
      expect(r.uris).toContain("https://pkgs.k8s.io/core:/stable:/v1.33/deb/InRelease");
      expect(r.uris).toContain("http://deb.debian.org/debian/dists/bookworm/InRelease");
      expect(r.uris).toContain("http://security.debian.org/debian-security/dists/bookworm-security/InRelease");
      expect(r.notes).not.toContain("n: wrote /etc/apt/baremetal-k8s/distribution.list");
    },
  );
});
