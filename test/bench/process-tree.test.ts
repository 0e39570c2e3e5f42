import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ppidOfStat, rssKbOfStatus, sampleTree, sumTree } from "../../bench/process-tree";

describe("process-tree memory of the real engine's processes", () => {
  it("reads the parent pid from /proc/PID/stat even when the command name holds spaces and parentheses", () => {
    expect(ppidOfStat("4242 (node) S 1 4242 4242 0 -1 4194560")).toBe(1);
    expect(ppidOfStat("77 (pulumi-language (nodejs) x) S 4242 4200 4200 0")).toBe(4242);
    expect(ppidOfStat("garbage")).toBeNull();
  });

  it("reads VmRSS in kB, 0 when a process has none", () => {
    expect(rssKbOfStatus("Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  123456 kB\nThreads: 7\n")).toBe(123456);
    expect(rssKbOfStatus("Name:\tkthreadd\nState:\tS\n")).toBe(0);
  });

  it("sums the CLI and every descendant (plugins in their own process groups too), stand-ins apart; others do not count", () => {
    const m = sumTree(
      [
        { pid: 10, ppid: 1, rssKb: 1024, cmdline: "/cache/bin/pulumi up" },
        { pid: 11, ppid: 10, rssKb: 1024, cmdline: "pulumi-language-nodejs" },
        { pid: 12, ppid: 11, rssKb: 1024, cmdline: "node /repo/index.ts" },
        { pid: 13, ppid: 10, rssKb: 512, cmdline: "node --import tsx test/preview/standin-providers/main.ts command" },
        { pid: 4, ppid: 1, rssKb: 99999, cmdline: "node elsewhere" },
      ],
      10,
      (c) => c.includes("standin-providers"),
    );
    expect(m).toEqual({ engineMb: 3, standInMb: 0.5 });
  });

  it("samples a live tree: a grandchild that allocates shows in the peak", async () => {
    const inner = "const b = Buffer.alloc(64 * 1024 * 1024, 1); setTimeout(() => b.length, 1500)";
    const outer = `require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(inner)}], { detached: true, stdio: "inherit" }).on("close", () => {})`;
    const child = spawn(process.execPath, ["-e", outer], { stdio: "ignore" });
    const sampler = sampleTree(child.pid as number, () => false, 50);
    await new Promise((resolve) => child.on("close", resolve));
    const peak = sampler.stop();
    expect(peak.engineMb).toBeGreaterThan(64);
    expect(peak.standInMb).toBe(0);
  });
});
