// One trigger policy for every remote step (issue 11, point 2): `triggers` name what a step acts on,
// never its script. @pulumi/command 1.2.1 replaces a Command whose triggers change (create the new,
// then run the OLD delete), so a script digest in triggers would make every new release of the
// program unmount disks and reset kubeadm. A changed script must be an in-place `update`.
import { describe, expect, it, vi } from "vitest";
import type * as Shell from "../../components/host/shell";
import { replaces } from "../lab/executor";
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

vi.mock("../../components/controlplane/render-scripts", async (importOriginal) => {
  const orig = await importOriginal<Record<string, unknown>>();
  const wrapped: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(orig)) {
    wrapped[k] =
      typeof v === "function" && /^render.*Script$/.test(k)
        ? (...args: unknown[]) => `${String((v as (...a: unknown[]) => unknown)(...args))}${release.line}`
        : v;
  }
  return wrapped;
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

  it("replaces a disk step deliberately when what it acts on changes (its mountpoint), and nothing else", async () => {
    const cfg = loadStack("dev");
    const before = await evaluate(cfg);
    const after = await evaluate(withDisk(cfg, "cp-1", "backup", (d) => (d.mountpoint = "/srv/backup2")));
    const changed = [...before].filter(([name, b]) => JSON.stringify(after.get(name)?.triggers) !== JSON.stringify(b.triggers));
    expect(changed.map(([n]) => n)).toEqual(["cp-1-disk-backup"]);
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
