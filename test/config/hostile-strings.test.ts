import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { validateConfig } from "../../components/config";
import { shQuote } from "../../components/host/remote-script";
import { clone, loadStack, runProgram, type TestConfig } from "../harness";

/**
 * Property: every free-text key of the config, given a hostile string, is
 * either refused with an error finding on that key, or the value reaches the
 * rendered scripts (and the fstab lines, config files and heredocs inside
 * them) only quoted. The strings are generated deterministically: each base
 * string alone and wrapped in what a real value of the key looks like (a path
 * prefix, a device directory, a host key), so a value that is valid up to its
 * hostile tail is tried too.
 */

const BASE_STRINGS: readonly string[] = [
  "a\nb",
  "a\r\nb",
  "\nnotify_master /bin/sh",
  "x\nEOF\ntouch /tmp/pwned\ncat <<'EOF'",
  "EOF",
  "$(touch /tmp/pwned)",
  "${HOME}",
  "`id`",
  "a'b",
  'a"b',
  "a;b",
  "a b",
  "a\tb",
  "a#b",
  "#comment",
  "a|b",
  "a&b",
  "a>b",
  "a*b",
  "a\\b",
  "a,b=c",
  "{a}",
  "a\u0000b",
  "a\u001bb",
  "a\u007fb",
  "données",
  "a\u202eb",
  "a\u2028b",
  "a\u00a0b",
  "x".repeat(5000),
  "-oProxyCommand=touch /tmp/pwned",
  "..",
  "",
];

/** The parts of the dev stack the setters write (the dev stack has every one of them). */
interface Cfg extends TestConfig {
  cluster: {
    name: string;
    kubernetesVersion: string;
    endpoint: { address: string; keepalived: { interface: string } };
    networking: { podSubnet: string; serviceSubnet: string };
    ssh: { user: string };
    kubelet?: { rootDir: string };
    packageMirrors?: { distribution?: string; kubernetes?: string };
  };
  hosts: {
    name: string;
    address: string;
    hostKey?: string;
    taints?: string[];
    labels?: Record<string, string>;
    disks: { name?: string; device: string; mountpoint?: string; storageClass?: string }[];
  }[];
  storage: {
    defaultClass?: string;
    longhorn: { version: string; dataPath?: string };
    rookCeph: { version: string };
    localStatic: { version: string; classes: { name: string; hostDir: string }[] };
  };
}

interface FreeTextKey {
  /** The key path a refusal must name (a finding at it, or under it for map keys). */
  path: string;
  /** Realistic shapes of the key around a hostile string. */
  wrap: ((s: string) => string)[];
  set: (cfg: Cfg, value: string) => void;
}

const RAW = (s: string) => s;
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4";

