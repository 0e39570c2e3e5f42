import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

/**
 * Lab bring-up wall times come from the end-to-end lab (branch `lab`,
 * `test/lab/bring-up-times.ts`), which brings up real test hosts with
 * stand-ins that sleep a fixed time per step. The bench calls it when the
 * module is present: its stored measurement by default, a new one with
 * `--measure-lab` when the machine can host the lab; otherwise it reports no
 * figures and says why.
 */

export const LAB_MODULE = path.resolve(__dirname, "..", "test", "lab", "bring-up-times.ts");
export const LAB_SIZES = [3, 6, 12];

export interface LabFigure {
  hosts: number;
  wallS: number;
}

/** What the lab returns: the figure and, depending on the lab's version, how it was measured. */
export type LabRecord = LabFigure & Record<string, unknown>;

export interface LabResult {
  lab: LabFigure[];
  /** The lab's records as returned (commands run, step sleep, when measured...). */
  records?: LabRecord[];
  note?: string;
}

/** Why this machine cannot host the lab, or undefined when it can (root, network namespaces, loop devices). */
export function labUnavailableReason(): string | undefined {
  if (typeof process.getuid === "function" && process.getuid() !== 0)
    return "the lab needs root (network namespaces, loop devices, mounts)";
  const ip = spawnSync("ip", ["-V"], { stdio: "ignore" });
  if (ip.error || ip.status !== 0) return "the `ip` command (iproute2) is missing";
  // An anonymous namespace disappears with the process: this probe leaves nothing behind.
  const ns = spawnSync("unshare", ["--net", "--mount", "true"], { stdio: "ignore" });
  if (ns.error || ns.status !== 0) return "this machine cannot create network/mount namespaces (unshare --net --mount failed)";
  if (!existsSync("/dev/loop-control")) return "this machine has no loop devices (/dev/loop-control is missing)";
  return undefined;
}

export function isLabFigures(v: unknown): v is LabFigure[] {
  return (
    Array.isArray(v) &&
    v.every(
      (x) =>
        x !== null && typeof x === "object" && typeof (x as LabFigure).hosts === "number" && typeof (x as LabFigure).wallS === "number",
    )
  );
}

type LabFunction = (opts?: { measure?: boolean; sizes?: number[] }) => unknown;

/** The module's function: its default export, else the one exported function (whatever its name). */
export function pickFunction(mod: Record<string, unknown>): LabFunction | undefined {
  if (typeof mod.default === "function") return mod.default as LabFunction;
  const fns = Object.entries(mod).filter(([, v]) => typeof v === "function");
  const named = fns.find(([k]) => /bring.?up|times/i.test(k));
  return (named ?? (fns.length === 1 ? fns[0] : undefined))?.[1] as LabFunction | undefined;
}

/** CommonJS require, which tsx's hook (`--require tsx/cjs`) compiles; a dynamic import() of .ts would go to the ESM loader it does not hook. */
const load = (file: string): unknown => createRequire(__filename)(file) as unknown;

export const LAB_API = path.resolve(__dirname, "..", "test", "lab", "lab.ts");

/** The lab's own check (`labAvailable()` in test/lab/lab.ts) when it has one, else the probe above. */
function whyNoLab(): string | undefined {
  if (existsSync(LAB_API)) {
    const api = load(LAB_API) as { labAvailable?: () => { ok: true } | { ok: false; reason: string } };
    if (typeof api.labAvailable === "function") {
      const a = api.labAvailable();
      return a.ok ? undefined : a.reason;
    }
  }
  return labUnavailableReason();
}

/**
 * The lab's bring-up times for 3, 6 and 12 hosts; never throws: a failure
 * becomes the note. The lab's `bringUpTimes()` returns its last stored
 * measurement unless asked to `measure` (root, real test hosts, minutes);
 * `measure` here asks for a new one, on the lab's LAB_PREFIX/LAB_SUBNET.
 */
export async function labBringUpTimes(measure = false): Promise<LabResult> {
  if (measure) {
    const reason = whyNoLab();
    if (reason !== undefined) return { lab: [], note: `cannot measure the lab here: ${reason}` };
  }
  try {
    const mod = load(LAB_MODULE) as Record<string, unknown>;
    const fn = pickFunction(mod);
    if (!fn) return { lab: [], note: `${path.relative(process.cwd(), LAB_MODULE)} exports no function to call: no lab figures` };
    const result = await fn({ measure, sizes: LAB_SIZES });
    if (!isLabFigures(result)) return { lab: [], note: "the lab's bring-up times did not come back as [{hosts, wallS}]: no lab figures" };
    const records = [...(result as LabRecord[])].sort((a, b) => a.hosts - b.hosts);
    const lab = records.map((r) => ({ hosts: r.hosts, wallS: Math.round(r.wallS * 10) / 10 }));
    if (lab.length === 0)
      return { lab, records, note: "the lab has no stored measurement yet: run `npm run bench -- --measure-lab` (root, minutes)" };
    if (measure) return { lab, records };
    const when = records
      .map((r) => r.measuredAt)
      .filter((d): d is string => typeof d === "string")
      .sort();
    return {
      lab,
      records,
      note: `the lab's stored measurement${when.length ? ` of ${when[when.length - 1]}` : ""} (test/lab/bring-up-times.json); \`npm run bench -- --measure-lab\` measures again (root, minutes, test hosts on LAB_PREFIX/LAB_SUBNET)`,
    };
  } catch (e) {
    return { lab: [], note: `the lab bring-up failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
