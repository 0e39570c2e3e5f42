import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import * as path from "node:path";
import { analyze } from "../components/analysis";
import { main } from "../components/main";
import type { RawConfig } from "../components/config";
import { evaluate, type RecordedResource } from "../plan/evaluate";
import { loadStack, toPulumiConfig, type TestConfig } from "../test/harness";
import { difference, hostResources, identicalFraction, touched, type Difference } from "./compare";
import { criticalPath, type CriticalPath } from "./graph";
import { middleWorker, syntheticInventory, withLonghornReplicas, withoutHost, type SyntheticHost } from "./inventory";
import { maxSessionsByRole, sessionsPerHost, type BenchRole, type HostSessions } from "./sessions";

/**
 * The measurements that need the real program: evaluate it under the SDK mock
 * runtime (`plan/evaluate.ts`) and analyse what it registered. Used by the
 * bench's child processes and, at small sizes, by the invariant tests.
 */

/** The example lab every synthetic inventory derives from. */
export function baseStack(): TestConfig {
  return loadStack("dev");
}

/** Evaluates the real program with this config; throws with the findings when the config is refused. */
export async function evaluateProgram(cfg: TestConfig): Promise<RecordedResource[]> {
  const { config, secretKeys } = toPulumiConfig(cfg);
  const { resources } = await evaluate({ config, secretKeys, program: main });
  return resources;
}

export function topologyOf(cfg: TestConfig) {
  const raw: RawConfig = {
    cluster: cfg.cluster,
    hosts: cfg.hosts,
    storage: cfg.storage,
    sshPrivateKeySet: cfg.sshPrivateKey !== undefined,
  };
  const a = analyze(raw);
  if (!a.topology || !a.spec) throw new Error(`the config has errors: ${a.findings.map((f) => `${f.path}: ${f.message}`).join("; ")}`);
  return { topology: a.topology, spec: a.spec, findings: a.findings };
}

export interface SizeFigures {
  hosts: number;
  resources: number;
  wallMs: number;
  /** CPU time (user + system) the process spent during the evaluation: less sensitive than wall time to other work on a shared machine. */
  cpuMs: number;
  peakRssMb: number;
  /** Peak RSS before the evaluation started (node, tsx, the SDK loaded). */
  baselineRssMb: number;
  critical: CriticalPath;
  /** The busiest host of each role: sessions that grow with the inventory show here. */
  sessionsPerRole: Partial<Record<BenchRole, number>>;
  /** Resources by type, to see what a host costs. */
  byType: Record<string, number>;
}

/** Starts the V8 profiler in this process; the returned function stops it and writes `<dir>/eval-<label>.cpuprofile`. */
async function startProfile(dir: string, label: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string) =>
    new Promise<T>((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res as T))));
  await post("Profiler.enable");
  await post("Profiler.start");
  return async () => {
    const { profile } = await post<{ profile: unknown }>("Profiler.stop");
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `eval-${label}.cpuprofile`), JSON.stringify(profile));
  };
}

/**
 * One size, meant for a fresh process: times the evaluation alone and reads
 * the process's peak RSS right after it. With `profileDir`, the evaluation
 * (and nothing else) is CPU-profiled into that directory.
 */
export async function measureSize(hosts: number, profileDir?: string): Promise<SizeFigures> {
  const cfg = syntheticInventory(baseStack(), hosts);
  const { topology, spec } = topologyOf(cfg);
  const baselineRssMb = process.resourceUsage().maxRSS / 1024;
  const stopProfile = profileDir === undefined ? undefined : await startProfile(profileDir, `${hosts}-hosts`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const resources = await evaluateProgram(cfg);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  await stopProfile?.();
  const byType: Record<string, number> = {};
  for (const r of resources) byType[r.type] = (byType[r.type] ?? 0) + 1;
  return {
    hosts,
    resources: resources.length,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRssMb,
    baselineRssMb,
    critical: criticalPath(resources),
    sessionsPerRole: maxSessionsByRole(sessionsPerHost(resources, spec.hosts, topology)),
    byType,
  };
}

export interface BlastRadius {
  addWorker: Difference;
  removeWorker: Difference & { removedHost: string };
  longhornReplicas: Difference & { from: number; to: number };
}

/**
 * Adding one worker (the next of the synthetic sequence), removing the
 * worker in the middle of the list, and changing Longhorn's replica count,
 * each against the same `hosts`-host inventory.
 */
export async function measureBlastRadius(hosts: number, base: TestConfig = baseStack()): Promise<BlastRadius> {
  const cfg = syntheticInventory(base, hosts);
  const before = await evaluateProgram(cfg);

  const plus = await evaluateProgram(syntheticInventory(base, hosts + 1));
  const addWorker = difference(before, plus);

  const gone = middleWorker(cfg);
  const goneHost = (cfg.hosts as SyntheticHost[]).find((h) => h.name === gone) as SyntheticHost;
  const minus = await evaluateProgram(withoutHost(cfg, gone));
  const own = hostResources(before, goneHost);
  const removeWorker = { ...difference(before, minus, (r) => own.has(r.urn)), removedHost: gone };

  const from = (cfg.storage as { longhorn: { replicaCount: number } }).longhorn.replicaCount;
  const to = from > 1 ? from - 1 : from + 1;
  const replicas = await evaluateProgram(withLonghornReplicas(cfg, to));
  const longhornReplicas = { ...difference(before, replicas), from, to };
  return { addWorker, removeWorker, longhornReplicas };
}

/** Evaluates the same config twice: the fraction of resources with byte-identical inputs. */
export async function measureNoop(
  hosts: number,
  base: TestConfig = baseStack(),
): Promise<{ identical: number; resources: number; differing: string[] }> {
  const cfg = syntheticInventory(base, hosts);
  const first = await evaluateProgram(cfg);
  const second = await evaluateProgram(structuredClone(cfg));
  const d = difference(first, second);
  return { identical: identicalFraction(first, second), resources: first.length, differing: [...d.changed, ...d.removed, ...d.added] };
}

/** SSH sessions per host on the example lab itself, which has every role (leader, follower, witness, worker). */
export async function measureSessions(
  cfg: TestConfig = baseStack(),
): Promise<{ perRole: Partial<Record<BenchRole, number>>; perHost: HostSessions[] }> {
  const { topology, spec } = topologyOf(cfg);
  const resources = await evaluateProgram(cfg);
  const perHost = sessionsPerHost(resources, spec.hosts, topology);
  return { perRole: maxSessionsByRole(perHost), perHost };
}

export { touched };
