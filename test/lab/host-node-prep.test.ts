// The node-prep script on lab hosts (Debian 12). A fresh lab host has none of the packages node preparation
// installs (lab.sh hides them; the apt-get stand-in installs the test machine's files): node preparation of an
// apt control plane with keepalived installs every one of them (keepalived, curl, containerd, the storage tools).
// A packagesPreinstalled host missing the Kubernetes packages is refused naming them; with them baked in, the
// script configures Debian's REAL containerd 1.6 (config version 2, SystemdCgroup = true and the pause image
// kubeadm expects, checked with `containerd config dump` of the running daemon's config), modules and sysctls;
// the apt path installs kubelet/kubeadm/kubectl pinned and held (apt-get and pkgs.k8s.io are the lab's
// stand-ins); every second run changes nothing.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config";
import { renderNodePrep } from "../../components/host/render-node-prep";
import { labAvailable, startLab, type Lab } from "./lab";
import { hostOf, PREFIX, runScript, sh, SUBNET } from "./host-lab";

function available(): { ok: true } | { ok: false; reason: string } {
  const lab = labAvailable();
  if (!lab.ok) return lab;
  // Swap is global: `swapoff -a` inside a lab host would turn off the test machine's swap.
  const swap = spawnSync("sh", ["-c", "swapon --show --noheadings 2>/dev/null"], { encoding: "utf8" }).stdout.trim();
  if (swap) return { ok: false, reason: `the test machine has swap on (${swap.split("\n")[0]}); node prep would turn it off machine-wide` };
  if (spawnSync("sh", ["-c", "command -v containerd"]).status !== 0)
    return { ok: false, reason: "Debian's containerd is not installed on the test machine (.ci/run installs it)" };
  return { ok: true };
}
const avail = available();

// keepalived on (the control planes run it), Longhorn and two ephemeral disks on p-3: every package node preparation installs.
const validated = validateConfig({
  cluster: {
    name: "lab",
    kubernetesVersion: "1.33.4",
    endpoint: { address: `${SUBNET}.100`, keepalived: { enabled: true, interface: "eth0", virtualRouterId: 51 } },
    ssh: { insecureIgnoreHostKey: true },
  },
  hosts: [
    { name: "p-1", address: `${SUBNET}.11`, roles: ["control-plane"], os: "debian", packagesPreinstalled: true },
    { name: "p-2", address: `${SUBNET}.12`, roles: ["worker"], os: "debian" },
    {
      name: "p-3",
      address: `${SUBNET}.13`,
      roles: ["control-plane"],
      os: "debian",
      disks: [
        { name: "lh", device: "/dev/disk/by-id/lab-p-3-lh", use: "longhorn" },
        { name: "s1", device: "/dev/disk/by-id/lab-p-3-s1", use: "ephemeral" },
        { name: "s2", device: "/dev/disk/by-id/lab-p-3-s2", use: "ephemeral" },
      ],
    },
  ],
  storage: { longhorn: { enabled: true } },
  sshPrivateKeySet: true,
});
if (!validated.spec) throw new Error(`lab config refused: ${JSON.stringify(validated.findings)}`);
const spec = validated.spec;

/** What node preparation of p-3 must install: each command, and the Debian package it comes from. */
const PRODUCT_COMMANDS: [string, string][] = [
  ["keepalived", "keepalived"],
  ["curl", "curl"],
  ["gpg", "gpg"],
  ["containerd", "containerd"],
  ["ctr", "containerd"],
  ["runc", "runc"],
  ["mkfs.xfs", "xfsprogs"],
  ["mdadm", "mdadm"],
  ["iscsiadm", "open-iscsi"],
  ["iscsi-iname", "open-iscsi"],
  ["mount.nfs", "nfs-common"],
  ["cryptsetup", "cryptsetup-bin"],
  ["dmsetup", "dmsetup"],
];

/** `command package` lines for every product command: `yes`/`no` for the command, dpkg's status of the package. */
async function presence(lab: Lab, host: string): Promise<string[]> {
  const out = await sh(
    lab,
    host,
    PRODUCT_COMMANDS.map(
      ([c, p]) =>
        `printf '%s %s %s\\n' ${c} "$(command -v ${c} >/dev/null && echo yes || echo no)" "$(dpkg-query -W -f='\${db:Status-Status}' ${p} 2>/dev/null || echo not-installed)"`,
    ).join("; "),
  );
  return out.trim().split("\n");
}
const V2_RUNC_OPTIONS = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]';
const V2_CRI = '[plugins."io.containerd.grpc.v1.cri"]';

