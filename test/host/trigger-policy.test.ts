// One trigger policy for every remote step (issue 11, point 2): no step is ever replaced because of
// its `triggers`. @pulumi/command 1.2.1 replaces a Command whose triggers change (create the new,
// then run the OLD delete), so every remote step ignores changes of its triggers (ignoreChanges): a
// stack whose host steps hold an older release's script digest is updated in place, not replaced.
// The triggers written at creation name what a step acts on, never its script. A changed script is
// an in-place `update`.
import { describe, expect, it, vi } from "vitest";
import type * as Dialect from "../../components/controlplane/render-scripts";
import type * as Shell from "../../components/host/shell";
import { engineOp, ignoringChanges, replaces } from "../lab/executor";
import { contentHash } from "../../components/host/remote-script";
import { clone, loadStack, runProgram, type ProgramRun, type TestConfig } from "../harness";

// A new release of the program, as the engine sees it: every rendered script differs. The line is
// appended where scripts are rendered (the shared header of host scripts, the control plane's
// render*Script functions), before anything could hash them.
const release = vi.hoisted(() => ({ line: "" }));

vi.mock("../../components/host/shell", async (importOriginal) => {
  const orig = await importOriginal<typeof Shell>();
  return {
    ...orig,
    scriptHeader: (...args: Parameters<typeof orig.scriptHeader>) => `${orig.scriptHeader(...args)}${release.line}`,
  };
});

// Every control-plane host script is framed by script(): a new release line there is a new line in each.
vi.mock("../../components/controlplane/render-scripts", async (importOriginal) => {
  const orig = await importOriginal<typeof Dialect>();
  return { ...orig, script: (...args: Parameters<typeof orig.script>) => `${orig.script(...args)}${release.line}` };
});

const CMD = "command:remote:Command";

function commands(run: ProgramRun): Map<string, Record<string, unknown>> {
  return new Map(run.resources.filter((r) => r.type === CMD).map((r) => [r.name, r.plainInputs]));
}

async function evaluate(cfg: TestConfig, line = ""): Promise<Map<string, Record<string, unknown>>> {
  release.line = line;
  try {
    return commands(await runProgram(cfg));
  } finally {
    release.line = "";
  }
}

type Disk = { name: string; wipe?: boolean; mountpoint?: string };
type Host = { name: string; disks?: Disk[] };

function withDisk(cfg: TestConfig, host: string, disk: string, change: (d: Disk) => void): TestConfig {
  const hosts = clone(cfg.hosts) as Host[];
  const d = hosts.find((h) => h.name === host)?.disks?.find((x) => x.name === disk);
  if (!d) throw new Error(`no disk ${host}/${disk} in the stack`);
  change(d);
  return { ...cfg, hosts };
}