/** Every key whose value is free text (strings the user chooses), in the example dev stack. */
const KEYS: readonly FreeTextKey[] = [
  { path: "cluster.name", wrap: [RAW, (s) => `lab${s}`], set: (c, v) => (c.cluster.name = v) },
  { path: "cluster.kubernetesVersion", wrap: [RAW, (s) => `1.33.4${s}`], set: (c, v) => (c.cluster.kubernetesVersion = v) },
  {
    path: "cluster.endpoint.address",
    wrap: [RAW, (s) => `192.168.10.10${s}`],
    set: (c, v) => {
      // keepalived by default, so a value that is a DNS name is accepted (no VIP to hold) and rendered.
      c.cluster.endpoint = { address: v, keepalived: { interface: "eth0" } };
    },
  },
  {
    path: "cluster.endpoint.keepalived.interface",
    wrap: [RAW, (s) => `eth0${s}`],
    set: (c, v) => (c.cluster.endpoint.keepalived.interface = v),
  },
  {
    path: "cluster.networking.podSubnet",
    wrap: [RAW, (s) => `10.244.0.0/16${s}`],
    set: (c, v) => (c.cluster.networking.podSubnet = v),
  },
  {
    path: "cluster.networking.serviceSubnet",
    wrap: [RAW, (s) => `10.96.0.0/12${s}`],
    set: (c, v) => (c.cluster.networking.serviceSubnet = v),
  },
  { path: "cluster.ssh.user", wrap: [RAW, (s) => `ops${s}`], set: (c, v) => (c.cluster.ssh.user = v) },
  { path: "cluster.kubelet.rootDir", wrap: [(s) => `/var/lib/kubelet${s}`], set: (c, v) => (c.cluster.kubelet = { rootDir: v }) },
  {
    path: "cluster.packageMirrors.distribution",
    wrap: [RAW, (s) => `http://mirror.lan/debian${s}`, (s) => `http://mirror.lan/${s}/debian`, (s) => `http://${s}/debian`],
    set: (c, v) => (c.cluster.packageMirrors = { distribution: v, kubernetes: "http://mirror.lan/k8s" }),
  },
  {
    path: "cluster.packageMirrors.kubernetes",
    wrap: [RAW, (s) => `http://mirror.lan/k8s${s}`, (s) => `https://mirror.lan/${s}/k8s`, (s) => `https://${s}`],
    set: (c, v) => (c.cluster.packageMirrors = { distribution: "http://mirror.lan/debian", kubernetes: v }),
  },
  { path: "hosts[0].name", wrap: [RAW, (s) => `cp-1${s}`], set: (c, v) => (c.hosts[0].name = v) },
  { path: "hosts[0].address", wrap: [RAW, (s) => `192.168.10.11${s}`], set: (c, v) => (c.hosts[0].address = v) },
  { path: "hosts[0].hostKey", wrap: [RAW, (s) => `${KEY} ${s}`, (s) => `${KEY}${s}`], set: (c, v) => (c.hosts[0].hostKey = v) },
  {
    path: "hosts[0].taints[0]",
    wrap: [RAW, (s) => `k=${s}:NoSchedule`, (s) => `${s}=v:NoSchedule`],
    set: (c, v) => (c.hosts[0].taints = [v]),
  },
  {
    path: "hosts[2].labels",
    wrap: [RAW, (s) => `rack-a${s}`],
    set: (c, v) => (c.hosts[2].labels = { "topology.kubernetes.io/zone": v }),
  },
  { path: "hosts[2].labels", wrap: [RAW, (s) => `example.com/${s}`], set: (c, v) => (c.hosts[2].labels = { [v]: "x" }) },
  { path: "hosts[0].disks[0].name", wrap: [RAW, (s) => `backup${s}`], set: (c, v) => (c.hosts[0].disks[0].name = v) },
  {
    path: "hosts[0].disks[0].device",
    wrap: [(s) => `/dev/disk/by-id/${s}`, (s) => `/dev/${s}`, RAW],
    set: (c, v) => (c.hosts[0].disks[0].device = v),
  },
  { path: "hosts[0].disks[0].mountpoint", wrap: [(s) => `/srv/${s}`, RAW], set: (c, v) => (c.hosts[0].disks[0].mountpoint = v) },
  { path: "hosts[2].disks[1].storageClass", wrap: [RAW, (s) => `fast-ssd${s}`], set: (c, v) => (c.hosts[2].disks[1].storageClass = v) },
  { path: "storage.defaultClass", wrap: [RAW, (s) => `ceph-block${s}`], set: (c, v) => (c.storage.defaultClass = v) },
  { path: "storage.longhorn.version", wrap: [RAW, (s) => `1.10.1${s}`], set: (c, v) => (c.storage.longhorn.version = v) },
  { path: "storage.longhorn.dataPath", wrap: [(s) => `/var/lib/${s}`, RAW], set: (c, v) => (c.storage.longhorn.dataPath = v) },
  { path: "storage.rookCeph.version", wrap: [RAW, (s) => `v1.19.2${s}`], set: (c, v) => (c.storage.rookCeph.version = v) },
  { path: "storage.localStatic.version", wrap: [RAW, (s) => `2.8.0${s}`], set: (c, v) => (c.storage.localStatic.version = v) },
  {
    path: "storage.localStatic.classes[0].name",
    wrap: [RAW, (s) => `fast-ssd${s}`],
    set: (c, v) => (c.storage.localStatic.classes[0].name = v),
  },
  {
    path: "storage.localStatic.classes[0].hostDir",
    wrap: [(s) => `/var/lib/disks/${s}`, RAW],
    set: (c, v) => (c.storage.localStatic.classes[0].hostDir = v),
  },
];

const DEV = loadStack("dev");

