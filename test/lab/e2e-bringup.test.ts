// End to end on lab hosts: the example lab's shape (two control planes, four workers, a witness
// etcd member on w-1) brought up by the real program through the executor; then a second run,
// the guards of every create, and the loss of one and then two etcd voters.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type * as Dialect from "../../components/controlplane/render-scripts";
import type * as Shell from "../../components/host/shell";
import { describeRun, type RunRecord } from "./executor";
import { FAKE_MODULES, assertClean, clusterFacts, etcdWritable, missingComponents, prepare, type BringUp, type ClusterFacts } from "./e2e";
import { labAvailable, startLab, type Lab } from "./lab";
import { exampleStack, labConfig, labHostsFor, type ConfigHost } from "./stack";
import type { TestConfig } from "../harness";

// A new release of the program: a harmless line appended to every rendered script, where scripts are
// rendered (the host scripts' shared header, the control plane's render*Script functions), before
// anything could hash them. Off unless a test sets it.
const release = vi.hoisted(() => ({ line: "" }));
vi.mock("../../components/host/shell", async (importOriginal) => {
  const orig = await importOriginal<typeof Shell>();
  return { ...orig, scriptHeader: (...a: Parameters<typeof orig.scriptHeader>) => `${orig.scriptHeader(...a)}${release.line}` };
});
// Every control-plane host script is framed by script(): a new release line there is a new line in each.
vi.mock("../../components/controlplane/render-scripts", async (importOriginal) => {
  const orig = await importOriginal<typeof Dialect>();
  return { ...orig, script: (...args: Parameters<typeof orig.script>) => `${orig.script(...args)}${release.line}` };
});

const PREFIX = process.env.LAB_PREFIX ?? "bl";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.10";
const avail = labAvailable();

