import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { KUBEADM_VERSION_PLACEHOLDER, PLACEHOLDER } from "../../components/controlplane/render-kubeadm";
import { renderWitnessVersionEnv, type EtcdFlagSpelling } from "../../components/controlplane/render-witness";
import { clone, loadStack, runProgram, type TestConfig } from "../harness";
import { checkInvocation, helpOf, invocationsIn, missingTools, runTool, type FlagProblem, type Invocation } from "./k8s-tools";

/**
 * The real kubeadm, kubelet, kubectl, etcd and etcdctl (built by tools/engines/build-kubernetes.sh) against what the
 * program renders: every kubeadm configuration passes `kubeadm config validate`, names the images we expect, and every
 * flag the host scripts pass exists on the (sub)command they pass it to.
 */

/** What the checks run; the control-plane components only answer `--help` for their extra args. */
const TOOLS = ["kubeadm", "kubectl", "kubelet", "etcd", "etcdctl"] as const;
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
const ON_CI = process.env.CI === "true";
const missing = missingTools(ON_CI ? [...TOOLS, ...COMPONENTS] : TOOLS);
const missingComponents = missingTools(COMPONENTS);
const STACK_VERSION = (loadStack("dev").cluster as { kubernetesVersion: string }).kubernetesVersion;

type HostCfg = {
  name: string;
  address: string;
  roles: string[];
  os?: string;
  immutableRoot?: boolean;
  packagesPreinstalled?: boolean;
  labels?: Record<string, string>;
  taints?: string[];
  disks?: unknown[];
};
type ClusterCfg = { networking: { podSubnet: string; serviceSubnet: string }; endpoint: { address: string; port?: number } };

function withHosts(cfg: TestConfig, mutate: (hosts: HostCfg[], cluster: ClusterCfg) => void): TestConfig {
  const hosts = clone(cfg.hosts) as HostCfg[];
  const cluster = clone(cfg.cluster) as ClusterCfg;
  mutate(hosts, cluster);
  return { ...cfg, hosts, cluster };
}

/** Every example stack, and variations on them: HA with 3 control planes, custom subnets, taints and labels, a DNS-named worker. */
const SCENARIOS: Record<string, () => TestConfig> = {
  "example dev (2 control planes + witness, workers)": () => loadStack("dev"),
  "example mini (one control-plane + worker node)": () => loadStack("mini"),
  "example prod": () => loadStack("prod"),
  "3 control planes, 2 witnesses": () =>
    withHosts(loadStack("dev"), (hosts) => {
      const cp2 = hosts.find((h) => h.name === "cp-2") as HostCfg;
      hosts.splice(2, 0, { ...clone(cp2), name: "cp-3", address: "192.168.10.13" });
      (hosts.find((h) => h.name === "w-2") as HostCfg).roles = ["worker", "etcd"];
    }),
  "custom subnets, port, taints and labels; control planes that are also workers": () =>
    withHosts(loadStack("dev"), (hosts, cluster) => {
      cluster.networking.podSubnet = "172.20.0.0/16";
      cluster.networking.serviceSubnet = "172.21.0.0/20";
      cluster.endpoint.port = 8443;
      const cp2 = hosts.find((h) => h.name === "cp-2") as HostCfg;
      cp2.roles = ["control-plane", "worker"];
      cp2.taints = ["dedicated=infra:PreferNoSchedule"];
      const w2 = hosts.find((h) => h.name === "w-2") as HostCfg;
      w2.taints = ["dedicated=storage:NoSchedule", "example.com/maintenance:NoExecute"];
      w2.labels = { "example.com/tier": "storage", "node.kubernetes.io/exclude-from-external-load-balancers": "true" };
    }),
  "immutable roots: a Flatcar control plane and worker": () =>
    withHosts(loadStack("dev"), (hosts) => {
      for (const name of ["cp-2", "w-2"])
        Object.assign(hosts.find((h) => h.name === name) as HostCfg, { os: "flatcar", immutableRoot: true, packagesPreinstalled: true });
    }),
  "a worker addressed by DNS name": () =>
    withHosts(loadStack("dev"), (hosts) => {
      (hosts.find((h) => h.name === "w-3") as HostCfg).address = "w-3.lab.example.com";
    }),
};

