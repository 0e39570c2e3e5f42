import { readdirSync, readFileSync } from "node:fs";

/**
 * Peak memory of a process tree (the Pulumi CLI with its language host, the program and the providers it starts), read
 * from /proc. At each sample the CLI and all its descendants (by parent pid: the CLI puts each plugin in a process group
 * of its own, so the group does not hold them) are summed; processes whose command line names a stand-in are summed
 * apart, so the figure of the real engine does not carry the stand-ins' own node processes.
 */

export interface ProcessSample {
  pid: number;
  ppid: number;
  rssKb: number;
  cmdline: string;
}

/** The parent pid from the text of /proc/PID/stat (the command name in parentheses may hold spaces and parentheses). */
export function ppidOfStat(stat: string): number | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  // after ") ": state ppid pgrp ...
  const fields = stat.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : null;
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

/** Sums one sample of ROOT and its descendants; `isStandIn` tells a stand-in by its command line. */
export function sumTree(samples: readonly ProcessSample[], root: number, isStandIn: (cmdline: string) => boolean): TreeMemory {
  const children = new Map<number, ProcessSample[]>();
  for (const s of samples) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const tree: ProcessSample[] = [];
  const todo = samples.filter((s) => s.pid === root);
  while (todo.length > 0) {
    const s = todo.pop() as ProcessSample;
    tree.push(s);
    todo.push(...(children.get(s.pid) ?? []));
  }
  let engine = 0;
  let standIn = 0;
  for (const s of tree) {
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
      const ppid = ppidOfStat(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (ppid === null) continue;
      out.push({
        pid: Number(entry),
        ppid,
        rssKb: rssKbOfStatus(readFileSync(`/proc/${entry}/status`, "utf8")),
        cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " "),
      });
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

/** Samples ROOT's tree every `intervalMs` until stop() is called; stop() returns the peaks (each taken over the samples). */
export function sampleTree(root: number, isStandIn: (cmdline: string) => boolean, intervalMs = 100): { stop: () => TreeMemory } {
  const peak: TreeMemory = { engineMb: 0, standInMb: 0 };
  const take = () => {
    const m = sumTree(readProcesses(), root, isStandIn);
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
