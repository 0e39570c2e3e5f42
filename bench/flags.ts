import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SizeFigures } from "./measure";
import { table } from "./report";

/**
 * Does a node flag make the evaluation cheaper? Runs the size job with each
 * set of flags, interleaved (so a burst of other work on a shared machine
 * hits every variant alike), N times each, and prints the fastest wall and
 * CPU time per variant.
 *   npx tsx bench/flags.ts [--sizes 50,250] [--repeat 3] -- "" "--stack-trace-limit=3" "--stack-trace-limit=0"
 */
const args = process.argv.slice(2);
const dashdash = args.indexOf("--");
const own = dashdash >= 0 ? args.slice(0, dashdash) : args;
const variants = dashdash >= 0 ? args.slice(dashdash + 1) : ["", "--stack-trace-limit=3"];
const opt = (name: string, def: string) => {
  const i = own.indexOf(name);
  return i >= 0 ? (own[i + 1] ?? def) : def;
};
const sizes = opt("--sizes", "50,250").split(",").map(Number);
const repeat = Number(opt("--repeat", "3"));
const child = path.join(__dirname, "child.ts");
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-flags-"));

const best = new Map<string, { wallMs: number; cpuMs: number; peakRssMb: number; resources: number }>();
try {
  for (let i = 0; i < repeat; i++) {
    for (const n of sizes) {
      for (const v of variants) {
        const out = path.join(dir, "r.json");
        const flags = v.split(" ").filter(Boolean);
        const r = spawnSync(process.execPath, [...flags, "--require", "tsx/cjs", child, "size", String(n), out], {
          stdio: ["ignore", "ignore", "inherit"],
        });
        if (r.status !== 0) throw new Error(`size ${n} with ${v || "(no flag)"} failed`);
        const f = JSON.parse(readFileSync(out, "utf8")) as SizeFigures;
        const key = `${n}\u0000${v}`;
        const b = best.get(key);
        best.set(key, {
          wallMs: Math.min(b?.wallMs ?? Infinity, f.wallMs),
          cpuMs: Math.min(b?.cpuMs ?? Infinity, f.cpuMs),
          peakRssMb: Math.min(b?.peakRssMb ?? Infinity, f.peakRssMb),
          resources: f.resources,
        });
        process.stderr.write(".");
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stderr.write("\n");
const rows: (string | number)[][] = [];
for (const n of sizes) {
  const base = best.get(`${n}\u0000${variants[0]}`);
  for (const v of variants) {
    const b = best.get(`${n}\u0000${v}`);
    if (!b || !base) continue;
    rows.push([
      v || "(no flag)",
      n,
      b.resources,
      Math.round(b.wallMs),
      Math.round(b.cpuMs),
      `${(((b.cpuMs - base.cpuMs) / base.cpuMs) * 100).toFixed(0)} %`,
      b.peakRssMb.toFixed(1),
    ]);
  }
}
process.stdout.write(`fastest of ${repeat} per variant, load ${os.loadavg()[0]?.toFixed(2)} on ${os.cpus().length} cores\n`);
process.stdout.write(`${table(["flags", "hosts", "resources", "wall ms", "cpu ms", "cpu vs first", "peak RSS MB"], rows)}\n`);
