import { readFileSync } from "node:fs";
import * as path from "node:path";

/**
 * Where the time goes in a V8 CPU profile (`.cpuprofile`, as written by
 * `node --cpu-prof` or by `npm run bench -- --cpu-prof DIR`): self time by
 * package or project file, and by function. Pure apart from the CLI below.
 *   npx tsx bench/profile.ts FILE.cpuprofile [--top 25]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  key: string;
  ms: number;
  share: number;
}

/** The package (node_modules/@scope/name) or project-relative file a URL belongs to; V8's own entries keep their name. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const p = url.replace(/^file:\/\//, "");
  const nm = p.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = p.slice(nm + "node_modules/".length).split("/");
    const pkg = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? p);
    // The SDK's runtime is the part that matters: show its file.
    if (pkg === "@pulumi/pulumi") return `@pulumi/pulumi/${parts.slice(2).join("/")}`;
    return pkg;
  }
  if (p.startsWith("node:")) return "node internals";
  return path.basename(path.dirname(p)) + "/" + path.basename(p);
}

/** Self time per key (by owner or by function), largest first. */
export function selfTimes(profile: CpuProfile, by: "owner" | "function"): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(id);
    if (!n) return;
    const f = n.callFrame;
    const owner = ownerOf(f.url, f.functionName);
    const key = by === "owner" ? owner : `${f.functionName || "(anonymous)"} ${owner}:${f.lineNumber + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + dt);
    all += dt;
  });
  return [...totals.entries()].map(([key, ms]) => ({ key, ms, share: all > 0 ? ms / all : 0 })).sort((a, b) => b.ms - a.ms);
}

/** Time in samples whose stack contains a function matching `pattern` (inclusive time). */
export function inclusiveTime(profile: CpuProfile, pattern: RegExp): number {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hit = new Map<number, boolean>();
  const matches = (id: number): boolean => {
    const cached = hit.get(id);
    if (cached !== undefined) return cached;
    const n = byId.get(id);
    const p = parent.get(id);
    const r = n !== undefined && (pattern.test(n.callFrame.functionName) || (p !== undefined && matches(p)));
    hit.set(id, r);
    return r;
  };
  let ms = 0;
  profile.samples.forEach((id, i) => {
    if (matches(id)) ms += (profile.timeDeltas[i] ?? 0) / 1000;
  });
  return ms;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--"));
  const topAt = args.indexOf("--top");
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  if (!file) {
    process.stderr.write("usage: npx tsx bench/profile.ts FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const total = (profile.endTime - profile.startTime) / 1000;
  const show = (title: string, rows: SelfTime[]) => {
    process.stdout.write(`\n${title}\n`);
    for (const r of rows.slice(0, top))
      process.stdout.write(`${r.ms.toFixed(0).padStart(8)} ms ${(r.share * 100).toFixed(1).padStart(5)} %  ${r.key}\n`);
  };
  process.stdout.write(`${file}: ${total.toFixed(0)} ms profiled\n`);
  show("self time by package / file", selfTimes(profile, "owner"));
  show("self time by function", selfTimes(profile, "function"));
  const gc = selfTimes(profile, "owner").find((r) => r.key === "(garbage collector)");
  process.stdout.write(`\ngarbage collection: ${gc ? gc.ms.toFixed(0) : 0} ms\n`);
  // Formatting a stack (the SDK reads new Error().stack eagerly) runs under the `stack` getter,
  // including source-map translation when source maps are on (tsx, ts-node); capturing the
  // frames shows as self time of the function that made the Error.
  const formatting = inclusiveTime(profile, /^(get stack|prepareStackTrace.*)$/);
  const capture = selfTimes(profile, "function")
    .filter((r) => /^(debuggablePromise|callsites) /.test(r.key))
    .reduce((n, r) => n + r.ms, 0);
  process.stdout.write(
    `stack traces: ${formatting.toFixed(0)} ms formatting them (source maps included), ${capture.toFixed(0)} ms self time in debuggablePromise/callsites capturing them: ${(((formatting + capture) / total) * 100).toFixed(0)} % of the profile\n`,
  );
}

if (require.main === module) main();
