import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { describe, expect, it } from "vitest";
import { clone, loadStack, runProgram, runProgramExpectingError, type ProgramRun, type TestConfig } from "../harness";

type HostCfg = { name: string; address: string; roles: string[]; hostKey?: string; disks?: unknown[] };

/** Known values for the generated secrets, so a test can look for them anywhere they must not be. */
const SECRET_VALUES: Record<string, Record<string, string>> = {
  "bootstrap-token-id": { result: "abc123" },
  "bootstrap-token-secret": { result: "0123456789abcdef" },
  "certificate-key": { hex: "f".repeat(64), base64: "//8=" },
  "vrrp-password": { result: "Vr9pW0rd" },
};
const handler = (args: MockResourceArgs) => ({ ...(args.inputs as Record<string, unknown>), ...(SECRET_VALUES[args.name] ?? {}) });

function withHosts(mutate: (hosts: HostCfg[]) => void, cfg: TestConfig = loadStack("dev")): TestConfig {
  const hosts = clone(cfg.hosts) as HostCfg[];
  mutate(hosts);
  return { ...cfg, hosts };
}

/** The example lab plus a third control plane cp-3 (after cp-2) and a second witness w-2. */
function threeControlPlanes(): TestConfig {
  return withHosts((hosts) => {
    const cp2 = hosts.find((h) => h.name === "cp-2") as HostCfg;
    hosts.splice(2, 0, { ...clone(cp2), name: "cp-3", address: "192.168.10.13" });
    (hosts.find((h) => h.name === "w-2") as HostCfg).roles = ["worker", "etcd"];
  });
}

const WORKER_STEPS = (run: ProgramRun) => run.commands().filter((r) => /^w-\d+-(kubeadm-join|join-token|node)$/.test(r.name));

