import type { BlastRadius, SizeFigures } from "./measure";
import type { BenchRole, HostSessions } from "./sessions";
import { touched } from "./compare";
import type { RealEngineFigure } from "./real-engine";

/**
 * The bench's results: the output contract of issue 8 (what `--format json`
 * prints, read by scripts outside this repository), and around it what
 * `bench/results/latest.json` keeps for people (machine, details). Pure.
 */

/** Exactly the object of the issue's "Output contract". */
export interface BenchContract {
  evaluation: { hosts: number; resources: number; wallMs: number; peakRssMb: number }[];
  criticalPath: { hosts: number; longestChain: number; remoteCommands: number }[];
  sshSessionsPerHost: Partial<Record<BenchRole, number>>;
  blastRadius: { addWorker: number; removeWorker: number; longhornReplicas: number };
  noop: { identical: number };
  lab: { hosts: number; wallS: number }[];
  /** The real Pulumi engine at the same sizes (added with issue 16): [] when its tools are not built or it was skipped. */
  realEngine?: RealEngineFigure[];
}

export interface Machine {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews the times. */
  loadAverage: number;
  /** Extra node flags given to the evaluation processes (e.g. --stack-trace-limit=3). */
  nodeFlags: string[];
  commit: string;
  note: string;
}

export interface InvariantFigures {
  hosts: number;
  blastRadius: BlastRadius;
  noop: { identical: number; resources: number; differing: string[] };
  sessions: { perRole: Partial<Record<BenchRole, number>>; perHost: HostSessions[] };
  wallMs: number;
}

export interface SizeDetails {
  hosts: number;
  resourcesPerHost: number;
  msPerHost: number;
  /** (wallMs - wallMs of the next smaller size) / (hosts added): the cost of one more host, free of the fixed start-up cost. */
  marginalMsPerHost: number | null;
  msPerResource: number | null;
  cpuMs: number;
  baselineRssMb: number;
  /** Wall time of the whole child process (start-up, module loading, evaluation, analysis). */
  processMs: number;
  parallelism: number | null;
  chain: string[];
  sessionsPerRole: Partial<Record<BenchRole, number>>;
  byType: Record<string, number>;
}

export interface BenchResults {
  machine: Machine;
  figures: BenchContract;
  details: {
    /** Fresh processes per size; the figures are those of the fastest. */
    repeat: number;
    sizes: SizeDetails[];
    /** log(wallMs) slope against log(hosts) between the two largest sizes (where the fixed cost no longer hides the growth): 1 is linear. */
    growthExponent: number | null;
    /** The same slope for CPU time, which other work on a shared machine disturbs less. */
    cpuGrowthExponent: number | null;
    /** longestChain(largest) / longestChain(smallest); null while the graph has no remote step. */
    chainRatio: number | null;
    blastRadius: {
      hosts: number;
      addWorker: string[];
      removeWorker: string[];
      removedHost: string;
      longhornReplicas: string[];
      longhornFrom: number;
      longhornTo: number;
    };
    noop: { hosts: number; resources: number; differing: string[] };
    sessionsPerHost: HostSessions[];
    lab: { note?: string; records?: Record<string, unknown>[] };
    realEngine?: { engine?: string; note?: string };
    totalMs: number;
  };
}

