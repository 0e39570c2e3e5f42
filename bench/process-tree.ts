import { readdirSync, readFileSync } from "node:fs";

/**
 * Peak memory of a process tree (the Pulumi CLI with its language host, the program and the providers it starts), read
 * from /proc. The CLI is started as a process-group leader and every process of its group is summed at each sample;
 * processes whose command line names a stand-in are summed apart, so the figure of the real engine does not carry the
 * stand-ins' own node processes.
 */

export interface ProcessSample {
  pid: number;
  pgrp: number;
  rssKb: number;
  cmdline: string;
}

/** The process group from the text of /proc/PID/stat (the command name in parentheses may hold spaces and parentheses). */
export function pgrpOfStat(stat: string): number | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  // after ") ": state ppid pgrp ...
  const fields = stat.slice(close + 2).split(" ");
  const pgrp = Number(fields[2]);
  return Number.isInteger(pgrp) ? pgrp : null;
}

/** VmRSS in kB from the text of /proc/PID/status; 0 for a process without one (a zombie, a kernel thread). */
export function rssKbOfStatus(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) : 0;
}

export interface TreeMemory {
  /** Summed RSS of the group's processes that are not stand-ins, in MB. */
  engineMb: number;
  /** Summed RSS of the stand-in processes, in MB. */
  standInMb: number;
}

/** Sums one sample of the group's processes; `isStandIn` tells a stand-in by its command line. */
export function sumGroup(samples: readonly ProcessSample[], pgrp: number, isStandIn: (cmdline: string) => boolean): TreeMemory {
  let engine = 0;
  let standIn = 0;
  for (const s of samples) {
    if (s.pgrp !== pgrp) continue;
    if (isStandIn(s.cmdline)) standIn += s.rssKb;
    else engine += s.rssKb;
  }
  return { engineMb: engine / 1024, standInMb: standIn / 1024 };
}

function readProcesses(): ProcessSample[] {
  const out: ProcessSample[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const pgrp = pgrpOfStat(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (pgrp === null) continue;
      out.push({
        pid: Number(entry),
        pgrp,
        rssKb: rssKbOfStatus(readFileSync(`/proc/${entry}/status`, "utf8")),
        cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " "),
      });
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

/** Samples the group every `intervalMs` until stop() is called; stop() returns the peaks (each taken over the samples). */
export function sampleGroup(pgrp: number, isStandIn: (cmdline: string) => boolean, intervalMs = 100): { stop: () => TreeMemory } {
  const peak: TreeMemory = { engineMb: 0, standInMb: 0 };
  const take = () => {
    const m = sumGroup(readProcesses(), pgrp, isStandIn);
    peak.engineMb = Math.max(peak.engineMb, m.engineMb);
    peak.standInMb = Math.max(peak.standInMb, m.standInMb);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { ...peak };
    },
  };
}
