// The project's test-host lab from TypeScript: start N hosts (network namespaces with real sshd and
// loop disks, see lab.sh), run scripts on them over real SSH with pinned host keys, power hosts off
// and on, and remove everything again. Tests call `labAvailable()` to skip with a reason, then
// `startLab(...)` in `beforeAll` and `lab.down()` in `afterAll`.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const LAB_SCRIPT = path.join(__dirname, "lab.sh");

/** The lab's own curl inside every host, for a test's probes: a host has curl only once node preparation installs it. */
export const LAB_CURL = "/usr/local/lib/lab/bin/curl";

export interface LabDisk {
  /** the disk as the host sees it, e.g. /dev/vdb */
  device: string;
  /** the stable name, e.g. /dev/disk/by-id/lab-h1-vdb */
  byId: string;
}

export interface LabHost {
  name: string;
  address: string;
  /** "ssh-ed25519 AAAA...": what a connection pins */
  hostKey: string;
  disks: Record<string, LabDisk>;
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SshOptions {
  stdin?: string;
  timeoutMs?: number;
}

/**
 * Runs `ssh ARGS` to completion: stdin written and closed, output collected, SIGKILLed after
 * `timeoutMs`. `children` (when given) holds the process while it runs, so a lab going down can
 * kill it. Serves both the lab's own `ssh()` and the executor's provider-like sessions.
 */
export function runSsh(
  args: string[],
  stdin: string | Buffer | undefined,
  timeoutMs: number,
  children?: Set<ChildProcess>,
): Promise<SshResult & { timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    children?.add(child);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.on("error", () => undefined); // the remote side may not read its stdin
    child.stdin.end(stdin ?? "");
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children?.delete(child);
      resolve({ code: code ?? (signal ? 255 : 1), stdout, stderr, timedOut });
    });
  });
}

export interface Lab {
  prefix: string;
  subnet: string;
  hosts: LabHost[];
  /** OpenSSH PEM text of the key every host's root accepts */
  privateKey: string;
  /** this machine's address on the lab bridge */
  gateway: string;
  /** the lab's files (ssh_config, known_hosts, per-host overlays) */
  base: string;
  host(name: string): LabHost;
  /** runs `script` with bash on the host as root over SSH (host key pinned) */
  ssh(host: string, script: string, opts?: SshOptions): Promise<SshResult>;
  /** hard power-off: every process of the host dies, its addresses go, its loop disks detach */
  stopHost(host: string): Promise<void>;
  /** boots a stopped host again: same disks and overlays, fresh /run, enabled units started */
  startHost(host: string): Promise<void>;
  /** kills only the host's sshd; the host keeps running */
  stopSshd(host: string): Promise<void>;
  startSshd(host: string): Promise<void>;
  /** removes everything the lab made (no-op with `keep`); safe to call twice */
  down(): Promise<void>;
}

export interface LabOptions {
  /** network-namespace prefix, [a-z0-9]{1,8}; every engineer's tests use their own */
  prefix: string;
  /** first three octets of the lab's /24, e.g. "10.250.20" */
  subnet: string;
  /** `preinstalled`: packages node preparation installs that this host has from the start (see `preinstalled` below) */
  hosts: { name: string; disks?: { name: string; size: string }[]; preinstalled?: string[] }[];
  /** leave the lab running after down() (debugging); `test/lab/lab.sh down` with the same env removes it */
  keep?: boolean;
  /** seconds every kubeadm stand-in step sleeps (bring-up benchmarks); default 0 */
  stepSleepS?: number;
  /** install the kubelet/kubeadm/kubectl stand-ins at first boot (hosts with packagesPreinstalled) */
  k8sPreinstalled?: boolean;
  /**
   * Packages node preparation installs (lab.sh PRODUCT_PKGS: keepalived, containerd, curl, xfsprogs, ...) that every host
   * has from the start, with their dependencies. Default none: a host has none of them until node preparation (the
   * apt-get stand-in) installs them. A test that skips node preparation names here what it takes as already there.
   */
  preinstalled?: string[];
  /** module names modprobe should find although this kernel lacks them (a stand-in; say so); iscsi_tcp also stands in for iscsid */
  fakeBuiltinModules?: string[];
  /** every host gets a fresh initiator-name file (GenerateName=yes); default: the test machine's, as cloned images */
  freshIscsiNames?: boolean;
}

const which = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/** Whether this machine can host the lab, and if not, why (for `it.skipIf` / `describe.skipIf`). */
export function labAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: "the lab needs Linux namespaces" };
  if (process.getuid?.() !== 0) return { ok: false, reason: "the lab needs root (network namespaces, loop devices, mounts)" };
  for (const tool of ["ip", "losetup", "unshare", "nsenter", "ssh", "ssh-keygen", "mknod", "bc", "depmod", "python3"]) {
    if (!which(tool)) return { ok: false, reason: `the lab needs '${tool}' on this machine (see .ci/run)` };
  }
  if (!fs.existsSync("/usr/sbin/sshd")) return { ok: false, reason: "the lab needs openssh-server (/usr/sbin/sshd)" };
  const ns = spawnSync("unshare", ["--net", "--mount", "--pid", "--fork", "true"], { stdio: "ignore" });
  if (ns.status !== 0) return { ok: false, reason: "this machine cannot create network/mount/pid namespaces (unshare failed)" };
  const loop = spawnSync("losetup", ["-f"], { encoding: "utf8" });
  if (loop.status !== 0) return { ok: false, reason: `this machine has no free loop device: ${loop.stderr.trim()}` };
  return { ok: true };
}

