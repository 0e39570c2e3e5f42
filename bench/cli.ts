import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { LabFigure, LabRecord, LabResult } from "./lab";
import type { SizeFigures } from "./measure";
import type { RealEngineResult } from "./real-engine";
import { buildResults, renderComparison, renderTable, type BenchResults, type InvariantFigures, type Machine } from "./report";

const ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(ROOT, "bench", "results", "latest.json");
/** Where a run with non-default sizes goes, so it never replaces the committed full run (git-ignored). */
const PARTIAL = path.join(ROOT, "bench", "results", "partial.tmp.json");
const CHILD = path.join(__dirname, "child.ts");
const DEFAULT_SIZES = [3, 10, 50, 100, 250];
const DEFAULT_BLAST_HOSTS = 50;
const DEFAULT_REAL_SIZES = [10, 50, 250];

const USAGE = `usage: npm run bench -- [--format table|json] [--sizes 3,10,50,100,250] [--blast-hosts 50]
                       [--repeat N] [--stack-trace-limit N] [--cpu-prof DIR] [--no-lab | --measure-lab]
                       [--real-sizes 10,50,250 | --no-real-engine] [--no-save]

  --format FORMAT         table (default, for people) or json (the issue's output contract, for scripts)
  --sizes LIST            inventory sizes to evaluate (default ${DEFAULT_SIZES.join(",")})
  --blast-hosts N         inventory size for blast radius and no-op (default ${DEFAULT_BLAST_HOSTS})
  --repeat N              evaluate each size N times (fresh processes), keep the fastest (default 1)
  --stack-trace-limit N   run the evaluations with node --stack-trace-limit=N
  --cpu-prof DIR          write a V8 CPU profile of each evaluation (eval-<hosts>-hosts.cpuprofile) into DIR;
                          summarise one with: npx tsx bench/profile.ts DIR/eval-250-hosts.cpuprofile
  --no-lab                skip the lab bring-up
  --measure-lab           measure the lab bring-up anew (root, minutes; test hosts on LAB_PREFIX/LAB_SUBNET)
                          instead of reading the lab's stored measurement
  --real-sizes LIST       inventory sizes for the real Pulumi engine: preview and a no-op up (default ${DEFAULT_REAL_SIZES.join(",")});
                          measured when \`npm run -s tools\` has built the CLI and language host
  --no-real-engine        skip the real engine
  --no-save               do not write bench/results/latest.json
A full run (default sizes, lab attempted) is kept in bench/results/latest.json and compared with the previous one.`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/** Runs one job in a fresh node process; returns its JSON result and the process's wall time. */
async function runChild<T>(
  job: string,
  hosts: number,
  nodeFlags: string[],
  env: NodeJS.ProcessEnv = process.env,
  echo = false,
): Promise<{ result: T; processMs: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-"));
  const out = path.join(dir, "result.json");
  const t0 = performance.now();
  try {
    const stderr: Buffer[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeFlags, "--require", "tsx/cjs", CHILD, job, String(hosts), out], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr.on("data", (b: Buffer) => {
        stderr.push(b);
        if (echo) process.stderr.write(b);
      });
      child.on("error", reject);
      child.on("exit", (c) => resolve(c));
    });
    const processMs = performance.now() - t0;
    if (code !== 0 || !existsSync(out)) {
      throw new Error(`the ${job} job for ${hosts} hosts failed (exit ${code}):\n${Buffer.concat(stderr).toString().trim()}`);
    }
    return { result: JSON.parse(readFileSync(out, "utf8")) as T, processMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function commit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${head}+changes` : head;
  } catch {
    return "unknown";
  }
}

function machine(nodeFlags: string[]): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg()[0] ?? 0,
    nodeFlags,
    commit: commit(),
    note: "times are wall-clock on a machine shared with other work (see load): compare runs from the same machine; counts and invariants do not depend on it",
  };
}

/** The results as the repository's Prettier writes JSON, so `npm run format:check` stays clean after a run. */
async function formatJson(text: string, file: string): Promise<string> {
  try {
    const prettier = await import("prettier");
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...options, parser: "json" });
  } catch {
    return text;
  }
}

function readPrevious(file: string): BenchResults | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
    return r.figures && r.machine ? r : undefined;
  } catch {
    return undefined;
  }
}

async function cli(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        format: { type: "string", default: "table" },
        sizes: { type: "string" },
        "blast-hosts": { type: "string" },
        repeat: { type: "string" },
        "stack-trace-limit": { type: "string" },
        "cpu-prof": { type: "string" },
        "no-lab": { type: "boolean", default: false },
        "measure-lab": { type: "boolean", default: false },
        "no-save": { type: "boolean", default: false },
        "real-sizes": { type: "string" },
        "no-real-engine": { type: "boolean", default: false },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.format !== "table" && values.format !== "json") fail(`--format must be table or json, got ${values.format}`);
  const sizes = values.sizes === undefined ? DEFAULT_SIZES : values.sizes.split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 3))
    fail(`--sizes must list whole numbers of hosts, each at least 3 (the control planes), got ${values.sizes}`);
  const blastHosts = values["blast-hosts"] === undefined ? DEFAULT_BLAST_HOSTS : Number(values["blast-hosts"]);
  if (!Number.isInteger(blastHosts) || blastHosts < 5)
    fail(
      `--blast-hosts must be a whole number of hosts, at least 5 (3 control planes and workers to add and remove), got ${values["blast-hosts"]}`,
    );
  const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) fail(`--repeat must be a whole number, at least 1, got ${values.repeat}`);
  const nodeFlags: string[] = [];
  if (values["stack-trace-limit"] !== undefined) {
    if (!/^\d+$/.test(values["stack-trace-limit"])) fail(`--stack-trace-limit must be a whole number, got ${values["stack-trace-limit"]}`);
    nodeFlags.push(`--stack-trace-limit=${values["stack-trace-limit"]}`);
  }
  const realSizes = values["real-sizes"] === undefined ? DEFAULT_REAL_SIZES : values["real-sizes"].split(",").map((s) => Number(s.trim()));
  if (realSizes.some((n) => !Number.isInteger(n) || n < 3))
    fail(`--real-sizes must list whole numbers of hosts, each at least 3 (the control planes), got ${values["real-sizes"]}`);
  const profileDir = values["cpu-prof"] === undefined ? undefined : path.resolve(values["cpu-prof"]);
  const sizeEnv = profileDir === undefined ? process.env : { ...process.env, BENCH_CPU_PROFILE_DIR: profileDir };

  const progress = (s: string) => process.stderr.write(`bench: ${s}\n`);
  const m = machine(nodeFlags);
  const t0 = performance.now();
  const measured: (SizeFigures & { processMs: number })[] = [];
  // One size at a time: on a small shared machine, parallel evaluations would time each other.
  for (const n of [...sizes].sort((a, b) => a - b)) {
    let best: (SizeFigures & { processMs: number }) | undefined;
    for (let i = 0; i < repeat; i++) {
      progress(`evaluating ${n} hosts in a fresh process${repeat > 1 ? ` (${i + 1}/${repeat})` : ""}...`);
      const { result, processMs } = await runChild<SizeFigures>("size", n, nodeFlags, sizeEnv);
      if (best === undefined || result.wallMs < best.wallMs) best = { ...result, processMs };
    }
    measured.push(best as SizeFigures & { processMs: number });
  }
  progress(`blast radius and no-op at ${blastHosts} hosts, SSH sessions on the example lab...`);
  const { result: invariants } = await runChild<InvariantFigures>("invariants", blastHosts, nodeFlags);
  let lab: LabFigure[] = [];
  let labRecords: LabRecord[] | undefined;
  let labNote: string | undefined;
  if (values["no-lab"]) labNote = "skipped (--no-lab)";
  else {
    progress(
      values["measure-lab"]
        ? "measuring the lab bring-up for 3, 6 and 12 hosts (minutes)..."
        : "lab bring-up times (the lab's stored measurement)...",
    );
    ({
      result: { lab, records: labRecords, note: labNote },
    } = await runChild<LabResult>("lab", values["measure-lab"] ? 1 : 0, []));
  }
  if (labNote !== undefined) progress(`lab: ${labNote}`);

  let realEngine: RealEngineResult;
  if (values["no-real-engine"]) realEngine = { figures: [], note: "skipped (--no-real-engine)" };
  else {
    progress(`the real Pulumi engine at ${realSizes.join(", ")} hosts (minutes)...`);
    const { result } = await runChild<RealEngineResult>(
      "real-engine",
      0,
      [],
      { ...process.env, BENCH_REAL_SIZES: realSizes.join(",") },
      true,
    );
    realEngine = result;
  }
  if (realEngine.note !== undefined) progress(`real engine: ${realEngine.note}`);

  const results = buildResults(
    { sizes: measured, invariants, lab, labRecords, labNote, realEngine, totalMs: performance.now() - t0, repeat },
    m,
  );
  const full =
    values.sizes === undefined &&
    values["blast-hosts"] === undefined &&
    !values["no-lab"] &&
    !values["no-real-engine"] &&
    values["real-sizes"] === undefined &&
    nodeFlags.length === 0 &&
    profileDir === undefined;
  const target = full ? RESULTS : PARTIAL;
  const previous = readPrevious(RESULTS);

  if (values.format === "json") process.stdout.write(`${JSON.stringify(results.figures, null, 2)}\n`);
  else process.stdout.write(renderTable(results));
  if (previous) {
    const comparison = renderComparison(previous, results);
    if (values.format === "json") process.stderr.write(`\n${comparison}`);
    else process.stdout.write(`\n${comparison}`);
  }
  if (profileDir !== undefined)
    progress(
      `CPU profiles in ${path.relative(process.cwd(), profileDir) || "."}: npx tsx bench/profile.ts ${path.relative(process.cwd(), path.join(profileDir, `eval-${Math.max(...sizes)}-hosts.cpuprofile`))}`,
    );
  if (!values["no-save"]) {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(`${target}.new`, await formatJson(`${JSON.stringify(results, null, 2)}\n`, target));
    renameSync(`${target}.new`, target);
    progress(
      `results written to ${path.relative(process.cwd(), target)}${full ? "" : " (not a full default run, so latest.json is left as it was)"}`,
    );
  }
  return 0;
}

cli().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
