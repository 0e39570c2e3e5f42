// Node preparation on a bare host: a freshly installed Debian 12 server (debootstrap root, real systemd as PID 1,
// test/lab/bare/) with none of the packages the product installs. The product's own node-prep script, run over
// ssh as the program runs it, with cluster.packageMirrors pointing at the lab's gateway, installs them for real
// with apt: Debian's packages from the lab's Debian mirror, kubeadm/kubelet/kubectl (real 1.33.4 binaries, our
// .debs) from the lab's pkgs.k8s.io-like repository. Real dpkg, real apt, real systemd: no stand-in on this path.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config";
import { renderNodePrep } from "../../components/host/render-node-prep";
import { bareLabAvailable, startBareLab, type BareLab } from "./bare/bare-lab";
import { remoteScript } from "../../components/host/remote-script";
import { hostOf, sh } from "./host-lab";

const PREFIX = process.env.LAB_PREFIX ?? "bb";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.60";
const PORT = process.env.LAB_MIRROR_PORT ?? "8080";
const avail = bareLabAvailable();
const DIST = `http://${SUBNET}.1:${PORT}/debian`;
const K8S_REPO = `http://${SUBNET}.1:${PORT}/kubernetes/core:/stable:/v1.33/deb`;
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// keepalived on (the control plane runs it, so keepalived and curl are installed), one disk to mount (xfsprogs).
const validated = validateConfig({
  cluster: {
    name: "lab",
    kubernetesVersion: "1.33.4",
    endpoint: { address: `${SUBNET}.100`, keepalived: { enabled: true, interface: "eth0", virtualRouterId: 61 } },
    ssh: { insecureIgnoreHostKey: true },
    packageMirrors: { distribution: DIST, kubernetes: `http://${SUBNET}.1:${PORT}/kubernetes` },
  },
  hosts: [
    {
      name: "c-1",
      address: `${SUBNET}.11`,
      roles: ["control-plane"],
      os: "debian",
      disks: [{ name: "data", device: "/dev/disk/by-id/lab-c-1-data", use: "mount", fsType: "xfs", mountpoint: "/srv/data" }],
    },
  ],
  sshPrivateKeySet: true,
});
if (!validated.spec) throw new Error(`lab config refused: ${JSON.stringify(validated.findings)}`);
const spec = validated.spec;

/** The packages node preparation of c-1 installs, as dpkg names them, and a command each brings. */
const INSTALLED: [string, string][] = [
  ["kubeadm", "kubeadm"],
  ["kubelet", "kubelet"],
  ["kubectl", "kubectl"],
  ["keepalived", "keepalived"],
  ["containerd", "containerd"],
  ["runc", "runc"],
  ["curl", "curl"],
  ["gpg", "gpg"],
  ["xfsprogs", "mkfs.xfs"],
];
/** Never installed on c-1 (no Longhorn disk): a fresh server does not have it either. */
const ABSENT = ["open-iscsi"];

/** `package status command` lines: dpkg's status of the package (installed, not-installed, ...), whether its command is found. */
async function presence(lab: BareLab, pkgs: [string, string][]): Promise<string[]> {
  const out = await sh(
    lab,
    "c-1",
    pkgs
      .map(
        ([p, c]) =>
          `printf '%s %s %s\\n' ${p} "$(dpkg-query -W -f='\${db:Status-Status}' ${p} 2>/dev/null || echo not-installed)" "$(command -v ${c} >/dev/null && echo found || echo missing)"`,
      )
      .join("; "),
  );
  return out.trim().split("\n");
}
/** Node preparation of c-1 as the program runs it (`bash -c` over ssh, as root); apt on a bare host takes 1-2 minutes. */
function nodePrep(lab: BareLab): ReturnType<BareLab["ssh"]> {
  return lab.ssh("c-1", remoteScript(renderNodePrep(hostOf(spec, "c-1"), spec), "root"), { timeoutMs: 280_000 });
}
const ALL: [string, string][] = [...INSTALLED, ...ABSENT.map((p): [string, string] => [p, "iscsiadm"])];

/** Every distribution package node preparation installs on some Debian host: keepalived, Longhorn, Ceph, ext4 and RAID0 disks. */
function everyDistributionPackage(): string[] {
  const v = validateConfig({
    cluster: {
      name: "lab",
      kubernetesVersion: "1.33.4",
      endpoint: { address: `${SUBNET}.100`, keepalived: { enabled: true, interface: "eth0", virtualRouterId: 61 } },
      ssh: { insecureIgnoreHostKey: true },
    },
    hosts: [
      {
        name: "all",
        address: `${SUBNET}.11`,
        roles: ["control-plane", "worker"],
        os: "debian",
        disks: [
          { name: "lh", device: "/dev/disk/by-id/x-lh", use: "longhorn", fsType: "xfs" },
          { name: "osd", device: "/dev/disk/by-id/x-osd", use: "ceph" },
          { name: "m", device: "/dev/disk/by-id/x-m", use: "mount", fsType: "ext4", mountpoint: "/srv/m" },
          { name: "e1", device: "/dev/disk/by-id/x-e1", use: "ephemeral" },
          { name: "e2", device: "/dev/disk/by-id/x-e2", use: "ephemeral" },
        ],
      },
    ],
    storage: { longhorn: { enabled: true }, rookCeph: { enabled: true } },
    sshPrivateKeySet: true,
  });
  if (!v.spec) throw new Error(`config refused: ${JSON.stringify(v.findings)}`);
  const script = renderNodePrep(hostOf(v.spec, "all"), v.spec);
  return [...new Set([...script.matchAll(/^\s*pkg_install (.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/)))].sort();
}

// Runs everywhere (no lab needed): the mirror must carry what the product installs, or bare hosts fail with apt's
// "Unable to locate package" for configurations this file's host does not have.
it("the lab's Debian mirror is built for every distribution package node preparation installs on Debian", () => {
  const mirrorScript = fs.readFileSync(path.join(__dirname, "bare", "debian-mirror.sh"), "utf8");
  const listed = /^DIST_PKGS="([^"]*)"$/m.exec(mirrorScript)?.[1].split(/\s+/).sort();
  expect(listed).toEqual(everyDistributionPackage());
});