/**
 * Shaped like the real secrets the scripts substitute (see render-scripts.ts' TOKEN_RE, CERT_KEY_RE, CA_HASH_RE), and
 * the installed kubeadm's version, which the upload-certs script fills in from `kubeadm version -o short`.
 */
const SECRETS: Record<string, string> = {
  [KUBEADM_VERSION_PLACEHOLDER]: "v1.33.4",
  [PLACEHOLDER.token]: "abcdef.0123456789abcdef",
  [PLACEHOLDER.certificateKey]: "0123456789abcdef".repeat(4),
  [PLACEHOLDER.caCertHash]: `sha256:${"ab".repeat(32)}`,
};

interface RenderedConfig {
  where: string;
  kinds: string[];
  text: string;
}

interface Rendered {
  configs: RenderedConfig[];
  invocations: Invocation[];
  scripts: { where: string; text: string }[];
}

/** The heredoc blocks of a script that hold kubeadm configuration, with the secrets filled in as the script does. */
function kubeadmConfigsIn(script: string, where: string): RenderedConfig[] {
  const out: RenderedConfig[] = [];
  for (const m of script.matchAll(/=\$\(cat <<'(\w+)'\n([\s\S]*?)\n\1\n/g)) {
    const body = m[2];
    if (!/^apiVersion: kubeadm\.k8s\.io\//m.test(body)) continue;
    let text = body;
    for (const [placeholder, value] of Object.entries(SECRETS)) text = text.split(placeholder).join(value);
    const kinds = parseAllDocuments(text).map((d) => String((d.toJS() as { kind?: string } | null)?.kind));
    out.push({ where, kinds, text: `${text}\n` });
  }
  return out;
}

/** The script a remote command runs: `[sudo -n ]bash -c '<script>'` unquoted (remoteScript in components/host/remote-script.ts). */
function scriptOf(command: string): string {
  const m = /^(?:sudo -n )?bash -c '([\s\S]*)'$/.exec(command);
  if (!m) throw new Error(`not a bash -c command: ${command.slice(0, 80)}`);
  return m[1].split(`'\\''`).join("'");
}

async function render(): Promise<Rendered> {
  const rendered: Rendered = { configs: [], invocations: [], scripts: [] };
  for (const [scenario, cfg] of Object.entries(SCENARIOS)) {
    const run = await runProgram(cfg());
    for (const c of run.commands()) {
      for (const op of ["create", "update", "delete"] as const) {
        const command = c.plainInputs[op];
        if (typeof command !== "string") continue;
        const text = scriptOf(command);
        const where = `${scenario} / ${c.name}.${op}`;
        rendered.scripts.push({ where, text });
        rendered.configs.push(...kubeadmConfigsIn(text, where));
        // `ctl` is the scripts' etcdctl wrapper (endpoints and certificates): what is passed to it goes to etcdctl.
        const invs = invocationsIn(text, where);
        if (/^ctl\(\) \{$/m.test(text)) invs.push(...invocationsIn(text.replace(/(^|[\s$(;!])ctl (?=\S)/gm, "$1etcdctl "), where));
        rendered.invocations.push(...invs.filter((i) => !(i.tool === "etcdctl" && i.words.includes("$@"))));
      }
    }
  }
  return rendered;
}

let dir = "";
let rendered: Rendered;

function writeConfig(c: RenderedConfig, i: number): string {
  const file = path.join(dir, `kubeadm-${i}.yaml`);
  writeFileSync(file, c.text);
  return file;
}

/** Cannot silently pass: on CI the binaries are part of the build (tools/engines/build-kubernetes.sh). */
describe.runIf(missing !== undefined && ON_CI)("real Kubernetes binaries on CI", () => {
  it("are built before the tests run", () => {
    throw new Error(`CI=true but ${missing}`);
  });
});

describe.skipIf(missing !== undefined)(
  `real kubeadm ${STACK_VERSION} against what the program renders${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), "kubeadm-real-"));
      rendered = await render();
    }, 300_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("are the stack's version: kubeadm version -o short and kubelet --version", () => {
      expect(runTool("kubeadm", ["version", "-o", "short"]).stdout.trim()).toBe(`v${STACK_VERSION}`);
      expect(runTool("kubelet", ["--version"]).stdout.trim()).toBe(`Kubernetes v${STACK_VERSION}`);
      expect(runTool("kubectl", ["version", "--client", "-o", "json"]).stdout).toContain(`"gitVersion": "v${STACK_VERSION}"`);
    });

    it("finds an init config, a control-plane join and a worker join in what the scenarios render", () => {
      const kinds = rendered.configs.map((c) => c.kinds.join("+"));
      expect(kinds).toContain("InitConfiguration+ClusterConfiguration");
      expect(rendered.configs.filter((c) => c.kinds[0] === "JoinConfiguration" && /^controlPlane:/m.test(c.text)).length).toBeGreaterThan(
        0,
      );
      expect(rendered.configs.filter((c) => c.kinds[0] === "JoinConfiguration" && !/^controlPlane:/m.test(c.text)).length).toBeGreaterThan(
        0,
      );
    });

    it("every kubeadm configuration passes kubeadm config validate, without a warning", () => {
      const failures: string[] = [];
      rendered.configs.forEach((c, i) => {
        const r = runTool("kubeadm", ["config", "validate", "--config", writeConfig(c, i)]);
        const out = `${r.stdout}${r.stderr}`.trim();
        if (r.status !== 0 || out !== "ok")
          failures.push(`${c.where} (${c.kinds.join("+")}): exit ${r.status}\n${out}\n--- config:\n${c.text}`);
      });
      expect(failures.join("\n\n")).toBe("");
    });

    it("kubeadm config images list names kubeadm's own images of this version, the etcd tag the witness reads", () => {
      const inits = rendered.configs.filter((c) => c.kinds[0] === "InitConfiguration");
      const lists = new Set<string>();
      inits.forEach((c, i) => {
        const r = runTool("kubeadm", ["config", "images", "list", "--config", writeConfig(c, 1000 + i)]);
        expect(r.status, `${c.where}: ${r.stderr}`).toBe(0);
        lists.add(r.stdout.trim());
      });
      expect(lists.size).toBe(1);
      const images = [...lists][0].split("\n");
      const v = `v${STACK_VERSION}`;
      for (const name of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"]) {
        expect(images).toContain(`registry.k8s.io/${name}:${v}`);
      }
      expect(images).toContain("registry.k8s.io/pause:3.10");
      const etcd = images.find((i) => i.startsWith("registry.k8s.io/etcd:"));
      expect(etcd).toBeDefined();

      // The witness takes the etcd version from the image line of the leader's etcd manifest, with the script's own sed.
      const certs = rendered.scripts.find((s) => s.where.includes("-etcd-certs.create"));
      expect(certs, "a witness certificate script").toBeDefined();
      const line = (certs?.text ?? "").split("\n").find((l) => l.startsWith("version=$(sed "));
      expect(line).toBeDefined();
      const manifest = path.join(dir, "etcd.yaml");
      writeFileSync(manifest, `spec:\n  containers:\n  - command:\n    - etcd\n    image: ${etcd}\n    imagePullPolicy: IfNotPresent\n`);
      const r = spawnSync("bash", ["-c", `set -euo pipefail; manifest=$1; ${line ?? ""}; printf '%s' "$version"`, "_", manifest], {
        encoding: "utf8",
      });
      const etcdBin = runTool("etcd", ["--version"]).stdout.match(/etcd Version: (\S+)/)?.[1];
      expect(r.stdout).toBe(etcdBin);
      expect(etcd).toBe(`registry.k8s.io/etcd:${etcdBin}-0`);
    });

    it.skipIf(missingComponents !== undefined)(
      `every kubelet extra arg and control-plane component extra arg in the configurations is a flag of the real binary${missingComponents ? ` (skipped: ${missingComponents})` : ""}`,
      () => {
        const problems: string[] = [];
        const check = (tool: string, args: unknown, where: string) => {
          for (const a of (args ?? []) as { name: string }[]) {
            if (!helpOf(tool, []).flags.has(a.name)) problems.push(`${where}: ${tool} has no flag --${a.name}`);
          }
        };
        let kubeletArgs = 0;
        for (const c of rendered.configs) {
          for (const d of parseAllDocuments(c.text).map((x) => x.toJS() as Record<string, Record<string, unknown> | undefined>)) {
            const nodeRegistration = d.nodeRegistration as { kubeletExtraArgs?: unknown[] } | undefined;
            kubeletArgs += nodeRegistration?.kubeletExtraArgs?.length ?? 0;
            check("kubelet", nodeRegistration?.kubeletExtraArgs, c.where);
            check("kube-apiserver", d.apiServer?.extraArgs, c.where);
            check("kube-controller-manager", d.controllerManager?.extraArgs, c.where);
            check("kube-scheduler", d.scheduler?.extraArgs, c.where);
            check("etcd", (d.etcd?.local as { extraArgs?: unknown } | undefined)?.extraArgs, c.where);
          }
        }
        expect(kubeletArgs).toBeGreaterThan(0);
        expect(problems).toEqual([]);
      },
    );

    it("the real kubelet accepts the flags and values kubeadm passes it (kubeletExtraArgs), up to loading its config file", () => {
      const failures: string[] = [];
      const seen = new Set<string>();
      for (const c of rendered.configs) {
        for (const d of parseAllDocuments(c.text).map(
          (x) => x.toJS() as { nodeRegistration?: { kubeletExtraArgs?: { name: string; value: string }[] } },
        )) {
          const args = (d.nodeRegistration?.kubeletExtraArgs ?? []).map((a) => `--${a.name}=${a.value}`);
          const key = args.join(" ");
          if (args.length === 0 || seen.has(key)) continue;
          seen.add(key);
          // The kubelet parses and validates its flags (--node-labels: qualified names, no kubernetes.io label it may not set)
          // before it reads --config; a config file that does not exist stops it there, before it touches the machine.
          const r = runTool("kubelet", [...args, `--config=${path.join(dir, "no-such-kubelet-config.yaml")}`]);
          if (!r.stderr.includes("failed to load kubelet config file")) failures.push(`${c.where}: kubelet ${key}\n${r.stderr.trim()}`);
        }
      }
      expect(seen.size).toBeGreaterThan(0);
      expect(failures.join("\n\n")).toBe("");
    });

    it("every flag the host scripts pass to kubeadm, kubectl, kubelet, etcd and etcdctl exists on that (sub)command", () => {
      const table = new Map<string, Set<string>>();
      const problems: FlagProblem[] = [];
      for (const inv of rendered.invocations) {
        const r = checkInvocation(inv);
        const flags = table.get(r.command) ?? new Set<string>();
        r.flags.forEach((f) => flags.add(f));
        table.set(r.command, flags);
        problems.push(...r.problems);
      }
      // The commands the scripts are known to run, so the extraction itself cannot quietly find nothing.
      for (const cmd of [
        "kubeadm init",
        "kubeadm join",
        "kubeadm init phase upload-certs",
        "kubeadm reset",
        "kubeadm reset phase remove-etcd-member",
      ]) {
        expect([...table.keys()], cmd).toContain(cmd);
      }
      for (const cmd of ["kubectl apply", "kubectl drain", "kubectl delete", "kubectl get", "etcdctl member add", "etcdctl member list"]) {
        expect([...table.keys()], cmd).toContain(cmd);
      }
      const summary = [...table.entries()].map(([cmd, flags]) => `${cmd}: ${[...flags].sort().join(" ")}`).sort();
      console.log(`commands and flags the rendered scripts use:\n${summary.join("\n")}`);
      // One line per distinct problem (the same script line recurs across scenarios).
      const distinct = [...new Set(problems.map((p) => `${p.command}: ${p.problem} (${p.where.replace(/^[^/]+\/ /, "")})`))];
      expect(distinct).toEqual([]);
    });

    it("the witness's etcd environment names only flags of the real etcd", () => {
      const envs = new Set<string>();
      for (const s of rendered.scripts) {
        for (const m of s.text.matchAll(/(?:^|')(ETCD_[A-Z0-9_]+)=/gm)) envs.add(m[1]);
        for (const m of s.text.matchAll(/"\$env"\$'\\n'"(ETCD_[A-Z0-9_]+)=/g)) envs.add(m[1]);
      }
      expect(envs.size).toBeGreaterThan(0);
      // The script picks one spelling of two flags on the host, from the etcd version it runs: check the
      // spelling for the etcd built here, and that the other one is really the other version's.
      const version = runTool("etcd", ["--version"]).stdout.match(/etcd Version: (\d+)\.(\d+)/);
      expect(version).not.toBeNull();
      const builtSpelling: EtcdFlagSpelling = Number(version?.[1]) > 3 || Number(version?.[2]) >= 6 ? "3.6" : "experimental";
      const names = (spelling: EtcdFlagSpelling) =>
        renderWitnessVersionEnv(spelling)
          .split("\n")
          .map((l) => l.split("=")[0]);
      const otherSpelling = names(builtSpelling === "3.6" ? "experimental" : "3.6").filter((n) => !names(builtSpelling).includes(n));
      for (const n of names(builtSpelling)) expect(envs).toContain(n);
      const flags = helpOf("etcd", []).flags;
      const asFlag = (e: string) => e.slice("ETCD_".length).toLowerCase().replace(/_/g, "-");
      const unknown = [...envs].filter((e) => !otherSpelling.includes(e) && !flags.has(asFlag(e)));
      expect(unknown).toEqual([]);
      expect(otherSpelling.filter((e) => flags.has(asFlag(e)) && e !== "ETCD_FEATURE_GATES")).toEqual([]);
    });
  },
);

/** Needs no binary: the renderer's side of the flags checked above against the real kubelet and controller-manager. */
describe("kubeadm configuration on immutable roots", () => {
  it("moves the kubelet's and the controller-manager's flexvolume directory off the read-only /usr", async () => {
    const run = await runProgram(SCENARIOS["immutable roots: a Flatcar control plane and worker"]());
    const configOf = (name: string) => kubeadmConfigsIn(scriptOf(String(run.get(name).plainInputs.create)), name)[0].text;
    const dir = "/var/lib/kubelet/volumeplugins";
    for (const step of ["cp-2-kubeadm-join", "w-2-kubeadm-join"]) {
      expect(configOf(step), step).toContain(`- name: volume-plugin-dir\n      value: ${dir}\n`);
    }
    expect(configOf("w-3-kubeadm-join")).not.toContain("volume-plugin-dir");
    // Cluster-wide: every controller-manager mounts this directory, so the one on cp-2 can start.
    expect(configOf("cp-1-kubeadm-init")).toContain(
      `controllerManager:\n  extraArgs:\n    - name: flex-volume-plugin-dir\n      value: ${dir}\n`,
    );
    const plain = await runProgram(loadStack("dev"));
    expect(scriptOf(String(plain.get("cp-1-kubeadm-init").plainInputs.create))).not.toContain("flex-volume-plugin-dir");
  });
});
