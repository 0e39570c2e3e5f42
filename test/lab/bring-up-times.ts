// Wall time of a lab bring-up (the real program through the executor) for inventories of 3, 6 and
// 12 hosts, with every kubeadm stand-in step sleeping a fixed time so that the graph's shape, not
// this machine, decides the result. `npm run bench` calls `bringUpTimes()`; measuring needs root
// and takes minutes, so without `measure` it returns the last measurement from the JSON file.
//   npx tsx test/lab/bring-up-times.ts [--sizes 3,6,12] [--step 1]   measures and writes the file
import * as fs from "node:fs";
import * as path from "node:path";
import { FAKE_MODULES, missingComponents, nodePrepFallback } from "./e2e";
import { Executor, describeRun } from "./executor";
import { labAvailable, startLab } from "./lab";
import { hostNames, labConfig, labHostsFor, syntheticStack } from "./stack";
import { runProgram } from "../harness";

export const BRING_UP_TIMES_FILE = path.join(__dirname, "bring-up-times.json");

export interface BringUpTime {
  hosts: number;
  wallS: number;
  /** commands the run carried out */
  commands?: number;
  /** seconds each kubeadm stand-in step slept */
  stepSleepS?: number;
  /** node preparation done by the lab's fallback instead of the program (see e2e.ts) */
  fallbackNodePrep?: boolean;
  measuredAt?: string;
}

export interface BringUpTimesOptions {
  /** measure now (needs root; minutes); default: read the last measurement */
  measure?: boolean;
  sizes?: number[];
  stepSleepS?: number;
  prefix?: string;
  subnet?: string;
  /** where to write/read the JSON; default test/lab/bring-up-times.json */
  file?: string;
}

/** `[{hosts, wallS}]` for each inventory size: measured now, or the last measurement ([] if none). */
export async function bringUpTimes(opts: BringUpTimesOptions = {}): Promise<BringUpTime[]> {
  const file = opts.file ?? BRING_UP_TIMES_FILE;
  if (!opts.measure) return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as BringUpTime[]) : [];
  const avail = labAvailable();
  if (!avail.ok) throw new Error(`cannot measure lab bring-up times: ${avail.reason}`);
  const stepSleepS = opts.stepSleepS ?? 1;
  const out: BringUpTime[] = [];
  for (const n of opts.sizes ?? [3, 6, 12]) {
    const base = syntheticStack(n);
    const missing = await missingComponents(base);
    if (missing) throw new Error(`cannot measure lab bring-up times: ${missing}`);
    const lab = await startLab({
      prefix: opts.prefix ?? process.env.LAB_PREFIX ?? "bl",
      subnet: opts.subnet ?? process.env.LAB_SUBNET ?? "10.250.10",
      hosts: labHostsFor(base),
      stepSleepS,
      fakeBuiltinModules: FAKE_MODULES,
      freshIscsiNames: true,
    });
    const exec = new Executor({ config: labConfig(lab, base), hostNames: hostNames(lab) });
    try {
      const cfg = labConfig(lab, base);
      const fallbackNodePrep = await nodePrepFallback(lab, (await runProgram(cfg)).resources);
      const r = await exec.up();
      if (r.failure) throw new Error(`bring-up of ${n} hosts failed:\n${describeRun(r)}`);
      out.push({
        hosts: n,
        wallS: Math.round(r.wallMs / 100) / 10,
        commands: r.commands.length,
        stepSleepS,
        fallbackNodePrep,
        measuredAt: new Date().toISOString(),
      });
    } finally {
      exec.dispose();
      await lab.down();
    }
  }
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return out;
}

if (require.main === module) {
  const arg = (k: string) => {
    const i = process.argv.indexOf(k);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  bringUpTimes({
    measure: true,
    sizes: arg("--sizes")?.split(",").map(Number),
    stepSleepS: arg("--step") ? Number(arg("--step")) : undefined,
  }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