describe("trigger policy of every remote step (dev stack)", () => {
  it('registers every remote Command with ignoreChanges: ["triggers"], so no change of triggers replaces a step', async () => {
    const cfg = loadStack("dev");
    const run = await runProgram(cfg);
    const cmds = run.resources.filter((r) => r.type === CMD);
    expect(cmds.length).toBeGreaterThan(30);
    expect(cmds.filter((r) => !r.ignoreChanges.includes("triggers")).map((r) => r.name)).toEqual([]);
    // the reason it is needed: @pulumi/command adds replaceOnChanges for triggers to every Command
    for (const r of cmds) expect(r.replaceOnChanges, r.name).toContain("triggers[*]");
  });

  it("updates (never replaces) every host step whose state holds an older release's script digest as triggers", async () => {
    const run = await runProgram(loadStack("dev"));
    const hostSteps = run.resources.filter((r) => r.type === CMD && /-(node-prep|disk-.+|ephemeral|iscsi)$/.test(r.name));
    expect(hostSteps.length).toBeGreaterThan(10);
    for (const r of hostSteps) {
      // the previous release's state: triggers = a digest of the create script, and another script
      const old = { ...r.plainInputs, create: "old", update: "old", triggers: [contentHash("old")] };
      const inputs = ignoringChanges(r.ignoreChanges, old, r.plainInputs);
      expect(engineOp(r, old, inputs), r.name).toBe("update");
      expect(inputs.triggers, r.name).toEqual(old.triggers);
    }
  });

  it("gives every step with a script an `update` equal to its `create`, so a changed script re-runs in place", async () => {
    const steps = await evaluate(loadStack("dev"));
    expect(steps.size).toBeGreaterThan(30);
    const withCreate = [...steps].filter(([, i]) => typeof i.create === "string");
    // only a worker's `-node` step has nothing to run on create (its delete drains the node)
    expect([...steps].filter(([, i]) => i.create === undefined).map(([n]) => n)).toEqual(
      [...steps.keys()].filter((n) => /^w-\d+-node$/.test(n)),
    );
    for (const [name, i] of withCreate) expect(i.update, name).toBe(i.create);
  });

  it("keeps every step's triggers when every rendered script changes (a new release): only create/update/delete differ", async () => {
    const cfg = loadStack("dev");
    const before = await evaluate(cfg);
    const after = await evaluate(cfg, ": new release of baremetal-k8s\n");
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [name, b] of before) {
      const a = after.get(name) as Record<string, unknown>;
      expect(a.triggers, name).toEqual(b.triggers);
      if (typeof b.create === "string") expect(a.create, `${name}: the re-rendered script reaches the step`).not.toBe(b.create);
    }
  });

  it("keeps a disk step's triggers when its `wipe` changes (the script changes, the disk does not)", async () => {
    const cfg = loadStack("dev");
    const before = await evaluate(cfg);
    const after = await evaluate(withDisk(cfg, "w-2", "osd0", (d) => (d.wipe = true)));
    expect(after.get("w-2-disk-osd0")?.create).not.toBe(before.get("w-2-disk-osd0")?.create);
    for (const [name, b] of before) expect(after.get(name)?.triggers, name).toEqual(b.triggers);
  });

  it("keeps the triggers when a disk's device is written differently (the same disk by another name: no replace, so no old delete)", async () => {
    const cfg = loadStack("dev");
    const before = await evaluate(cfg);
    const after = await evaluate(
      withDisk(cfg, "cp-1", "backup", (d) => Object.assign(d, { device: "/dev/disk/by-path/pci-0000:00:05.0" })),
    );
    expect(after.get("cp-1-disk-backup")?.create).not.toBe(before.get("cp-1-disk-backup")?.create);
    for (const [name, b] of before) expect(after.get(name)?.triggers, name).toEqual(b.triggers);
  });

  it("updates a disk step in place when its mountpoint changes: the triggers it would be created with differ, and are ignored", async () => {
    const cfg = loadStack("dev");
    const run = await runProgram(cfg);
    const before = commands(run);
    const after = await evaluate(withDisk(cfg, "cp-1", "backup", (d) => (d.mountpoint = "/srv/backup2")));
    const changed = [...before].filter(([name, b]) => JSON.stringify(after.get(name)?.triggers) !== JSON.stringify(b.triggers));
    expect(changed.map(([n]) => n)).toEqual(["cp-1-disk-backup"]);
    const rec = run.resources.find((r) => r.name === "cp-1-disk-backup");
    if (!rec) throw new Error("no cp-1-disk-backup step");
    const old = before.get("cp-1-disk-backup") as Record<string, unknown>;
    const now = after.get("cp-1-disk-backup") as Record<string, unknown>;
    const inputs = ignoringChanges(rec.ignoreChanges, old, now);
    expect(engineOp(rec, old, inputs)).toBe("update");
    expect(inputs.create).toContain("/srv/backup2");
  });
});

describe("the lab executor's diff, as the engine with @pulumi/command 1.2.1 does it", () => {
  const old = { create: "a", update: "a", delete: "d", triggers: ["x"] };
  it("replaces on a change of triggers (replaceOnChanges: triggers[*]) and updates in place on a change of scripts", () => {
    expect(replaces(["triggers[*]"], old, { ...old, triggers: ["y"] })).toBe(true);
    expect(replaces(["triggers[*]"], old, { ...old, create: "b", update: "b", delete: "e" })).toBe(false);
  });
  it("honours other replaceOnChanges paths by their top-level property, and `*`", () => {
    expect(replaces(["create"], old, { ...old, create: "b" })).toBe(true);
    expect(replaces(["connection.host"], { ...old, connection: { host: "a" } }, { ...old, connection: { host: "b" } })).toBe(true);
    expect(replaces(["*"], old, { ...old, delete: "e" })).toBe(true);
  });
});

describe("the lab executor's ignoreChanges, as the engine's processIgnoreChanges", () => {
  const old = { create: "a", update: "a", delete: "d", triggers: ["x"] };
  it("diffs an ignored property with its old value: changed triggers alone are no change, with a changed script an update", () => {
    const rec = { replaceOnChanges: ["triggers[*]"] };
    const same = ignoringChanges(["triggers"], old, { ...old, triggers: ["y"] });
    expect(engineOp(rec, old, same)).toBe("same");
    const upd = ignoringChanges(["triggers"], old, { ...old, create: "b", update: "b", triggers: ["y"] });
    expect(engineOp(rec, old, upd)).toBe("update");
    // the state keeps the old value
    expect(upd).toEqual({ ...old, create: "b", update: "b", triggers: ["x"] });
    // without the option, the same change replaces
    expect(engineOp(rec, old, ignoringChanges([], old, { ...old, create: "b", update: "b", triggers: ["y"] }))).toBe("replace");
  });
  it("drops an ignored property the old state lacks, and creates with the program's value when there is no old state", () => {
    const { triggers: _t, ...noTriggers } = old;
    expect(ignoringChanges(["triggers"], noTriggers, old)).toEqual(noTriggers);
    expect(engineOp({ replaceOnChanges: [] }, undefined, old)).toBe("create");
  });
  it("refuses a nested path rather than model it wrongly", () => {
    expect(() => ignoringChanges(["environment.X"], old, old)).toThrow(/top-level/);
  });
});
