import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { describe, expect, it } from "vitest";
import { hostConnection } from "../../components/host/connection";
import { remoteScript } from "../../components/host/remote-script";
import type { RecordedResource } from "../../plan/evaluate";
import { INSECURE_HOST_KEY_TAG, policies } from "../../policy/policies";
import { loadStack, REPO_ROOT, runProgram, TEST_SSH_KEY } from "../harness";
import { recorded, violations } from "./args";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

function policy(name: string) {
  const p = policies.find((x) => x.name === name);
  if (!p) throw new Error(`no policy ${name}`);
  return p;
}

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/";
const cluster = {
  name: "homelab",
  kubernetesVersion: "1.33.4",
  endpoint: { address: "192.168.10.10", port: 6443, keepalived: { enabled: false as const } },
  networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", cni: "cilium" as const },
  faultTolerance: 0,
  ssh: { user: "root", port: 22, insecureIgnoreHostKey: false },
  kubelet: { rootDir: "/var/lib/kubelet" },
  packageMirrors: {},
  upgrade: { maxUnavailableWorkers: 1, waitForStorage: true, intermediateVersions: [] },
};
const host = {
  name: "cp-1",
  address: "192.168.10.11",
  hostKey: HOST_KEY,
  roles: ["control-plane" as const],
  os: "ubuntu" as const,
  immutableRoot: false,
  packagesPreinstalled: false,
  labels: {},
  taints: [],
  disks: [],
};

/** A remote command as the host components build it: the real connection and script wrapper. */
function command(
  name: string,
  inputs: Record<string, unknown>,
  opts: { hostKey?: string | undefined } = { hostKey: HOST_KEY },
): RecordedResource {
  const connection = {
    ...hostConnection({ ...host, ...(opts.hostKey ? { hostKey: opts.hostKey } : { hostKey: undefined }) }, cluster, TEST_SSH_KEY),
  };
  const script = "#!/usr/bin/env bash\nset -euo pipefail\necho ok\n";
  return recorded(
    "command:remote:Command",
    name,
    { connection, create: remoteScript(script, "root"), ...inputs },
    { secretPaths: ["connection"] },
  );
}

function release(name: string, inputs: Record<string, unknown>, extra: Partial<RecordedResource> = {}): RecordedResource {
  return recorded("kubernetes:helm.sh/v3:Release", name, { namespace: "storage", ...inputs }, extra);
}

describe("what a policy sees of a secret", () => {
  it("gets secret inputs unwrapped to plain values by the policy SDK, indistinguishable from plain strings", async () => {
    // The SDK's own deserializer, as the analyzer server runs it for validateResource (proxySecrets = false).
    const { deserializeProperties } = (await import("@pulumi/policy/deserialize.js")) as unknown as {
      deserializeProperties: (s: Struct, proxySecrets: boolean) => Record<string, unknown>;
    };
    const wire = Struct.fromJavaScript({ stdin: { [SIG]: SECRET, value: "token abcdef.0123456789abcdef" }, create: "cat" });
    const props = deserializeProperties(wire, false);
    expect(props).toEqual({ stdin: "token abcdef.0123456789abcdef", create: "cat" });
    expect(typeof props.stdin).toBe("string");
  });
});

describe("ssh-host-key-pinned", () => {
  const p = policy("ssh-host-key-pinned");
  it("passes a remote command whose connection pins the host key", async () => {
    expect(await violations(p, command("cp-1-prepare", {}))).toEqual([]);
  });
  it("refuses a remote command without a host key, naming the address and the fix", async () => {
    const v = await violations(p, command("cp-1-prepare", {}, { hostKey: undefined }));
    expect(v).toHaveLength(1);
    expect(v[0]).toContain("192.168.10.11");
    expect(v[0]).toContain("ssh-keyscan");
  });
  it("refuses a CopyToRemote without a host key too", async () => {
    const copy = recorded("command:remote:CopyToRemote", "cp-1-copy", {
      connection: { host: "192.168.10.11", privateKey: TEST_SSH_KEY },
      remotePath: "/tmp/x",
    });
    expect(await violations(p, copy)).toHaveLength(1);
  });
  it("refuses an unpinned jump host", async () => {
    const c = command("cp-1-prepare", {});
    (c.plainInputs.connection as Record<string, unknown>).proxy = { host: "10.0.0.1", user: "jump" };
    expect((await violations(p, c)).join()).toContain("jump host 10.0.0.1");
  });
  it("accepts an unpinned command when the stack is tagged as having opted out", async () => {
    expect(await violations(p, command("cp-1-prepare", {}, { hostKey: undefined }), { [INSECURE_HOST_KEY_TAG]: "true" })).toEqual([]);
  });
});

