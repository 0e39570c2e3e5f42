// The node-prep script on lab hosts (Debian 12): a packagesPreinstalled host missing the Kubernetes
// packages is refused naming them; with them baked in, the script configures Debian's REAL containerd
// 1.6 (config version 2, SystemdCgroup = true, checked with `containerd config dump` of the running
// daemon's config), modules and sysctls; the apt path installs kubelet/kubeadm/kubectl pinned and held
// (apt-get and pkgs.k8s.io are the lab's stand-ins); every second run changes nothing.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderNodePrep } from "../../components/host/render-node-prep";
import { labAvailable, startLab, type Lab } from "./lab";
import { hostOf, labSpec, PREFIX, runScript, sh, SUBNET } from "./host-lab";

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

const spec = labSpec([
  { name: "p-1", address: `${SUBNET}.11`, roles: ["control-plane"], os: "debian", packagesPreinstalled: true },
  { name: "p-2", address: `${SUBNET}.12`, roles: ["worker"], os: "debian" },
]);
const V2_RUNC_OPTIONS = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]';

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
    lab = await startLab({ prefix: PREFIX, subnet: SUBNET, hosts: [{ name: "p-1" }, { name: "p-2" }] });
  });

  afterAll(async () => {
    await lab?.down();
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
    expect(r.stdout).toContain("wrote /etc/containerd/config.toml (config version 2, SystemdCgroup = true)");
    expect(r.stdout).not.toMatch(/^p-1: installed /m);
    expect(await sh(lab, "p-1", "grep -c 'apt-get\\|dnf' /var/log/standins.log || true")).toBe("0\n");

    const file = await sh(lab, "p-1", "cat /etc/containerd/config.toml");
    expect(file).toMatch(/^version = 2$/m);
    expect(tomlTable(file, V2_RUNC_OPTIONS)).toContain("SystemdCgroup = true");
    expect(tomlTable(file, V2_RUNC_OPTIONS)).not.toContain("SystemdCgroup = false");
    // the daemon's own view of that file, and it runs with it
    expect(tomlTable(await sh(lab, "p-1", "containerd config dump"), V2_RUNC_OPTIONS)).toContain("SystemdCgroup = true");
    expect((await lab.ssh("p-1", "systemctl is-active --quiet containerd && ctr version >/dev/null")).code).toBe(0);
    expect((await lab.ssh("p-1", "systemctl is-enabled --quiet kubelet")).code).toBe(0);

    expect(await sh(lab, "p-1", "cat /etc/modules-load.d/k8s.conf")).toBe("overlay\nbr_netfilter\n");
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

  it("refuses to swap the packages of a node that already joined for another version", async () => {
    await sh(lab, "p-2", "mkdir -p /etc/kubernetes && touch /etc/kubernetes/kubelet.conf");
    const newer = labSpec([{ name: "p-2", address: `${SUBNET}.12`, roles: ["control-plane"], os: "debian" }]);
    const upgraded = { ...newer, cluster: { ...newer.cluster, kubernetesVersion: "1.34.1" } };
    const r = await runScript(lab, "p-2", renderNodePrep(hostOf(upgraded, "p-2"), upgraded));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("this host is already a cluster node, but cluster.kubernetesVersion is 1.34.1");
    expect(await sh(lab, "p-2", "dpkg-query -W -f='${Version}' kubelet")).toMatch(/^1\.33\.4-/);
  });
});