function base(): Cfg {
  const cfg = clone(DEV) as Cfg;
  cfg.hosts[0].taints = ["dedicated=infra:NoSchedule"];
  return cfg;
}

function raw(cfg: TestConfig) {
  return { cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true };
}

/** Characters that mean something in a shell word, an fstab line, YAML or keepalived.conf. */
const SPECIAL = /[^A-Za-z0-9._+@:=/-]/u;

/**
 * Occurrences of `value` in `text` that are not inside its shell quoting: a
 * line where the value appears must carry it as shQuote(value) (or inside a
 * longer single-quoted word), never bare.
 */
function unquotedOccurrences(text: string, value: string): number {
  let count = 0;
  const quoted = shQuote(value);
  for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
    const lineStart = text.lastIndexOf("\n", at) + 1;
    const before = text.slice(lineStart, at);
    const insideSingle = (before.match(/'/g) ?? []).length % 2 === 1;
    const asQuoted = text.slice(Math.max(0, at - 1), at - 1 + quoted.length) === quoted;
    if (!insideSingle && !asQuoted) count++;
  }
  return count;
}

/** Every script text a host receives: create, update, delete and stdin of each remote command. */
function scripts(resources: { type: string; plainInputs: Record<string, unknown> }[]): string[] {
  const out: string[] = [];
  for (const r of resources) {
    for (const k of ["create", "update", "delete", "stdin"]) {
      const v = r.plainInputs[k];
      if (typeof v === "string") out.push(v);
    }
  }
  return out;
}

describe("hostile strings in every free-text key", () => {
  const cases = KEYS.flatMap((key) =>
    key.wrap.flatMap((wrap, w) =>
      BASE_STRINGS.map((s, i) => ({ key, value: wrap(s), label: `${key.path} #${w}.${i} ${JSON.stringify(wrap(s)).slice(0, 40)}` })),
    ),
  );

  it("the base config is valid, so each refusal comes from the hostile value", () => {
    expect(analyze(raw(base())).findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it("the quoting check sees a bare value and accepts a quoted one", () => {
    expect(unquotedOccurrences(`mkdir -p /srv/a b\n`, "/srv/a b")).toBe(1);
    expect(unquotedOccurrences(`mkdir -p ${shQuote("/srv/a b")}\n`, "/srv/a b")).toBe(0);
    expect(unquotedOccurrences(`# mounts /srv/a b\n`, "/srv/a b")).toBe(1);
  });

  it(`each of ${cases.length} hostile values is refused on its key, or reaches the scripts only quoted`, async () => {
    const accepted: { key: FreeTextKey; value: string }[] = [];
    const notNamed: string[] = [];
    for (const { key, value, label } of cases) {
      const cfg = base();
      key.set(cfg, value);
      // validateConfig first (fast); the whole analysis only for what it lets through.
      let errors = validateConfig(raw(cfg)).findings.filter((f) => f.severity === "error");
      if (errors.length === 0) errors = analyze(raw(cfg)).findings.filter((f) => f.severity === "error");
      if (errors.length === 0) {
        accepted.push({ key, value });
      } else if (!errors.some((f) => f.path === key.path || f.path.startsWith(`${key.path}.`))) {
        notNamed.push(`${label}: refused, but at ${errors.map((f) => f.path).join(", ")}`);
      }
    }
    expect(notNamed).toEqual([]);
    // What passes must be harmless where it lands: rendered, every occurrence quoted.
    const unsafe: string[] = [];
    for (const { key, value } of accepted.filter((a) => SPECIAL.test(a.value))) {
      const cfg = base();
      key.set(cfg, value);
      const run = await runProgram(cfg);
      const bare = scripts(run.resources).reduce((n, text) => n + unquotedOccurrences(text, value), 0);
      if (bare > 0) unsafe.push(`${key.path} = ${JSON.stringify(value).slice(0, 60)}: ${bare} unquoted occurrence(s)`);
    }
    expect(unsafe).toEqual([]);
  }, 120_000);

  it("a value of the same keys without hostile characters still renders (the scan sees real values)", async () => {
    const cfg = base();
    cfg.hosts[0].disks[0].mountpoint = "/srv/backup-2";
    const run = await runProgram(cfg);
    const texts = scripts(run.resources);
    expect(texts.some((t) => t.includes("/srv/backup-2"))).toBe(true);
  }, 60_000);
});