describe("control-plane bring-up order", () => {
  it("leader keepalived -> kubeadm init -> follower certificates -> follower join -> follower keepalived", async () => {
    const run = await runProgram(loadStack("dev"));
    run.assertAfter("cp-1-kubeadm-init", "cp-1-keepalived");
    run.assertAfter("cp-2-upload-certs", "cp-1-kubeadm-init");
    run.assertAfter("cp-2-kubeadm-join", "cp-2-upload-certs");
    run.assertAfter("cp-2-keepalived", "cp-2-kubeadm-join");
    // The re-upload runs on the leader, right before the join.
    expect(run.hostAddressOf(run.get("cp-2-upload-certs"))).toBe("192.168.10.11");
    expect(run.hostAddressOf(run.get("cp-2-kubeadm-join"))).toBe("192.168.10.12");
  });

  it("joins followers one at a time, each after a fresh certificate upload, and witnesses after the last follower, one at a time", async () => {
    const run = await runProgram(threeControlPlanes());
    run.assertAfter("cp-3-upload-certs", "cp-2-kubeadm-join");
    run.assertAfter("cp-3-kubeadm-join", "cp-3-upload-certs");
    expect(run.waitsFor("cp-2-kubeadm-join", "cp-3-kubeadm-join")).toBe(false);
    // follower keepalived does not hold up the next join
    expect(run.waitsFor("cp-3-kubeadm-join", "cp-2-keepalived")).toBe(false);
    run.assertAfter("w-1-etcd-member", "cp-3-kubeadm-join");
    run.assertAfter("w-2-etcd-member", "w-1-etcd-member");
    run.assertAfter("w-1-etcd-member", "w-1-etcd-certs");
    expect(run.hostAddressOf(run.get("w-1-etcd-certs"))).toBe("192.168.10.11");
    expect(run.outputs.etcdVoters).toEqual(["cp-1", "cp-2", "cp-3", "w-1", "w-2"]);
    expect(run.outputs.faultTolerance).toBe(2);
  });

  it("joins workers after init, in parallel: no worker waits for another worker or for a follower", async () => {
    const run = await runProgram(loadStack("dev"));
    const joins = ["w-1", "w-2", "w-3", "w-4"].map((w) => run.get(`${w}-kubeadm-join`));
    for (const j of joins) {
      run.assertAfter(j, "cp-1-kubeadm-init");
      run.assertAfter(j, j.name.replace("-kubeadm-join", "-join-token"));
      expect(run.waitsFor(j, "cp-2-kubeadm-join"), j.name).toBe(false);
      for (const other of WORKER_STEPS(run)) {
        if (!other.name.startsWith(j.name.replace("-kubeadm-join", "-")))
          expect(run.waitsFor(j, other), `${j.name} waits for ${other.name}`).toBe(false);
      }
    }
    run.assertAfter("w-2-node", "w-2-kubeadm-join");
  });

  it("opens one session on the leader per joining worker (its token), not two: the worker's join waits for its own Node", async () => {
    const run = await runProgram(loadStack("dev"));
    const node = run.get("w-2-node");
    // no create and no update: the provider opens no SSH session for it until the worker leaves
    expect(node.plainInputs.create).toBeUndefined();
    expect(node.plainInputs.update).toBeUndefined();
    expect(String(node.plainInputs.delete)).toContain("kubectl drain w-2");
    expect(String(run.get("w-2-kubeadm-join").plainInputs.create)).toContain(
      "kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node w-2",
    );
    const onLeader = run
      .commands()
      .filter((c) => run.hostAddressOf(c) === "192.168.10.11" && c.plainInputs.create !== undefined && /^w-\d+-/.test(c.name));
    expect(onLeader.map((c) => c.name).sort()).toEqual([
      "w-1-etcd-certs",
      "w-1-join-token",
      "w-2-join-token",
      "w-3-join-token",
      "w-4-join-token",
    ]);
  });

  it("installs the CNI through the cluster's provider after init", async () => {
    const run = await runProgram(loadStack("dev"));
    const cni = run.get("cni-cilium", "kubernetes:helm.sh/v3:Release");
    run.assertAfter(cni, "cp-1-kubeadm-init");
    expect(cni.inputs).toMatchObject({ chart: "cilium", namespace: "kube-system" });
    expect(String(cni.inputs.version)).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("waits for the Host component (node preparation, disks) of the host each step runs on", async () => {
    const run = await runProgram(loadStack("dev"));
    const cp = run.get("control-plane", "baremetal-k8s:controlplane:ControlPlane");
    const addressToHost = new Map(
      (loadStack("dev").hosts as HostCfg[]).map((h) => [h.address, run.get(h.name, "baremetal-k8s:host:Host")]),
    );
    let checked = 0;
    for (const step of run.descendants(cp.urn).filter((r) => r.type === "command:remote:Command")) {
      const host = addressToHost.get(run.hostAddressOf(step) ?? "");
      expect(host, step.name).toBeDefined();
      for (const child of run.descendants((host as { urn: string }).urn).filter((r) => r.custom)) {
        run.assertAfter(step, child);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30); // every step x every node-prep/disk/iSCSI child of its host
  });

  it("keeps secrets out of plain inputs: generated values reach hosts only as secret stdin", async () => {
    const run = await runProgram(loadStack("dev"), { handler });
    const values = ["abc123.0123456789abcdef", "0123456789abcdef", "f".repeat(64), "Vr9pW0rd"];
    for (const r of run.resources) {
      const shown = JSON.stringify(r.inputs);
      for (const v of values) expect(shown, `${r.name} shows a secret`).not.toContain(v);
    }
    const withStdin = run.commands().filter((r) => r.plainInputs.stdin !== undefined);
    expect(withStdin.map((r) => r.name).sort()).toEqual(
      [
        "cp-1-keepalived",
        "cp-1-kubeadm-init",
        "cp-2-keepalived",
        "cp-2-kubeadm-join",
        "cp-2-upload-certs",
        "w-1-etcd-member",
        ...["w-1", "w-2", "w-3", "w-4"].flatMap((w) => [`${w}-kubeadm-join`, `${w}-join-token`]),
      ].sort(),
    );
    for (const r of withStdin) expect(run.isSecretInput(r, "stdin"), r.name).toBe(true);
    expect(String(run.get("cp-1-kubeadm-init").plainInputs.stdin)).toBe(`abc123.0123456789abcdef\n${"f".repeat(64)}\n`);
    expect(String(run.get("cp-1-keepalived").plainInputs.stdin)).toBe("Vr9pW0rd");
    for (const name of ["cp-1-kubeadm-init", "w-1-etcd-certs"]) {
      const r = run.get(name);
      expect(r.inputs.logging, name).toBe("none");
      expect(r.additionalSecretOutputs, name).toEqual(expect.arrayContaining(["stdout"]));
    }
    expect(run.isSecretInput(run.get("kubernetes", "pulumi:providers:kubernetes"), "kubeconfig")).toBe(true);
  });
});

describe("etcd quorum in the example lab", () => {
  it("gives 3 voters and fault tolerance 1", async () => {
    const run = await runProgram(loadStack("dev"));
    expect(run.outputs.etcdVoters).toEqual(["cp-1", "cp-2", "w-1"]);
    expect(run.outputs.faultTolerance).toBe(1);
    expect(run.outputs.controlPlanes).toEqual(["cp-1", "cp-2"]);
    expect(run.outputs.apiEndpoint).toBe("https://192.168.10.10:6443");
  });

  it("refuses the lab without the witness when faultTolerance is 1, naming the remedy", async () => {
    const message = await runProgramExpectingError(
      withHosts((hosts) => ((hosts.find((h) => h.name === "w-1") as HostCfg).roles = ["worker"])),
    );
    expect(message).toContain("cluster.faultTolerance");
    expect(message).toMatch(/add role etcd to one worker, e\.g\. w-1/);
    expect(message).toContain("lower cluster.faultTolerance to 0");
  });

  it("refuses, before anything runs, a change that makes another host the leader (given the previous outputs)", async () => {
    const cfg = withHosts((hosts) => hosts.splice(0, 1));
    const message = await runProgramExpectingError({
      ...cfg,
      previousTopology: {
        leader: "cp-1",
        controlPlanes: ["cp-1", "cp-2"],
        workers: ["w-1", "w-2", "w-3", "w-4"],
        etcdVoters: ["cp-1", "cp-2", "w-1"],
        faultTolerance: 1,
      },
    });
    expect(message).toContain("cp-1 was removed from hosts, which makes cp-2 the leader");
  });
});
