import { describe, expect, it } from "vitest";
import { buildResults, chainRatio, growthExponent, renderComparison, renderTable, type Machine, type RawRun } from "../../bench/report";

const machine: Machine = {
  date: "2026-11-21T00:00:00.000Z",
  cores: 2,
  cpuModel: "test cpu",
  memoryGb: 8,
  node: "v20.0.0",
  platform: "linux",
  loadAverage: 1,
  nodeFlags: [],
  commit: "abc1234",
  note: "test",
};

function run(wall: (hosts: number) => number, chain = 12): RawRun {
  const empty = { changed: [], removed: [], added: [] };
  return {
    sizes: [250, 3, 50].map((hosts) => ({
      hosts,
      resources: hosts * 10 + 5,
      wallMs: wall(hosts),
      cpuMs: wall(hosts),
      peakRssMb: 200 + hosts,
      baselineRssMb: 180,
      processMs: wall(hosts) + 3000,
      sessionsPerRole: { leader: 5 + hosts, worker: 6 },
      critical: {
        longestChain: chain,
        remoteCommands: hosts * 8,
        parallelism: (hosts * 8) / chain,
        chain: ["cp-1-prepare", "cp-1-kubeadm-init"],
      },
      byType: {},
    })),
    invariants: {
      hosts: 50,
      blastRadius: {
        addWorker: { ...empty, added: ["w-48"] },
        removeWorker: { ...empty, removedHost: "w-24" },
        longhornReplicas: { changed: ["longhorn"], removed: [], added: [], from: 3, to: 2 },
      },
      noop: { identical: 1, resources: 505, differing: [] },
      sessions: {
        perRole: { leader: 9, worker: 4 },
        perHost: [
          { host: "cp-1", role: "leader", sessions: 9 },
          { host: "w-1", role: "worker", sessions: 4 },
        ],
      },
      wallMs: 1,
    },
    lab: [],
    labNote: "not here",
    totalMs: 1000,
  };
}

describe("bench results", () => {
  it("gives --format json exactly the issue's output contract, sizes in order", () => {
    const r = buildResults(
      run((h) => 100 + 2 * h),
      machine,
    );
    expect(Object.keys(r.figures)).toEqual(["evaluation", "criticalPath", "sshSessionsPerHost", "blastRadius", "noop", "lab"]);
    expect(r.figures.evaluation.map((e) => Object.keys(e))).toEqual(Array(3).fill(["hosts", "resources", "wallMs", "peakRssMb"]));
    expect(r.figures.evaluation.map((e) => e.hosts)).toEqual([3, 50, 250]);
    expect(r.figures.criticalPath[0]).toEqual({ hosts: 3, longestChain: 12, remoteCommands: 24 });
    expect(r.figures.blastRadius).toEqual({ addWorker: 0, removeWorker: 0, longhornReplicas: 1 });
    expect(r.figures.noop).toEqual({ identical: 1 });
    expect(r.figures.lab).toEqual([]);
    expect(r.details.sizes[1]?.marginalMsPerHost).toBe(2);
  });

  it("measures growth between the two largest sizes and the chain ratio between the extremes", () => {
    expect(
      growthExponent([
        { hosts: 3, wallMs: 50 },
        { hosts: 50, wallMs: 100 },
        { hosts: 250, wallMs: 500 },
      ]),
    ).toBe(1);
    expect(
      growthExponent([
        { hosts: 50, wallMs: 100 },
        { hosts: 100, wallMs: 400 },
      ]),
    ).toBe(2);
    expect(growthExponent([{ hosts: 50, wallMs: 100 }])).toBeNull();
    expect(
      chainRatio([
        { hosts: 250, longestChain: 14 },
        { hosts: 3, longestChain: 7 },
      ]),
    ).toBe(2);
    expect(
      chainRatio([
        { hosts: 3, longestChain: 0 },
        { hosts: 250, longestChain: 0 },
      ]),
    ).toBeNull();
  });

  it("prints the figures for people and compares them with the previous run", () => {
    const before = buildResults(
      run((h) => 100 + 2 * h),
      machine,
    );
    const after = buildResults(
      run((h) => 100 + h),
      { ...machine, commit: "def5678" },
    );
    const text = renderTable(after);
    expect(text).toContain("commit def5678");
    expect(text).toMatch(/250\s+2505\s+10\.02\s+350/);
    expect(text).toContain("not measured: not here");
    expect(text).toMatch(/hosts\s+leader\s+worker\n[- ]+\n3\s+8\s+6\n50\s+55\s+6\n250\s+255\s+6/);
    const cmp = renderComparison(before, after);
    expect(cmp).toContain("commit abc1234");
    expect(cmp).toMatch(/evaluation 250 hosts: wall ms\s+600\s+350\s+-42 %/);
    expect(cmp).toMatch(/blast radius: addWorker\s+0\s+0\s+=/);
  });
});