const round = (v: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

export function growthExponent(points: { hosts: number; wallMs: number }[]): number | null {
  const sorted = [...points].sort((a, b) => a.hosts - b.hosts);
  const first = sorted[sorted.length - 2];
  const last = sorted[sorted.length - 1];
  if (!first || !last || first.hosts === last.hosts || first.wallMs <= 0 || last.wallMs <= 0) return null;
  return round(Math.log(last.wallMs / first.wallMs) / Math.log(last.hosts / first.hosts), 2);
}

export function chainRatio(points: { hosts: number; longestChain: number }[]): number | null {
  const sorted = [...points].sort((a, b) => a.hosts - b.hosts);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (!first || !last || first.longestChain === 0) return null;
  return round(last.longestChain / first.longestChain, 2);
}

export interface RawRun {
  sizes: (SizeFigures & { processMs: number })[];
  invariants: InvariantFigures;
  lab: { hosts: number; wallS: number }[];
  labRecords?: Record<string, unknown>[];
  labNote?: string;
  realEngine?: { figures: RealEngineFigure[]; engine?: string; note?: string };
  totalMs: number;
  repeat?: number;
}

export function buildResults(run: RawRun, machine: Machine): BenchResults {
  const sizes = [...run.sizes].sort((a, b) => a.hosts - b.hosts);
  const b = run.invariants.blastRadius;
  const figures: BenchContract = {
    evaluation: sizes.map((s) => ({ hosts: s.hosts, resources: s.resources, wallMs: round(s.wallMs), peakRssMb: round(s.peakRssMb, 1) })),
    criticalPath: sizes.map((s) => ({ hosts: s.hosts, longestChain: s.critical.longestChain, remoteCommands: s.critical.remoteCommands })),
    sshSessionsPerHost: run.invariants.sessions.perRole,
    blastRadius: { addWorker: touched(b.addWorker), removeWorker: touched(b.removeWorker), longhornReplicas: touched(b.longhornReplicas) },
    noop: { identical: run.invariants.noop.identical },
    lab: run.lab,
    ...(run.realEngine === undefined ? {} : { realEngine: run.realEngine.figures }),
  };
  return {
    machine,
    figures,
    details: {
      repeat: run.repeat ?? 1,
      sizes: sizes.map((s, i) => ({
        hosts: s.hosts,
        resourcesPerHost: round(s.resources / s.hosts, 2),
        msPerHost: round(s.wallMs / s.hosts, 2),
        marginalMsPerHost:
          i === 0 ? null : round((s.wallMs - (sizes[i - 1] as SizeFigures).wallMs) / (s.hosts - (sizes[i - 1] as SizeFigures).hosts), 2),
        msPerResource: s.resources > 0 ? round(s.wallMs / s.resources, 2) : null,
        cpuMs: round(s.cpuMs),
        baselineRssMb: round(s.baselineRssMb, 1),
        processMs: round(s.processMs),
        parallelism: s.critical.parallelism === null ? null : round(s.critical.parallelism, 2),
        chain: s.critical.chain,
        sessionsPerRole: s.sessionsPerRole,
        byType: s.byType,
      })),
      growthExponent: growthExponent(sizes),
      cpuGrowthExponent: growthExponent(sizes.map((s) => ({ hosts: s.hosts, wallMs: s.cpuMs }))),
      chainRatio: chainRatio(sizes.map((s) => ({ hosts: s.hosts, longestChain: s.critical.longestChain }))),
      blastRadius: {
        hosts: run.invariants.hosts,
        addWorker: [...b.addWorker.changed, ...b.addWorker.removed],
        removeWorker: [...b.removeWorker.changed, ...b.removeWorker.removed],
        removedHost: b.removeWorker.removedHost,
        longhornReplicas: [...b.longhornReplicas.changed, ...b.longhornReplicas.removed],
        longhornFrom: b.longhornReplicas.from,
        longhornTo: b.longhornReplicas.to,
      },
      noop: { hosts: run.invariants.hosts, resources: run.invariants.noop.resources, differing: run.invariants.noop.differing },
      sessionsPerHost: run.invariants.sessions.perHost,
      lab: {
        ...(run.labNote === undefined ? {} : { note: run.labNote }),
        ...(run.labRecords === undefined ? {} : { records: run.labRecords }),
      },
      ...(run.realEngine === undefined
        ? {}
        : {
            realEngine: {
              ...(run.realEngine.engine === undefined ? {} : { engine: run.realEngine.engine }),
              ...(run.realEngine.note === undefined ? {} : { note: run.realEngine.note }),
            },
          }),
      totalMs: round(run.totalMs),
    },
  };
}

/** A fixed-width table: first column left-aligned, the rest right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

const fmt = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? "-" : v.toFixed(digits));
const list = (names: string[]) =>
  names.length === 0 ? "" : ` (${names.slice(0, 6).join(", ")}${names.length > 6 ? `, +${names.length - 6} more` : ""})`;

export function renderTable(r: BenchResults): string {
  const f = r.figures;
  const d = r.details;
  const out: string[] = [];
  const m = r.machine;
  out.push(`baremetal-k8s bench, ${m.date}, commit ${m.commit}`);
  out.push(
    `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, node ${m.node}, load ${m.loadAverage.toFixed(2)}${m.nodeFlags.length ? `, node flags ${m.nodeFlags.join(" ")}` : ""}`,
  );
  out.push(`note: ${m.note}`);
  out.push("");
  out.push(`1. Program evaluation (the offline plan, one fresh process per size${d.repeat > 1 ? `, fastest of ${d.repeat}` : ""})`);
  out.push(
    table(
      [
        "hosts",
        "resources",
        "res/host",
        "wall ms",
        "cpu ms",
        "ms/host",
        "marginal ms/host",
        "ms/resource",
        "peak RSS MB",
        "baseline MB",
        "process ms",
      ],
      f.evaluation.map((e, i) => {
        const s = d.sizes[i];
        return [
          e.hosts,
          e.resources,
          fmt(s.resourcesPerHost, 2),
          e.wallMs,
          s.cpuMs,
          fmt(s.msPerHost, 2),
          fmt(s.marginalMsPerHost, 2),
          fmt(s.msPerResource, 2),
          fmt(e.peakRssMb, 1),
          fmt(s.baselineRssMb, 1),
          s.processMs,
        ];
      }),
    ),
  );
  const [a, z] = [f.evaluation.at(-2), f.evaluation.at(-1)];
  out.push(
    `growth from ${a?.hosts ?? "?"} to ${z?.hosts ?? "?"} hosts: wall time ~ hosts^${fmt(d.growthExponent, 2)}, CPU time ~ hosts^${fmt(d.cpuGrowthExponent, 2)} (1 = linear, below 1 = better)`,
  );
  out.push("");
  out.push("2. Critical path of the bring-up (remote steps)");
  out.push(
    table(
      ["hosts", "longest chain", "remote commands", "parallelism"],
      f.criticalPath.map((c, i) => [c.hosts, c.longestChain, c.remoteCommands, fmt(d.sizes[i]?.parallelism, 2)]),
    ),
  );
  out.push(`ratio longest chain ${f.criticalPath.at(-1)?.hosts ?? "?"}/${f.criticalPath[0]?.hosts ?? "?"}: ${fmt(d.chainRatio, 2)}`);
  const longest = d.sizes.at(-1);
  if (longest && longest.chain.length > 0) out.push(`longest chain at ${longest.hosts} hosts: ${longest.chain.join(" -> ")}`);
  out.push("");
  out.push("3. SSH sessions per host (example lab; most sessions of any host with that role)");
  out.push(
    table(
      ["role", "sessions", "hosts"],
      Object.entries(f.sshSessionsPerHost).map(([role, n]) => [
        role,
        n,
        d.sessionsPerHost
          .filter((h) => h.role === role)
          .map((h) => `${h.host}:${h.sessions}`)
          .join(" "),
      ]),
    ),
  );
  const roles = [...new Set(d.sizes.flatMap((s) => Object.keys(s.sessionsPerRole)))] as BenchRole[];
  if (roles.length > 0) {
    out.push("   and in the synthetic inventories (busiest host of each role):");
    out.push(
      table(
        ["hosts", ...roles],
        d.sizes.map((s) => [s.hosts, ...roles.map((r) => s.sessionsPerRole[r] ?? "-")]),
      ),
    );
  }
  out.push("");
  const b = d.blastRadius;
  out.push(`4. Blast radius (${b.hosts}-host inventory; resources whose inputs change or that go)`);
  out.push(
    table(
      ["change", "touched", "must be"],
      [
        [`add one worker${list(b.addWorker)}`, f.blastRadius.addWorker, 0],
        [`remove ${b.removedHost}, other resources${list(b.removeWorker)}`, f.blastRadius.removeWorker, 0],
        [
          `longhorn replicas ${b.longhornFrom} -> ${b.longhornTo}${list(b.longhornReplicas)}`,
          f.blastRadius.longhornReplicas,
          "the release only",
        ],
      ],
    ),
  );
  out.push("");
  out.push(
    `5. No-op: ${fmt(f.noop.identical * 100, 1)} % of ${d.noop.resources} resources have byte-identical inputs on a second evaluation (${d.noop.hosts} hosts)${list(d.noop.differing)}`,
  );
  out.push("");
  out.push("6. Lab bring-up");
  if (f.lab.length === 0) out.push(`not measured${d.lab.note ? `: ${d.lab.note}` : ""}`);
  else {
    const first = f.lab[0];
    out.push(
      table(
        ["hosts", "wall s"],
        f.lab.map((l) => [l.hosts, fmt(l.wallS, 1)]),
      ),
    );
    const last = f.lab[f.lab.length - 1];
    out.push(`ratio ${last.hosts}/${first.hosts}: ${fmt(first.wallS > 0 ? last.wallS / first.wallS : null, 2)}`);
    if (d.lab.note) out.push(`(${d.lab.note})`);
  }
  if (f.realEngine !== undefined) {
    out.push("");
    out.push(...renderRealEngine(f.realEngine, f.evaluation, d.realEngine ?? {}));
  }
  out.push("");
  out.push(`bench took ${(d.totalMs / 1000).toFixed(1)} s`);
  return `${out.join("\n")}\n`;
}

/** Section 7: the real engine beside the mock evaluation of the same size, measured in the same run. */
export function renderRealEngine(
  real: RealEngineFigure[],
  evaluation: BenchContract["evaluation"],
  about: { engine?: string; note?: string },
): string[] {
  const out = ["7. The real Pulumi engine beside the mock evaluation (same run, same inventories)"];
  if (real.length === 0) {
    out.push(about.note ?? "not measured");
    return out;
  }
  out.push(
    table(
      [
        "hosts",
        "resources",
        "mock eval s",
        "mock peak MB",
        "preview s",
        "preview peak MB",
        "no-op up s",
        "no-op up peak MB",
        "x mock (preview)",
      ],
      real.map((r) => {
        const mock = evaluation.find((e) => e.hosts === r.hosts);
        return [
          r.hosts,
          r.resources,
          mock ? fmt(mock.wallMs / 1000, 1) : "-",
          mock ? fmt(mock.peakRssMb, 0) : "-",
          fmt(r.previewS, 1),
          fmt(r.previewPeakMb, 0),
          fmt(r.noopUpS, 1),
          fmt(r.noopUpPeakMb, 0),
          mock && mock.wallMs > 0 ? fmt((r.previewS * 1000) / mock.wallMs, 1) : "-",
        ];
      }),
    ),
  );
  out.push(
    "peak MB: the CLI, language host, program and policy pack together; the stand-in providers' own processes apart: " +
      real.map((r) => `${r.hosts} hosts ${fmt(r.standInPeakMb, 0)} MB`).join(", "),
  );
  if (about.engine) out.push(`engine: ${about.engine}`);
  return out;
}

function change(prev: number | null | undefined, cur: number | null | undefined): string {
  if (prev === null || prev === undefined || cur === null || cur === undefined) return "";
  if (prev === cur) return "=";
  if (prev === 0) return cur > 0 ? "new" : "";
  const pct = ((cur - prev) / prev) * 100;
  return `${pct > 0 ? "+" : ""}${pct.toFixed(0)} %`;
}

/** Previous run beside this one, figure by figure. */
export function renderComparison(prev: BenchResults, cur: BenchResults): string {
  const rows: (string | number)[][] = [];
  const add = (label: string, p: number | null | undefined, c: number | null | undefined) =>
    rows.push([label, p ?? "-", c ?? "-", change(p, c)]);
  for (const e of cur.figures.evaluation) {
    const pe = prev.figures.evaluation.find((x) => x.hosts === e.hosts);
    add(`evaluation ${e.hosts} hosts: resources`, pe?.resources, e.resources);
    add(`evaluation ${e.hosts} hosts: wall ms`, pe?.wallMs, e.wallMs);
    add(`evaluation ${e.hosts} hosts: peak RSS MB`, pe?.peakRssMb, e.peakRssMb);
  }
  for (const c of cur.figures.criticalPath) {
    const pc = prev.figures.criticalPath.find((x) => x.hosts === c.hosts);
    add(`critical path ${c.hosts} hosts: longest chain`, pc?.longestChain, c.longestChain);
    add(`critical path ${c.hosts} hosts: remote commands`, pc?.remoteCommands, c.remoteCommands);
  }
  for (const role of new Set([
    ...Object.keys(prev.figures.sshSessionsPerHost),
    ...Object.keys(cur.figures.sshSessionsPerHost),
  ]) as Set<BenchRole>) {
    add(`ssh sessions: ${role}`, prev.figures.sshSessionsPerHost[role], cur.figures.sshSessionsPerHost[role]);
  }
  for (const k of ["addWorker", "removeWorker", "longhornReplicas"] as const)
    add(`blast radius: ${k}`, prev.figures.blastRadius[k], cur.figures.blastRadius[k]);
  add("no-op: identical", prev.figures.noop.identical, cur.figures.noop.identical);
  for (const r of cur.figures.realEngine ?? []) {
    const pr = prev.figures.realEngine?.find((x) => x.hosts === r.hosts);
    add(`real preview ${r.hosts} hosts: s`, pr?.previewS, r.previewS);
    add(`real no-op up ${r.hosts} hosts: s`, pr?.noopUpS, r.noopUpS);
  }
  for (const l of cur.figures.lab) add(`lab ${l.hosts} hosts: wall s`, prev.figures.lab.find((x) => x.hosts === l.hosts)?.wallS, l.wallS);
  const head = `compared with the previous run: ${prev.machine.date}, commit ${prev.machine.commit}, ${prev.machine.cores} cores, load ${prev.machine.loadAverage.toFixed(2)}${prev.machine.nodeFlags.length ? `, ${prev.machine.nodeFlags.join(" ")}` : ""}`;
  return `${head}\n${table(["figure", "previous", "now", "change"], rows)}\n`;
}
