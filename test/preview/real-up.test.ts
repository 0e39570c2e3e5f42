/**
 * The real Pulumi engine (CLI 3.248 and the nodejs language host built by `npm run -s tools`) runs `pulumi up` of the
 * dev example, and this file checks what the ENGINE decides against what the offline plan says: which resources it
 * creates, updates and deletes, in what order, and how many at once.
 *
 * The providers are the STAND-INS of test/preview/standin-providers in record-only mode (their real modules cannot be
 * built here): they touch no host, log each call with its start and end, and leave Diff to the engine's own comparison
 * of inputs. So what is real here is the engine's part: the graph it builds from the program's dependsOn and parents,
 * its parallelism, `ignoreChanges` (the program ignores `triggers` on every remote step), and its delete order. The
 * command provider's own behaviour on hosts is the lab's (test/lab/README.md, "The executor").
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan, type PlanResource } from "../../plan/plan";
import { readStackConfig } from "../../plan/stackfile";
import { Engine, PROJECT, makeStack, prepareForPreview, projectDir, gate, readiness, stackWithoutSecrets, toolsBinDir } from "./engine";

const TIMEOUT = 900_000;
const STACK = "dev";
const DELAY_MS = 200;

interface Call {
  call: "create" | "update" | "delete";
  urn: string;
  start: number;
  end: number;
}

/** The part of a URN after `urn:pulumi:<stack>::<project>::`. */
const tail = (urn: string) => urn.split("::").slice(2).join("::");
/** Resources a provider creates (not components, not the engine's own). */
const isCustom = (r: PlanResource) => /^(command|random|kubernetes):/.test(r.type);

/** For each custom resource: the custom resources it must wait for (a dependsOn on a component waits for all of it). */
function waitsFor(resources: readonly PlanResource[]): Map<string, Set<string>> {
  const children = new Map<string, PlanResource[]>();
  for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const customsUnder = (urn: string): string[] => {
    const r = byUrn.get(urn);
    const own = r && isCustom(r) ? [tail(urn)] : [];
    return [...own, ...(children.get(urn) ?? []).flatMap((c) => customsUnder(c.urn))];
  };
  const out = new Map<string, Set<string>>();
  for (const r of resources.filter(isCustom)) {
    const deps = new Set(r.dependsOn.flatMap(customsUnder));
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (parent && isCustom(parent)) deps.add(tail(parent.urn));
    out.set(tail(r.urn), deps);
  }
  return out;
}

/** What the offline plans before and after a change say the engine must do, by URN tail. */
function expectedChange(before: readonly PlanResource[], after: readonly PlanResource[]) {
  const b = new Map(before.filter(isCustom).map((r) => [tail(r.urn), r]));
  const a = new Map(after.filter(isCustom).map((r) => [tail(r.urn), r]));
  return {
    create: [...a.keys()].filter((u) => !b.has(u)).sort(),
    delete: [...b.keys()].filter((u) => !a.has(u)).sort(),
    update: [...a.keys()].filter((u) => b.has(u) && JSON.stringify(a.get(u)?.inputs) !== JSON.stringify(b.get(u)?.inputs)).sort(),
  };
}

const urnsOf = (calls: readonly Call[], call: Call["call"]) =>
  calls
    .filter((c) => c.call === call)
    .map((c) => tail(c.urn))
    .sort();