describe.skipIf(!avail.ok)(`node preparation on a bare Debian 12 host${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: BareLab;
  let firstRun: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    lab = await startBareLab({ prefix: PREFIX, subnet: SUBNET, hosts: [{ name: "c-1", disks: [{ name: "data", size: "300M" }] }] });
    console.log(`[bare] c-1: ssh login ${lab.readyS["c-1"]?.toFixed(2)} s after systemd-nspawn started`);
  }, 1_800_000);

  afterAll(async () => {
    await lab?.down();
  });

  it("starts like a freshly installed Debian 12 server: systemd as PID 1, apt pointing at the local mirror, none of the packages", async () => {
    expect(await sh(lab, "c-1", "ps -o comm= -p 1; . /etc/os-release; echo $VERSION_CODENAME")).toBe("systemd\nbookworm\n");
    expect(await sh(lab, "c-1", "systemctl is-system-running --wait || true")).toBe("running\n");
    expect(await sh(lab, "c-1", "systemctl is-active ssh")).toBe("active\n");
    // installed from the lab's Debian mirror (the same packages cluster.packageMirrors.distribution names, under another path)
    expect(await sh(lab, "c-1", "cat /etc/apt/sources.list")).toBe(`deb http://${SUBNET}.1:${PORT}/os/debian bookworm main\n`);
    expect(await presence(lab, ALL)).toEqual(ALL.map(([p]) => `${p} not-installed missing`));
    // the disk is there, as a block device under its stable name
    expect((await lab.ssh("c-1", "test -b /dev/disk/by-id/lab-c-1-data")).code).toBe(0);
  });

  it("installs every package with the real apt from the lab's mirrors: dpkg, apt's history and the real kubeadm agree", async () => {
    firstRun = await nodePrep(lab);
    expect(firstRun.code, `${firstRun.stdout}\n${firstRun.stderr}`).toBe(0);
    expect(await presence(lab, ALL)).toEqual([
      ...INSTALLED.map(([p]) => `${p} installed found`),
      ...ABSENT.map((p) => `${p} not-installed missing`),
    ]);
    // what dpkg says: the Kubernetes packages held at the pinned version (by node preparation), the rest plainly installed
    expect(await sh(lab, "c-1", `dpkg-query -W -f='\${Package} \${Status}\\n' kubeadm kubelet kubectl keepalived containerd | sort`)).toBe(
      [
        "containerd install ok installed",
        "keepalived install ok installed",
        "kubeadm hold ok installed",
        "kubectl hold ok installed",
        "kubelet hold ok installed",
        "",
      ].join("\n"),
    );
    const history = await sh(lab, "c-1", "cat /var/log/apt/history.log");
    for (const [p] of INSTALLED) expect(history).toMatch(new RegExp(`^Install: .*\\b${p}:amd64 \\(`, "m"));
    expect(history).toMatch(/^Install: .*\bkubeadm:amd64 \(1\.33\.4-1\.1\)/m);
    expect(await sh(lab, "c-1", "kubeadm version -o short; kubelet --version")).toBe("v1.33.4\nKubernetes v1.33.4\n");
    // from where: apt fetched from the mirrors in cluster.packageMirrors, not from the host's own sources (os/debian)
    expect(firstRun.stdout).toMatch(new RegExp(`^Get:\\d+ ${escape(DIST)} bookworm/main amd64 keepalived amd64 `, "m"));
    expect(firstRun.stdout).toMatch(new RegExp(`^Get:\\d+ ${escape(DIST)} bookworm/main amd64 containerd amd64 `, "m"));
    expect(firstRun.stdout).toMatch(new RegExp(`^Get:\\d+ ${escape(K8S_REPO)} +kubeadm 1\\.33\\.4-1\\.1 `, "m"));
    expect(firstRun.stdout).not.toContain("/os/debian");
    expect(await sh(lab, "c-1", "apt-cache policy kubeadm")).toContain(K8S_REPO);
    expect(await sh(lab, "c-1", "apt-mark showhold | sort")).toBe("kubeadm\nkubectl\nkubelet\n");
  });

  it("leaves systemd running what node preparation enables: containerd active with the config it wrote, kubelet enabled", async () => {
    expect(await sh(lab, "c-1", "systemctl is-enabled containerd kubelet")).toBe("enabled\nenabled\n");
    expect(await sh(lab, "c-1", "systemctl is-active containerd")).toBe("active\n");
    expect(await sh(lab, "c-1", "ctr version >/dev/null && containerd config dump")).toMatch(/^\s*SystemdCgroup = true$/m);
    // keepalived is installed, but its unit waits for the configuration the control-plane step writes
    expect(await sh(lab, "c-1", "systemctl show -p ConditionResult --value keepalived")).toBe("no\n");
  });

  it("changes nothing on a second run: no apt transaction, no restart", async () => {
    const before = await sh(lab, "c-1", "grep -c '^Start-Date' /var/log/apt/history.log; systemctl show -p MainPID --value containerd");
    const again = await nodePrep(lab);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    expect(again.stdout).not.toMatch(/installed|wrote|started|restarted/);
    expect(await sh(lab, "c-1", "grep -c '^Start-Date' /var/log/apt/history.log; systemctl show -p MainPID --value containerd")).toBe(
      before,
    );
  });
});
