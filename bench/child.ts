import { writeFileSync } from "node:fs";
import { labBringUpTimes } from "./lab";
import { baseStack, measureBlastRadius, measureNoop, measureSessions, measureSize } from "./measure";
import { measureRealEngine } from "./real-engine";

/**
 * One bench job in its own process, so that peak RSS belongs to this job
 * alone and no job warms the next (module caches, JIT, the SDK's state).
 *   node --require tsx/cjs bench/child.ts size <hosts> <out.json>
 *   node --require tsx/cjs bench/child.ts invariants <hosts> <out.json>
 *   node --require tsx/cjs bench/child.ts lab 0|1 <out.json>      (1: measure the lab anew)
 *   BENCH_REAL_SIZES=10,50 node --require tsx/cjs bench/child.ts real-engine 0 <out.json>
 * BENCH_CPU_PROFILE_DIR=<dir> CPU-profiles the evaluation of a size job into <dir>.
 * Writes its figures as JSON to <out.json> (stdout is left to the program's own logging).
 */
async function run(job: string, hosts: number): Promise<unknown> {
  switch (job) {
    case "size":
      return measureSize(hosts, process.env.BENCH_CPU_PROFILE_DIR || undefined);
    case "invariants": {
      const t0 = performance.now();
      const blastRadius = await measureBlastRadius(hosts);
      const noop = await measureNoop(hosts);
      const sessions = await measureSessions();
      return { hosts, blastRadius, noop, sessions, wallMs: performance.now() - t0 };
    }
    case "lab":
      return labBringUpTimes(hosts === 1);
    case "real-engine":
      return measureRealEngine(baseStack(), (process.env.BENCH_REAL_SIZES ?? "").split(",").map(Number), (s) =>
        process.stderr.write(`bench: ${s}\n`),
      );
    default:
      throw new Error(`unknown bench job ${JSON.stringify(job)}: expected size, invariants, lab or real-engine`);
  }
}

const [job = "", hostsArg = "", out = ""] = process.argv.slice(2);
const hosts = Number(hostsArg);
if (!out || !Number.isInteger(hosts)) {
  process.stderr.write("usage: bench/child.ts size|invariants|lab <hosts> <out.json>\n");
  process.exit(2);
}
run(job, hosts).then(
  (result) => {
    writeFileSync(out, JSON.stringify(result));
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`bench job ${job} ${hosts}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