/** The most calls in flight at one moment. */
function maxInFlight(calls: readonly Call[]): number {
  const edges = calls.flatMap((c) => [
    { t: c.start, d: 1 },
    { t: c.end, d: -1 },
  ]);
  edges.sort((x, y) => x.t - y.t || x.d - y.d);
  let now = 0;
  let max = 0;
  for (const e of edges) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

describe("real pulumi up of the dev example: the engine does what the offline plan says, in the graph's order", () => {
  const ready = gate("real pulumi up", readiness(["pulumi", "pulumi-language-nodejs"]));
  let engine: Engine;
  let dir: string;
  let file: string;
  let log: string;

  /** Rewrites the stack's config from the example, edited, keeping what the CLI stored (encryption salt, the secret key). */
  const writeStack = (edit: (config: Record<string, unknown>) => void) => {
    const doc = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    const fresh = parse(stackWithoutSecrets(STACK, edit)) as { config: Record<string, unknown> };
    Object.assign(doc.config, fresh.config);
    writeFileSync(file, stringify(doc));
  };

  /** The offline plan of the stack file as it is now, given the stack's current outputs as previousTopology. */
  const planNow = async (): Promise<PlanResource[]> => {
    const outputs = await engine.pulumiOk(["stack", "output", "--json", "--show-secrets", "--stack", STACK], { cwd: dir });
    const stack = readStackConfig(file);
    const config = { ...stack.config, [`${PROJECT}:previousTopology`]: outputs };
    const { plan, exitCode } = await runPlan({ ...stack, config });
    if (exitCode !== 0) throw new Error(`offline plan: ${JSON.stringify(plan.findings)}`);
    return plan.resources;
  };

  const up = async (args: string[] = []): Promise<{ calls: Call[]; seconds: number }> => {
    rmSync(log, { force: true });
    const t0 = Date.now();
    await engine.pulumiOk(["up", "--stack", STACK, "--yes", "--skip-preview", "--non-interactive", ...args], {
      cwd: dir,
      timeoutMs: TIMEOUT,
    });
    const seconds = (Date.now() - t0) / 1000;
    const calls = existsSync(log)
      ? readFileSync(log, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Call)
      : [];
    return { calls, seconds };
  };

  beforeAll(async () => {
    if (!ready) return;
    engine = new Engine(toolsBinDir(), "bmk8s-up-");
    dir = projectDir(engine);
    const { providers } = await prepareForPreview(engine);
    if (providers.some((p) => p.real !== null))
      process.stdout.write("real pulumi up: a real provider is built here; its resources are not record-only\n");
    log = path.join(engine.root, "calls.jsonl");
    Object.assign(engine.env, { BMK8S_STANDIN_RECORD_ONLY: "1", BMK8S_STANDIN_LOG: log, BMK8S_STANDIN_DELAY_MS: String(DELAY_MS) });
    file = await makeStack(engine, dir, STACK);
  }, TIMEOUT);
  afterAll(() => engine?.dispose());

  let first: PlanResource[] = [];

  it.skipIf(!ready)(
    "the first up creates exactly the plan's resources, each after all it depends on, many at once",
    async () => {
      first = await planNow();
      const { calls, seconds } = await up();
      expect(urnsOf(calls, "update")).toEqual([]);
      expect(urnsOf(calls, "delete")).toEqual([]);
      expect(urnsOf(calls, "create")).toEqual(
        first
          .filter(isCustom)
          .map((r) => tail(r.urn))
          .sort(),
      );
      const at = new Map(calls.map((c) => [tail(c.urn), c]));
      const early: string[] = [];
      const edges = [...waitsFor(first)].flatMap(([urn, deps]) => [...deps].map((d) => [urn, d] as const));
      for (const [urn, d] of edges) {
        const [mine, theirs] = [at.get(urn), at.get(d)];
        if (mine && theirs && mine.start < theirs.end) early.push(`${urn} started before ${d} ended`);
      }
      expect(early).toEqual([]);
      // the checks above are about real edges: the leader's init waits for its own node preparation
      const init = edges.filter(([u]) => u.endsWith("::cp-1-kubeadm-init")).map(([, d]) => d);
      expect(
        init.some((d) => d.endsWith("::cp-1-node-prep")),
        `cp-1-kubeadm-init waits for: ${init.join(", ")}`,
      ).toBe(true);
      expect(edges.length).toBeGreaterThan(100);
      const parallel = maxInFlight(calls);
      process.stdout.write(`real pulumi up ${STACK}: ${calls.length} creates in ${seconds.toFixed(1)} s, at most ${parallel} at once\n`);
      // the dev example prepares 6 hosts side by side: the engine runs independent steps together
      expect(parallel).toBeGreaterThanOrEqual(6);
    },
    TIMEOUT,
  );

  it.skipIf(!ready)(
    "a second up with the same stack changes nothing",
    async () => {
      const { calls } = await up(["--expect-no-changes"]);
      expect(calls).toEqual([]);
    },
    TIMEOUT,
  );

  it.skipIf(!ready)(
    "adding a worker and moving a disk's mountpoint: the plan's difference exactly, the mountpoint an update in place",
    async () => {
      const before = await planNow();
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(engine.root, "w-5")]);
      const key = readFileSync(path.join(engine.root, "w-5.pub"), "utf8").trim();
      writeStack((config) => {
        const hosts = config[`${PROJECT}:hosts`] as { name: string; disks?: { name: string; mountpoint?: string }[] }[];
        const backup = hosts.find((h) => h.name === "cp-1")?.disks?.find((d) => d.name === "backup");
        if (!backup) throw new Error("the dev example changed: cp-1 has no disk named backup");
        backup.mountpoint = "/srv/backup-moved";
        hosts.push({ name: "w-5", address: "192.168.10.25", hostKey: key, roles: ["worker"] } as (typeof hosts)[number]);
      });
      const after = await planNow();
      const want = expectedChange(before, after);
      expect(want.create.filter((u) => u.includes("w-5")).length, "the plan adds w-5's resources").toBeGreaterThan(0);
      const { calls } = await up();
      expect({ create: urnsOf(calls, "create"), update: urnsOf(calls, "update"), delete: urnsOf(calls, "delete") }).toEqual(want);
      const moved = want.update.filter((u) => u.includes("cp-1") && u.includes("backup"));
      expect(moved.length, `the backup disk's step is updated: ${want.update.join(", ")}`).toBeGreaterThan(0);
      for (const u of moved) expect(urnsOf(calls, "create"), "updated, not replaced").not.toContain(u);
      process.stdout.write(
        `real pulumi up ${STACK}, w-5 added and a mountpoint moved: ${want.create.length} creates, updates: ${want.update.map((u) => u.split("::").pop()).join(", ")}\n`,
      );
    },
    TIMEOUT,
  );

  it.skipIf(!ready)(
    "removing the worker again deletes exactly its resources, each only after everything that depended on it",
    async () => {
      const before = await planNow();
      writeStack((config) => {
        const hosts = config[`${PROJECT}:hosts`] as { name: string; disks?: { name: string; mountpoint?: string }[] }[];
        const backup = hosts.find((h) => h.name === "cp-1")?.disks?.find((d) => d.name === "backup");
        if (backup) backup.mountpoint = "/srv/backup-moved";
      });
      const after = await planNow();
      const want = expectedChange(before, after);
      expect(want.delete.length).toBeGreaterThan(0);
      const { calls } = await up();
      expect({ create: urnsOf(calls, "create"), update: urnsOf(calls, "update"), delete: urnsOf(calls, "delete") }).toEqual(want);
      const at = new Map(calls.filter((c) => c.call === "delete").map((c) => [tail(c.urn), c]));
      const early: string[] = [];
      let pairs = 0;
      for (const [urn, deps] of waitsFor(before)) {
        const mine = at.get(urn);
        if (!mine) continue;
        for (const d of deps) {
          const theirs = at.get(d);
          if (!theirs) continue;
          pairs += 1;
          if (theirs.start < mine.end) early.push(`${d} deleted before ${urn}, which depends on it`);
        }
      }
      expect(early).toEqual([]);
      expect(pairs, "deleted resources that depend on each other").toBeGreaterThan(0);
      process.stdout.write(`real pulumi up ${STACK}, w-5 removed: ${want.delete.length} deletes, ${pairs} ordered pairs among them\n`);
    },
    TIMEOUT,
  );
});
