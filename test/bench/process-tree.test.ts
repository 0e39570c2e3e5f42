import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pgrpOfStat, rssKbOfStatus, sampleGroup, sumGroup } from "../../bench/process-tree";

describe("process-tree memory of the real engine's processes", () => {
  it("reads the process group from /proc/PID/stat even when the command name holds spaces and parentheses", () => {
    expect(pgrpOfStat("4242 (node) S 1 4242 4242 0 -1 4194560")).toBe(4242);
    expect(pgrpOfStat("77 (pulumi-language (nodejs) x) S 4242 4200 4200 0")).toBe(4200);
    expect(pgrpOfStat("garbage")).toBeNull();
  });

  it("reads VmRSS in kB, 0 when a process has none", () => {
    expect(rssKbOfStatus("Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  123456 kB\nThreads: 7\n")).toBe(123456);
    expect(rssKbOfStatus("Name:\tkthreadd\nState:\tS\n")).toBe(0);
  });

  it("sums the group's processes and puts stand-ins apart; other groups do not count", () => {
    const m = sumGroup(
      [
        { pid: 1, pgrp: 10, rssKb: 1024, cmdline: "/cache/bin/pulumi up" },
        { pid: 2, pgrp: 10, rssKb: 2048, cmdline: "node /repo/index.ts" },
        { pid: 3, pgrp: 10, rssKb: 512, cmdline: "node --import tsx test/preview/standin-providers/main.ts command" },
        { pid: 4, pgrp: 11, rssKb: 99999, cmdline: "node elsewhere" },
      ],
      10,
      (c) => c.includes("standin-providers"),
    );
    expect(m).toEqual({ engineMb: 3, standInMb: 0.5 });
  });

  it("samples a live process group: a child that allocates shows in the peak", async () => {
    const child = spawn(process.execPath, ["-e", "const b = Buffer.alloc(64 * 1024 * 1024, 1); setTimeout(() => b.length, 1500)"], {
      detached: true,
      stdio: "ignore",
    });
    const sampler = sampleGroup(child.pid as number, () => false, 50);
    await new Promise((resolve) => child.on("close", resolve));
    const peak = sampler.stop();
    expect(peak.engineMb).toBeGreaterThan(64);
    expect(peak.standInMb).toBe(0);
  });
});