/** The lines of a TOML table (up to the next table header), as `containerd config` prints it. */
function tomlTable(text: string, header: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === header);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).map((l) => l.trim());
}

describe.skipIf(!avail.ok)(`node preparation on lab hosts${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      // p-1 stands for an image with the packages baked in (packagesPreinstalled): the distribution's (containerd, keepalived
      // and curl for a control plane, Longhorn's prerequisites) are there from the start
      hosts: [
        { name: "p-1", preinstalled: ["containerd", "keepalived", "curl", "open-iscsi", "nfs-common", "cryptsetup", "dmsetup"] },
        { name: "p-2" },
        { name: "p-3" },
      ],
      fakeBuiltinModules: ["iscsi_tcp"], // Longhorn's module; this kernel has no iSCSI (a stand-in, see README)
    });
  });

  afterAll(async () => {
    await lab?.down();
  });

  it("a fresh host has none of the packages node preparation installs; node preparation of a control plane installs every one", async () => {
    expect(await presence(lab, "p-3")).toEqual(PRODUCT_COMMANDS.map(([c]) => `${c} no not-installed`));
    const r = await runScript(lab, "p-3", renderNodePrep(hostOf(spec, "p-3"), spec));
    expect(r.code, r.stderr).toBe(0);
    expect(await presence(lab, "p-3")).toEqual(PRODUCT_COMMANDS.map(([c]) => `${c} yes installed`));
    expect(await sh(lab, "p-3", "grep 'apt-get.* install.*--no-install-recommends' /var/log/standins.log")).toContain(
      "install -y -q --no-install-recommends curl gpg keepalived xfsprogs mdadm open-iscsi nfs-common cryptsetup dmsetup\n", // ca-certificates and e2fsprogs: every Debian has them
    );
    // what the keepalived step runs works: keepalived itself, and curl for check_apiserver.sh
    expect((await lab.ssh("p-3", "keepalived --version && curl --version")).code).toBe(0);
    expect(await sh(lab, "p-3", "containerd config dump")).toMatch(/^\s*sandbox_image = "registry\.k8s\.io\/pause:3\.10"$/m);
    // a worker does not run keepalived: none installed there
    expect((await lab.ssh("p-2", "command -v keepalived")).code).not.toBe(0);
  });

  it("refuses a packagesPreinstalled host whose image lacks the Kubernetes packages, naming them, and installs nothing", async () => {
    const r = await runScript(lab, "p-1", renderNodePrep(hostOf(spec, "p-1"), spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "p-1: ERROR: host p-1 lacks these commands: kubeadm kubelet kubectl; this host has packagesPreinstalled: true",
    );
    expect((await lab.ssh("p-1", "command -v kubeadm")).code).not.toBe(0);
    expect(await sh(lab, "p-1", "grep -c 'apt-get' /var/log/standins.log 2>/dev/null || true")).toBe("0\n");
  });

  it("prepares a packagesPreinstalled host: containerd config v2 with SystemdCgroup = true, modules, sysctls; a second run changes nothing", async () => {
    // What an image with the packages baked in has (the lab's apt-get stand-in puts the kube stand-ins there).
    await sh(
      lab,
      "p-1",
      "apt-get install -y kubelet=1.33.4-1.1 kubeadm=1.33.4-1.1 kubectl=1.33.4-1.1 >/dev/null && : >/var/log/standins.log",
    );
    const script = renderNodePrep(hostOf(spec, "p-1"), spec);
    const r = await runScript(lab, "p-1", script);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "wrote /etc/containerd/config.toml (config version 2, SystemdCgroup = true, sandbox image registry.k8s.io/pause:3.10)",
    );
    expect(r.stdout).not.toMatch(/^p-1: installed /m);
    expect(await sh(lab, "p-1", "grep -c 'apt-get\\|dnf' /var/log/standins.log || true")).toBe("0\n");

    const file = await sh(lab, "p-1", "cat /etc/containerd/config.toml");
    expect(file).toMatch(/^version = 2$/m);
    expect(tomlTable(file, V2_RUNC_OPTIONS)).toContain("SystemdCgroup = true");
    expect(tomlTable(file, V2_RUNC_OPTIONS)).not.toContain("SystemdCgroup = false");
    // the daemon's own view of that file, and it runs with it
    const dump = await sh(lab, "p-1", "containerd config dump");
    expect(tomlTable(dump, V2_RUNC_OPTIONS)).toContain("SystemdCgroup = true");
    // the sandbox image kubeadm 1.33 expects (Debian's default is pause:3.6)
    expect(tomlTable(dump, V2_CRI)).toContain('sandbox_image = "registry.k8s.io/pause:3.10"');
    expect((await lab.ssh("p-1", "systemctl is-active --quiet containerd && ctr version >/dev/null")).code).toBe(0);
    expect((await lab.ssh("p-1", "systemctl is-enabled --quiet kubelet")).code).toBe(0);

    expect(await sh(lab, "p-1", "cat /etc/modules-load.d/k8s.conf")).toBe("overlay\nbr_netfilter\niscsi_tcp\n"); // Longhorn is on
    expect(await sh(lab, "p-1", "cat /etc/sysctl.d/k8s.conf")).toContain("net.ipv4.ip_forward = 1");
    expect(await sh(lab, "p-1", "sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables")).toBe("1\n1\n");

    const again = await runScript(lab, "p-1", script);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("node preparation: already in place, nothing to do");
    expect(again.stdout).not.toMatch(/wrote|started|restarted|set /);
  });

  it("keeps swap off across reboots: fstab swap entries commented out", async () => {
    await sh(lab, "p-1", "echo '/swap.img none swap sw 0 0' >> /etc/fstab");
    const r = await runScript(lab, "p-1", renderNodePrep(hostOf(spec, "p-1"), spec));
    expect(r.code, r.stderr).toBe(0);
    expect(await sh(lab, "p-1", "grep swap.img /etc/fstab")).toBe(
      "# swap disabled by baremetal-k8s (the kubelet needs swap off): /swap.img none swap sw 0 0\n",
    );
  });

  it("installs kubelet, kubeadm and kubectl from the v1.33 repository on an apt host, pinned and held", async () => {
    const script = renderNodePrep(hostOf(spec, "p-2"), spec);
    const r = await runScript(lab, "p-2", script);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("installed kubelet, kubeadm and kubectl 1.33.4");
    expect(await sh(lab, "p-2", "cat /etc/apt/sources.list.d/kubernetes.list")).toBe(
      "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.33/deb/ /\n",
    );
    expect((await lab.ssh("p-2", "gpg --show-keys /etc/apt/keyrings/kubernetes-apt-keyring.gpg")).code).toBe(0);
    expect(await sh(lab, "p-2", "grep 'apt-get.* install' /var/log/standins.log")).toMatch(
      /kubelet=1\.33\.4-\* kubeadm=1\.33\.4-\* kubectl=1\.33\.4-\*/,
    );
    expect(await sh(lab, "p-2", "apt-mark showhold | sort")).toBe("kubeadm\nkubectl\nkubelet\n");
    expect(tomlTable(await sh(lab, "p-2", "containerd config dump"), V2_RUNC_OPTIONS)).toContain("SystemdCgroup = true");

    const again = await runScript(lab, "p-2", script);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to do");
  });

  it("leaves a node that already joined alone when the version is raised: no package, repository or containerd change", async () => {
    await sh(lab, "p-2", "mkdir -p /etc/kubernetes && touch /etc/kubernetes/kubelet.conf");
    const before = await sh(lab, "p-2", "md5sum /etc/apt/sources.list.d/kubernetes.list /etc/containerd/config.toml");
    // the same stack as the install above, with the version raised: upgrades happen only in the ordered upgrade steps
    // (components/upgrade), never in node preparation
    const upgraded = { ...spec, cluster: { ...spec.cluster, kubernetesVersion: "1.34.1" } };
    const r = await runScript(lab, "p-2", renderNodePrep(hostOf(upgraded, "p-2"), upgraded));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("nothing to do");
    expect(await sh(lab, "p-2", "dpkg-query -W -f='${Version}' kubelet")).toMatch(/^1\.33\.4-/);
    expect(await sh(lab, "p-2", "md5sum /etc/apt/sources.list.d/kubernetes.list /etc/containerd/config.toml")).toBe(before);
  });
});