describe("no-secret-in-plain-command-inputs", () => {
  const p = policy("no-secret-in-plain-command-inputs");
  it("passes secrets carried on stdin and the private key in the connection", async () => {
    const c = command("cp-1-kubeadm-join", { stdin: "abcdef.0123456789abcdef\n" });
    expect(await violations(p, c)).toEqual([]);
  });
  it("does not mistake sysctl keys, hostnames or content hashes for tokens", async () => {
    const c = command("cp-1-prepare", {
      create: "sysctl -w kernel.panicxonxoopsabc=1 net.bridge.bridge-nf-call-iptables=1 && ping -c1 mirror.debianbackports && echo abcdef",
      triggers: ["0123456789abcdef", "config.0123456789abcdef0"],
    });
    expect(await violations(p, c)).toEqual([]);
  });
  it("refuses a bootstrap token on the command line", async () => {
    const c = command("w-1-kubeadm-join", {
      create: "kubeadm join 192.168.10.10:6443 --token abcdef.0123456789abcdef --discovery-token-unsafe-skip-ca-verification",
    });
    const v = await violations(p, c);
    expect(v).toHaveLength(1);
    expect(v[0]).toContain("input create holds a kubeadm bootstrap token");
  });
  it("refuses a private key in the environment and a certificate key in triggers", async () => {
    const c = command("cp-2-join", {
      environment: { SSH_KEY: TEST_SSH_KEY.replace("OPENSSH ", "") },
      triggers: [`certificate-key=${"a1".repeat(32)}`],
    });
    const v = await violations(p, c);
    expect(v.map((m) => m.split(" holds ")[0])).toEqual(["cp-2-join: input environment.SSH_KEY", "cp-2-join: input triggers[0]"]);
  });
  it("refuses a literal VRRP password but not one read from stdin", async () => {
    expect(
      await violations(p, command("cp-1-keepalived", { create: "printf 'auth_pass s3cr3t\\n' > /etc/keepalived/keepalived.conf" })),
    ).toHaveLength(1);
    expect(await violations(p, command("cp-1-keepalived", { create: 'read -r pass; echo "auth_pass $pass" >> conf' }))).toEqual([]);
    // A placeholder the script replaces with the password it reads from stdin is not a secret.
    expect(await violations(p, command("cp-1-keepalived", { create: 'conf="auth_pass __VRRP_PASSWORD__"; read -r pass' }))).toEqual([]);
  });
});

describe("no-curl-pipe-shell", () => {
  const p = policy("no-curl-pipe-shell");
  const refused = [
    "curl -fsSL https://get.example.com | sh",
    "curl -sfL https://get.k3s.io | sudo -E bash -s -",
    "wget -qO- https://example.com/install.sh | bash",
    "wget -O - https://example.com/x | tee /tmp/log | /bin/sh",
    "bash <(curl -s https://example.com/x.sh)",
    'sh -c "$(curl -fsSL https://example.com/x.sh)"',
    'eval "$(wget -qO- https://example.com/env)"',
    "curl -s https://example.com/x.py | python3",
  ];
  for (const line of refused) {
    it(`refuses ${line}`, async () => {
      const v = await violations(p, command("cp-1-install", { create: remoteScript(`set -euo pipefail\n${line}\n`, "admin") }));
      expect(v).toHaveLength(1);
      expect(v[0]).toContain("sha256");
    });
  }
  const accepted = [
    "curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release.key | gpg --dearmor -o /etc/apt/keyrings/kubernetes.gpg",
    'curl -fsSLo /tmp/x.sh https://example.com/x.sh && echo "$SUM  /tmp/x.sh" | sha256sum -c && bash /tmp/x.sh',
    "apt-get install -y kubeadm | tee /var/log/install.log",
  ];
  for (const line of accepted) {
    it(`accepts ${line.slice(0, 60)}`, async () => {
      expect(await violations(p, command("cp-1-install", { create: line }))).toEqual([]);
    });
  }
  it("looks at delete and local commands too", async () => {
    const local = recorded("command:local:Command", "fetch", { delete: "curl https://x | sh" });
    expect(await violations(p, local)).toHaveLength(1);
  });
});