describe.skipIf(!avail.ok)(`bring-up of the example lab on lab hosts${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  let cfg: TestConfig;
  let b: BringUp = { missing: "not prepared" } as BringUp;
  let first: RunRecord;
  let facts: ClusterFacts;

  beforeAll(async () => {
    const base = exampleStack();
    const missing = await missingComponents(base);
    if (missing) return void (b = { missing } as BringUp);
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: labHostsFor(base),
      fakeBuiltinModules: FAKE_MODULES,
      freshIscsiNames: true,
    });
    cfg = labConfig(lab, base);
    b = await prepare(lab, cfg);
    if (b.missing) return;
    first = await b.exec.up();
    console.log(
      `[e2e] bring-up: ${(first.wallMs / 1000).toFixed(1)} s, ${first.commands.length} commands${b.fallbackNodePrep ? " (node preparation by the lab's fallback: the program has none yet)" : ""}\n${describeRun(first)}`,
    );
    facts = await clusterFacts(lab, cfg);
  });
  afterAll(async () => {
    b?.exec?.dispose();
    await lab?.down();
  });

  it("runs every command with exit code 0", (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    assertClean(first);
    expect(first.commands.length).toBeGreaterThan(0);
  });

  it("puts the VIP on the leader only, and the VIP answers the API server's /healthz", (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    expect(facts.vipHolders).toEqual(["cp-1"]);
    expect(facts.vipAnswers).toBe(true);
  });

  it("has three started etcd voters: both control planes and the witness", (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    expect(facts.etcdMembers).toEqual([
      { name: "cp-1", started: true },
      { name: "cp-2", started: true },
      { name: "w-1", started: true },
    ]);
  });

  it("registers every host as a node with a running kubelet", (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const all = (cfg.hosts as ConfigHost[]).map((h) => h.name).sort();
    expect(facts.nodes).toEqual(all);
    expect(facts.kubeletActive).toEqual(all);
  });

  it("lays the disks out as configured", (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const hasDiskSteps = first.resources.some((r) => /-disk-/.test(r.name));
    if (!hasDiskSteps) ctx.skip("the program has no disk steps yet (hosts component not merged into main)");
    expect(facts.disks).toMatchObject({
      "cp-1/backup": expect.stringMatching(/^fs=xfs mnt=\/srv\/backup/) as unknown,
      "w-1/longhorn": expect.stringMatching(/^fs=(ext4|xfs) mnt=\/var\/lib\/longhorn/) as unknown,
      "w-1/ssd1": expect.stringMatching(/^fs=xfs mnt=\/var\/lib\/disks\/ssd\/ssd1/) as unknown,
      "w-2/osd0": "fs=none mnt= links=",
      "w-3/raw1": expect.stringMatching(/fs=none mnt= links=\/var\/lib\/disks\/block\/raw1/) as unknown,
      "w-4/scratch": expect.stringMatching(/^fs=xfs mnt=.*\/var\/lib\/kubelet/) as unknown,
    });
  });

  it("gives every Longhorn host its own iSCSI initiator name", (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const longhornHosts = (cfg.hosts as ConfigHost[]).filter((h) => (h.disks ?? []).some((d) => d.use === "longhorn")).map((h) => h.name);
    const hasIscsiSteps = first.resources.some((r) => /iscsi/.test(r.name));
    if (!hasIscsiSteps) ctx.skip("the program has no iSCSI steps yet (hosts component not merged into main)");
    const names = longhornHosts.map((h) => facts.initiatorNames[h]);
    expect(names.every((n) => n && /^iqn\./.test(n))).toBe(true);
    expect(new Set(names).size).toBe(longhornHosts.length);
  });

  it("runs nothing on a second run with the same config", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const second = await b.exec.up();
    expect(second.failure, describeRun(second)).toBeUndefined();
    expect(second.commands).toEqual([]);
    // every remote step is unchanged, including those with nothing to run on create (a worker's `-node`: a drain on removal)
    const steps = first.resources.filter((r) => r.type === "command:remote:Command" || r.type === "command:remote:CopyToRemote");
    expect([...second.unchanged].sort()).toEqual(steps.map((r) => r.name).sort());
  });

  it("re-running every create finds the state already there, and leaves it as it was", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const again = await b.exec.up({ mode: "rerun-all" });
    assertClean(again);
    const silent = again.commands
      .filter((c) => !/already|nothing to do|unchanged|is registered|exists|reusing/i.test(c.stdout + c.stderr))
      .map((c) => c.name);
    // steps that refresh something by design (a join token's expiry, uploaded certificates) are the only ones allowed to act
    expect(
      silent.filter((n) => !/bootstrap-token|join-token|upload-certs/.test(n)),
      describeRun(again),
    ).toEqual([]);
    expect(await clusterFacts(lab, cfg)).toEqual(facts);
  });

  it("a new release (every script re-rendered) runs `update` in place everywhere, deletes nothing, and keeps every disk mounted with its data", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    // a file on every mounted disk (the first mount of each), read back after the release
    const mounted = Object.entries(facts.disks)
      .map(([k, v]) => [k.split("/")[0], /mnt=(\S+)/.exec(v)?.[1]] as const)
      .filter((x): x is readonly [string, string] => x[1] !== undefined);
    expect(mounted.length).toBeGreaterThanOrEqual(3);
    for (const [h, mnt] of mounted) expect((await lab.ssh(h, `echo kept > '${mnt}/release-probe'`)).code).toBe(0);
    release.line = ": a new release of baremetal-k8s\n";
    let r: RunRecord;
    try {
      r = await b.exec.up();
    } finally {
      release.line = "";
    }
    assertClean(r);
    const steps = r.resources.filter((x) => x.type === "command:remote:Command" && typeof x.plainInputs.create === "string");
    expect(
      r.commands.filter((c) => c.op !== "update").map((c) => `${c.op} ${c.name}`),
      describeRun(r),
    ).toEqual([]);
    expect(r.commands.map((c) => c.name).sort()).toEqual(steps.map((x) => x.name).sort());
    for (const [h, mnt] of mounted) expect((await lab.ssh(h, `cat '${mnt}/release-probe'`)).stdout, `${h}:${mnt}`).toBe("kept\n");
    expect(await clusterFacts(lab, cfg)).toEqual(facts);
    // back to this release's scripts: again updates only
    const back = await b.exec.up();
    assertClean(back);
    expect(back.commands.filter((c) => c.op !== "update")).toEqual([]);
  });

  it("keeps etcd writable and the VIP answering without one voter; stops writes without two", async (ctx) => {
    if (b.missing) return ctx.skip(b.missing);
    const eps = ["cp-1", "cp-2", "w-1"].map((h) => `https://${lab.host(h).address}:2379`);
    expect(await etcdWritable(lab, "cp-2", eps)).toBe(true);
    await lab.stopHost("cp-1"); // the leader: its VIP must move to cp-2
    let writable = false;
    for (let i = 0; i < 20 && !writable; i++) writable = await etcdWritable(lab, "cp-2", eps);
    expect(writable).toBe(true);
    let answered = "";
    for (let i = 0; i < 30 && answered !== "ok"; i++) {
      answered = (await lab.ssh("w-2", `curl -sk --max-time 2 https://${SUBNET}.10:6443/healthz`)).stdout;
      if (answered !== "ok") await new Promise((r) => setTimeout(r, 1000));
    }
    expect(answered).toBe("ok");
    await lab.stopHost("w-1");
    expect(await etcdWritable(lab, "cp-2", eps)).toBe(false);
  });
});