interface LabInfo {
  prefix: string;
  subnet: string;
  gateway: string;
  base: string;
  keyFile: string;
  hosts: (LabHost & { disks: Record<string, LabDisk & { loop: string }> })[];
}

function labEnv(prefix: string, subnet: string, o: Partial<LabOptions> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LAB_PREFIX: prefix,
    LAB_SUBNET: subnet,
    LAB_STEP_SLEEP: String(o.stepSleepS ?? 0),
    LAB_K8S_PREINSTALLED: o.k8sPreinstalled ? "1" : "0",
    LAB_FAKE_BUILTIN_MODULES: (o.fakeBuiltinModules ?? []).join(" "),
    LAB_FRESH_ISCSI_NAMES: o.freshIscsiNames ? "1" : "0",
    LAB_PREINSTALLED: (o.preinstalled ?? []).join(" "),
    LAB_PREINSTALLED_HOSTS: (o.hosts ?? [])
      .filter((h) => h.preinstalled?.length)
      .map((h) => `${h.name}=${(h.preinstalled ?? []).join(",")}`)
      .join(" "),
  };
}

function runLabScript(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(LAB_SCRIPT, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`lab.sh ${args.join(" ")} failed (exit ${code}):\n${err}${out}`));
    });
  });
}

const liveLabs = new Set<string>();
let exitHookInstalled = false;

/** Last-resort cleanup when the test process exits without calling down(). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const key of liveLabs) {
      const [prefix, subnet] = key.split(" ") as [string, string];
      spawnSync(LAB_SCRIPT, ["down"], { env: labEnv(prefix, subnet), stdio: "ignore" });
    }
  });
}

/** Starts the hosts (removing whatever an earlier run with this prefix left behind first). */
export async function startLab(opts: LabOptions): Promise<Lab> {
  if (!/^[a-z0-9]{1,8}$/.test(opts.prefix)) throw new Error(`lab prefix must match [a-z0-9]{1,8}, got '${opts.prefix}'`);
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(opts.subnet))
    throw new Error(`lab subnet must be three octets like 10.250.20, got '${opts.subnet}'`);
  const env = labEnv(opts.prefix, opts.subnet, opts);
  const key = `${opts.prefix} ${opts.subnet}`;
  installExitHook();
  await runLabScript(env, ["down"]); // a previous run killed before its afterAll
  liveLabs.add(key);
  const args = opts.hosts.map((h) => (h.disks?.length ? `${h.name}:${h.disks.map((d) => `${d.name}=${d.size}`).join(",")}` : h.name));
  try {
    await runLabScript(env, ["up", ...args]);
  } catch (e) {
    await runLabScript(env, ["down"]).catch(() => undefined);
    liveLabs.delete(key);
    throw e;
  }
  const info = JSON.parse(execFileSync(LAB_SCRIPT, ["info"], { env, encoding: "utf8" })) as LabInfo;
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
    if (!h) throw new Error(`no host '${name}' in lab ${opts.prefix} (hosts: ${hosts.map((x) => x.name).join(", ")})`);
    return h;
  };

  const ssh = async (name: string, script: string, o: SshOptions = {}): Promise<SshResult> => {
    host(name);
    const timeoutMs = o.timeoutMs ?? 120_000;
    const r = await runSsh(["-F", path.join(info.base, "ssh_config"), name, script], o.stdin, timeoutMs, children);
    const stderr = r.timedOut ? `${r.stderr}\n[lab] ssh to ${name} killed after ${timeoutMs} ms` : r.stderr;
    return { code: r.code, stdout: r.stdout, stderr };
  };

  return {
    prefix: opts.prefix,
    subnet: opts.subnet,
    hosts,
    privateKey: fs.readFileSync(info.keyFile, "utf8"),
    gateway: info.gateway,
    base: info.base,
    host,
    ssh,
    stopHost: async (name) => void (await runLabScript(env, ["stop", host(name).name])),
    startHost: async (name) => void (await runLabScript(env, ["start", host(name).name])),
    stopSshd: async (name) => void (await runLabScript(env, ["sshd-stop", host(name).name])),
    startSshd: async (name) => void (await runLabScript(env, ["sshd-start", host(name).name])),
    down: async () => {
      if (isDown) return;
      isDown = true;
      for (const c of children) c.kill("SIGKILL");
      if (opts.keep) {
        console.log(`[lab] kept: LAB_PREFIX=${opts.prefix} LAB_SUBNET=${opts.subnet} ${LAB_SCRIPT} down removes it`);
        liveLabs.delete(key);
        return;
      }
      await runLabScript(env, ["down"]);
      liveLabs.delete(key);
    },
  };
}