describe("helm-chart-version-pinned", () => {
  const p = policy("helm-chart-version-pinned");
  it("passes an exact version", async () => {
    expect(
      await violations(p, release("cilium", { chart: "cilium", version: "1.18.3", repositoryOpts: { repo: "https://helm.cilium.io" } })),
    ).toEqual([]);
  });
  it("passes a local chart directory, pinned by its content", async () => {
    expect(await violations(p, release("local", { chart: "./charts/local-static-provisioner" }))).toEqual([]);
  });
  for (const version of [undefined, "", "1.x", "^1.10.0", "~1.10", ">=1.0.0", "latest", "*"]) {
    it(`refuses version ${JSON.stringify(version)}`, async () => {
      const v = await violations(
        p,
        release("longhorn", { chart: "longhorn", ...(version === undefined ? {} : { version }) }, { protect: true }),
      );
      expect(v).toHaveLength(1);
      expect(v[0]).toContain("exact");
    });
  }
  it("covers the network releases: MetalLB and Traefik of the dev example pass pinned, and fail with a range", async () => {
    const run = await runProgram(loadStack("dev"));
    for (const name of ["metallb", "traefik"]) {
      const r = run.get(name, "kubernetes:helm.sh/v3:Release");
      expect(await violations(p, r), name).toEqual([]);
      expect(await violations(p, { ...r, plainInputs: { ...r.plainInputs, version: "0.15.x" } }), name).toHaveLength(1);
    }
  });
  it("checks helm v4 Chart components as well", async () => {
    const chart = recorded("kubernetes:helm.sh/v4:Chart", "cilium", { chart: "oci://quay.io/cilium/charts/cilium" }, { custom: false });
    expect(await violations(p, chart)).toHaveLength(1);
  });
});

describe("storage-release-protected", () => {
  const p = policy("storage-release-protected");
  it("passes a protected Longhorn release", async () => {
    expect(
      await violations(p, release("longhorn", { chart: "longhorn", version: "1.10.1" }, { protect: true, retainOnDelete: true })),
    ).toEqual([]);
  });
  for (const chart of [
    "longhorn",
    "rook-release/rook-ceph",
    "oci://ghcr.io/rook/rook-ceph-cluster",
    "sig-storage-local-static-provisioner/local-static-provisioner",
  ]) {
    it(`refuses an unprotected ${chart} release, even with retainOnDelete (which the analyzer does not send)`, async () => {
      const v = await violations(p, release("storage", { chart, version: "1.0.0" }, { retainOnDelete: true }));
      expect(v).toHaveLength(1);
      expect(v[0]).toContain("protect: true");
    });
  }
  it("leaves non-storage charts alone", async () => {
    expect(await violations(p, release("cilium", { chart: "cilium", version: "1.18.3" }))).toEqual([]);
  });
});

describe("the dev stack", () => {
  it("has no policy violation in any resource it registers", async () => {
    const run = await runProgram(loadStack("dev"));
    expect(run.resources.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const r of run.resources) for (const p of policies) for (const m of await violations(p, r)) found.push(`${p.name}: ${m}`);
    expect(found).toEqual([]);
  });

  it("keeps secrets secret where the policies cannot look: connection and stdin of every command", async () => {
    const run = await runProgram(loadStack("dev"));
    const leaks = run
      .commands()
      .flatMap((c) => [
        ...(c.plainInputs.connection !== undefined && !run.isSecretInput(c, "connection") ? [`${c.name}.connection`] : []),
        ...(c.plainInputs.stdin !== undefined && !run.isSecretInput(c, "stdin") ? [`${c.name}.stdin`] : []),
      ]);
    expect(leaks).toEqual([]);
  });
});

describe("the pack's metadata and config", () => {
  it("every policy says how to fix a violation", () => {
    for (const p of policies) expect(p.remediationSteps?.length ?? 0, p.name).toBeGreaterThan(20);
  });

  it("policy/config/insecure-host-keys.json is a policy pack config that names an existing policy", () => {
    const cfg = JSON.parse(readFileSync(path.join(REPO_ROOT, "policy/config/insecure-host-keys.json"), "utf8")) as Record<string, unknown>;
    for (const [name, level] of Object.entries(cfg)) {
      expect(policies.map((p) => p.name)).toContain(name);
      expect(level).toEqual({ enforcementLevel: "advisory" });
    }
  });
});
