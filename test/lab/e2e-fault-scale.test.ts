// End to end on lab hosts with a small inventory (cp-1, cp-2, w-1 worker + witness, w-2, and
// w-3 kept out of the config at first): a worker's sshd dies in the middle of the bring-up and
// the run fails naming it; once it is back a new run completes to the state of a clean
// bring-up; then w-3 is added (only its steps run) and removed (only its delete steps run); then a
// third control plane cp-3 joins and leaves again (its etcd member, Node and keepalived with it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, type RunRecord } from "./executor";
import { FAKE_MODULES, assertClean, clusterFacts, missingComponents, prepare, type BringUp } from "./e2e";
import { labAvailable, startLab, type Lab } from "./lab";
import { labConfig, labHostsFor, syntheticStack, type ConfigHost } from "./stack";
import { clone, type TestConfig } from "../harness";

const PREFIX = process.env.LAB_PREFIX ?? "bl";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.10";
const avail = labAvailable();

/** Steps that act for the whole cluster when its membership changes, by design (the bootstrap token lists the hosts it serves). */
const MEMBERSHIP_REFRESH = /-(bootstrap|join)-token$/;

describe.skipIf(!avail.ok)(`fault during bring-up, scale out and in${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  let cfg: TestConfig;
  let withW3: TestConfig;
  let b: BringUp = { missing: "not prepared" } as BringUp;
  const logLines = async (h: string) => Number((await lab.ssh(h, "wc -l < /var/log/standins.log 2>/dev/null || echo 0")).stdout.trim());

  beforeAll(async () => {
    const five = syntheticStack(5); // cp-1 cp-2 w-1 w-2 w-3
    const missing = await missingComponents(five);
    if (missing) return void (b = { missing } as BringUp);
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: [...labHostsFor(five), { name: "cp-3" }], // cp-3 joins the config only in the last scenario
      fakeBuiltinModules: FAKE_MODULES,
      freshIscsiNames: true,
    });
    withW3 = labConfig(lab, five);
    cfg = clone(withW3);
    cfg.hosts = (cfg.hosts as ConfigHost[]).filter((h) => h.name !== "w-3");
    b = await prepare(lab, withW3);
  });
  afterAll(async () => {
    b?.exec?.dispose();
    await lab?.down();
  });

  it("fails the run naming the worker whose sshd stopped mid-run, then completes once it is back", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    let broke = false;
    const failed = await b.exec.up({
      config: cfg,
      onCommandStart: async (c) => {
        if (!broke && c.name === "cp-1-kubeadm-init") {
          broke = true;
          await lab.stopSshd("w-2");
        }
      },
    });
    expect(broke).toBe(true);
    expect(failed.failure?.host, describeRun(failed)).toBe("w-2");
    expect(failed.failure?.message).toMatch(/w-2/);
    await lab.startSshd("w-2");
    const again = await b.exec.up({ config: cfg });
    assertClean(again);
    // what the failed run did is not done again
    const doneBefore = failed.commands.filter((c) => c.code === 0 && c.op === "create").map((c) => c.name);
    expect(again.commands.map((c) => c.name).filter((n) => doneBefore.includes(n))).toEqual([]);
    const facts = await clusterFacts(lab, cfg);
    expect(facts.vipHolders).toEqual(["cp-1"]);
    expect(facts.etcdMembers).toEqual([
      { name: "cp-1", started: true },
      { name: "cp-2", started: true },
      { name: "w-1", started: true },
    ]);
    expect(facts.nodes).toEqual(["cp-1", "cp-2", "w-1", "w-2"]);
    expect(facts.kubeletActive).toEqual(["cp-1", "cp-2", "w-1", "w-2"]);
    expect((await b.exec.up({ config: cfg })).commands).toEqual([]);
  });

  let out: RunRecord;
  it("scale out: adding w-3 runs only w-3's steps (and the leader's token refresh)", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const before = { w1: await logLines("w-1"), w2: await logLines("w-2"), cp2: await logLines("cp-2") };
    out = await b.exec.up({ config: withW3 });
    assertClean(out);
    const foreign = out.commands.filter((c) => !c.name.startsWith("w-3-") && !MEMBERSHIP_REFRESH.test(c.name));
    expect(
      foreign.map((c) => c.name),
      describeRun(out),
    ).toEqual([]);
    expect(out.commands.some((c) => c.host === "w-3")).toBe(true);
    expect(out.commands.filter((c) => c.host !== "w-3" && c.host !== "cp-1")).toEqual([]);
    expect({ w1: await logLines("w-1"), w2: await logLines("w-2"), cp2: await logLines("cp-2") }).toEqual(before);
    expect((await clusterFacts(lab, withW3)).nodes).toEqual(["cp-1", "cp-2", "w-1", "w-2", "w-3"]);
  });

  it("scale in: removing w-3 runs only w-3's delete steps (drain and node delete on the leader, reset on w-3)", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const before = { w1: await logLines("w-1"), w2: await logLines("w-2"), cp2: await logLines("cp-2") };
    const r = await b.exec.up({ config: cfg });
    assertClean(r);
    const deletes = r.commands.filter((c) => c.op === "delete");
    expect(deletes.length).toBeGreaterThan(0);
    expect(
      deletes.every((c) => c.name.startsWith("w-3-")),
      describeRun(r),
    ).toBe(true);
    expect(r.commands.filter((c) => c.op !== "delete" && !MEMBERSHIP_REFRESH.test(c.name)).map((c) => c.name)).toEqual([]);
    expect({ w1: await logLines("w-1"), w2: await logLines("w-2"), cp2: await logLines("cp-2") }).toEqual(before);
    expect((await lab.ssh("w-3", "ls /etc/kubernetes/kubelet.conf 2>/dev/null || echo reset")).stdout).toBe("reset\n");
    const facts = await clusterFacts(lab, cfg);
    expect(facts.nodes).toEqual(["cp-1", "cp-2", "w-1", "w-2"]);
    expect(facts.etcdMembers.map((m) => m.name)).toEqual(["cp-1", "cp-2", "w-1"]);
    expect(out.commands.length).toBeGreaterThan(0);
  });

  it("a third control plane joins later and leaves again: its etcd member, Node and keepalived go with it; the VIP stays", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const withCp3 = clone(cfg);
    const cp3 = lab.host("cp-3");
    (withCp3.hosts as ConfigHost[]).push({
      name: "cp-3",
      address: cp3.address,
      hostKey: cp3.hostKey,
      os: "debian",
      roles: ["control-plane"],
    });
    const joined = await b.exec.up({ config: withCp3 });
    assertClean(joined);
    let facts = await clusterFacts(lab, withCp3);
    expect(facts.etcdMembers).toEqual(["cp-1", "cp-2", "cp-3", "w-1"].map((name) => ({ name, started: true })));
    expect(facts.nodes).toContain("cp-3");
    expect(facts.vipHolders).toEqual(["cp-1"]);
    expect((await lab.ssh("cp-3", "systemctl is-active keepalived")).stdout).toBe("active\n");

    const left = await b.exec.up({ config: cfg });
    assertClean(left);
    const deletes = left.commands.filter((c) => c.op === "delete");
    expect(deletes.map((c) => c.name)).toEqual(expect.arrayContaining(["cp-3-keepalived", "cp-3-kubeadm-join"]));
    expect(
      deletes.every((c) => c.name.startsWith("cp-3-")),
      describeRun(left),
    ).toBe(true);
    // keepalived stops before the control plane goes; the member leaves etcd before its kubeadm reset
    const at = (n: string) => deletes.findIndex((c) => c.name === n);
    expect(at("cp-3-keepalived")).toBeLessThan(at("cp-3-kubeadm-join"));
    const leave = deletes[at("cp-3-kubeadm-join")].stderr;
    expect(leave.indexOf("left etcd")).toBeGreaterThan(-1);
    expect(leave.indexOf("left etcd")).toBeLessThan(leave.indexOf("reset and removed from the cluster"));
    facts = await clusterFacts(lab, cfg);
    expect(facts.etcdMembers).toEqual(["cp-1", "cp-2", "w-1"].map((name) => ({ name, started: true })));
    expect(facts.nodes).toEqual(["cp-1", "cp-2", "w-1", "w-2"]);
    expect(facts.vipHolders).toEqual(["cp-1"]);
    expect(facts.vipAnswers).toBe(true);
    const gone = await lab.ssh(
      "cp-3",
      "ls /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null || echo reset; pgrep -x keepalived || echo stopped",
    );
    expect(gone.stdout).toBe("reset\nstopped\n");
    expect((await b.exec.up({ config: cfg })).commands).toEqual([]);
  });
});
