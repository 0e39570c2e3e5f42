// Bare lab hosts from TypeScript: freshly installed Debian 12 servers under real systemd (bare-lab.sh), with the
// lab's Debian mirror and pkgs.k8s.io-like repository served on the gateway. The same `Lab` interface as lab.ts
// (ssh with pinned host keys, down), plus the mirrors' URLs and each host's boot-to-ssh time.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { labAvailable, runSsh, type Lab, type LabDisk, type LabHost, type SshOptions, type SshResult } from "../lab";

export const BARE_LAB_SCRIPT = path.join(__dirname, "bare-lab.sh");

/** A `Lab` (power and sshd control are not implemented for bare hosts yet: those calls reject, saying so). */
export interface BareLab extends Lab {
  /** URLs on the gateway: a Debian mirror (dists/bookworm) and a base laid out like https://pkgs.k8s.io */
  mirrors: { distribution: string; kubernetes: string };
  /** seconds from starting systemd-nspawn to the first successful ssh login, per host */
  readyS: Record<string, number>;
}

export interface BareLabOptions {
  prefix: string;
  subnet: string;
  hosts: { name: string; disks?: { name: string; size: string }[] }[];
  /** Kubernetes version of the packages in the lab's repository (default 1.33.4) */
  kubernetesVersion?: string;
  /** directory with kubeadm, kubelet and kubectl (default: `$BMK8S_TOOLS_CACHE/bin`, what `npm run -s tools` prints) */
  toolsBin?: string;
}

const which = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

export function toolsBin(): string {
  return path.join(process.env.BMK8S_TOOLS_CACHE ?? "/var/cache/baremetal-k8s/tools", "bin");
}

/** Whether this machine can run bare hosts, and if not, why. */
export function bareLabAvailable(): { ok: true } | { ok: false; reason: string } {
  const lab = labAvailable();
  if (!lab.ok) return lab;
  for (const [tool, pkg] of [
    ["systemd-nspawn", "systemd-container"],
    ["debootstrap", "debootstrap"],
    ["apt-ftparchive", "apt-utils"],
    ["dpkg-deb", "dpkg"],
    ["gpg", "gpg"],
  ]) {
    if (!which(tool))
      return { ok: false, reason: `bare hosts need '${tool}' on this machine (apt-get install ${pkg}; .ci/run installs it)` };
  }
  for (const b of ["kubeadm", "kubelet", "kubectl"]) {
    if (!fs.existsSync(path.join(toolsBin(), b))) return { ok: false, reason: `no ${b} in ${toolsBin()}: npm run -s tools builds it` };
  }
  return { ok: true };
}

interface BareLabInfo {
  prefix: string;
  subnet: string;
  gateway: string;
  base: string;
  keyFile: string;
  mirrors: { distribution: string; kubernetes: string };
  hosts: (LabHost & { readyS: number | null; disks: Record<string, LabDisk & { loop: string }> })[];
}

function env(o: BareLabOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LAB_PREFIX: o.prefix,
    LAB_SUBNET: o.subnet,
    LAB_K8S_VERSION: o.kubernetesVersion ?? "1.33.4",
    LAB_TOOLS_BIN: o.toolsBin ?? toolsBin(),
  };
}

function run(e: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(BARE_LAB_SCRIPT, args, { env: e, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(err);
      else reject(new Error(`bare-lab.sh ${args.join(" ")} failed (exit ${code}):\n${err}${out}`));
    });
  });
}

const notYet = (what: string) => (): Promise<void> => Promise.reject(new Error(`${what} is not implemented for bare lab hosts yet`));

/** Boots the bare hosts (removing what an earlier run with this prefix left first); the mirrors are built on first use and cached. */
export async function startBareLab(opts: BareLabOptions): Promise<BareLab> {
  const e = env(opts);
  await run(e, ["down"]);
  const exitHook = () => spawnSync(BARE_LAB_SCRIPT, ["down"], { env: e, stdio: "ignore" });
  process.on("exit", exitHook);
  const args = opts.hosts.map((h) => (h.disks?.length ? `${h.name}:${h.disks.map((d) => `${d.name}=${d.size}`).join(",")}` : h.name));
  try {
    const log = await run(e, ["up", ...args]);
    console.log(log.trim());
  } catch (err) {
    await run(e, ["down"]).catch(() => undefined);
    process.off("exit", exitHook);
    throw err;
  }
  const info = JSON.parse(execFileSync(BARE_LAB_SCRIPT, ["info"], { env: e, encoding: "utf8" })) as BareLabInfo;
  const children = new Set<ChildProcess>();
  let isDown = false;
  const hosts: LabHost[] = info.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    hostKey: h.hostKey,
    disks: Object.fromEntries(Object.entries(h.disks).map(([n, d]) => [n, { device: d.device, byId: d.byId }])),
  }));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const host = (name: string): LabHost => {
    const h = byName.get(name);
    if (!h) throw new Error(`no host '${name}' in bare lab ${opts.prefix} (hosts: ${hosts.map((x) => x.name).join(", ")})`);
    return h;
  };
  const ssh = async (name: string, script: string, o: SshOptions = {}): Promise<SshResult> => {
    host(name);
    const timeoutMs = o.timeoutMs ?? 120_000;
    const r = await runSsh(["-F", path.join(info.base, "ssh_config"), name, script], o.stdin, timeoutMs, children);
    return {
      code: r.code,
      stdout: r.stdout,
      stderr: r.timedOut ? `${r.stderr}\n[lab] ssh to ${name} killed after ${timeoutMs} ms` : r.stderr,
    };
  };
  return {
    prefix: opts.prefix,
    subnet: opts.subnet,
    hosts,
    privateKey: fs.readFileSync(info.keyFile, "utf8"),
    gateway: info.gateway,
    base: info.base,
    mirrors: info.mirrors,
    readyS: Object.fromEntries(info.hosts.map((h) => [h.name, h.readyS ?? Number.NaN])),
    host,
    ssh,
    stopHost: notYet("stopHost"),
    startHost: notYet("startHost"),
    stopSshd: notYet("stopSshd"),
    startSshd: notYet("startSshd"),
    down: async () => {
      if (isDown) return;
      isDown = true;
      for (const c of children) c.kill("SIGKILL");
      await run(e, ["down"]);
      process.off("exit", exitHook);
    },
  };
}
