import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";

/**
 * The real Kubernetes binaries that tools/engines/build-kubernetes.sh builds, linked into
 * `${BMK8S_TOOLS_CACHE}/bin`, and what their `--help` says.
 */
export const TOOLS_CACHE = process.env.BMK8S_TOOLS_CACHE ?? "/var/cache/baremetal-k8s/tools";
export const TOOLS_BIN = path.join(TOOLS_CACHE, "bin");

export function toolPath(name: string): string {
  return path.join(TOOLS_BIN, name);
}

/** Undefined when every binary is there, else why not (names the missing ones and the command that builds them). */
export function missingTools(names: readonly string[]): string | undefined {
  const missing = names.filter((n) => !existsSync(toolPath(n)));
  if (missing.length === 0) return undefined;
  return `no ${missing.join(", ")} in ${TOOLS_BIN}: build them with tools/engines/build-kubernetes.sh (BMK8S_TOOLS_CACHE=${TOOLS_CACHE})`;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(name: string, args: string[]): RunResult {
  const r = spawnSync(toolPath(name), args, {
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What `--help` of one (sub)command says: its flags (with whether each takes a value) and its subcommands. */
export interface CommandHelp {
  flags: Map<string, { takesValue: boolean }>;
  shorthands: Map<string, { takesValue: boolean }>;
  subcommands: Set<string>;
}

/**
 * Parses cobra's help (kubeadm, kubelet: `  -f, --force    text`, `      --config string   text`) and kubectl's
 * (`    --ignore-daemonsets=false:`, `-A, --all-namespaces=false:`), etcd's (`  --name 'default'`) and etcdctl's
 * (`      --peer-urls=""`, `  -w, --write-out="simple"`, `--debug[=false]`).
 */
export function parseHelp(text: string): CommandHelp {
  const flags = new Map<string, { takesValue: boolean }>();
  const shorthands = new Map<string, { takesValue: boolean }>();
  const subcommands = new Set<string>();
  let inCommands = false;
  for (const line of text.split("\n")) {
    const flag = /^\s+(?:-([A-Za-z0-9]),\s+)?--([A-Za-z0-9][A-Za-z0-9-]*)(=\S*|\s+\S+)?/.exec(line);
    if (flag) {
      const [, short, long, rest = ""] = flag;
      // kubectl: `--x=false:` is a bool; cobra: `--x string` takes a value, `--x` alone (then the text after 2+ spaces) does not.
      const takesValue = rest.startsWith("=") ? !/^=(false|true):?$/.test(rest) : /^\s+\S/.test(rest) && !/^\s{2,}/.test(rest);
      flags.set(long, { takesValue });
      if (short) shorthands.set(short, { takesValue });
      continue;
    }
    // etcd documents some flags only in its usage: `  etcd --version`, `  etcd -h | --help`.
    const usage = /^\s+[a-z][\w-]* (?:-\w \| )?--([A-Za-z0-9-]+)$/.exec(line);
    if (usage) {
      flags.set(usage[1], { takesValue: false });
      continue;
    }
    // cobra: `Available Commands:`, kubectl: `Basic Commands (Beginner):`, etcdctl: `COMMANDS:` (`\tmember add\t...`).
    if (/^(?:[A-Za-z][^:]*\s)?commands\b[^:]*:\s*$/i.test(line)) {
      inCommands = true;
      continue;
    }
    if (/^\S/.test(line)) inCommands = false;
    const cmd = inCommands ? /^\s+([a-z][a-z0-9-]*)\s/.exec(line) : null;
    if (cmd) subcommands.add(cmd[1]);
  }
  return { flags, shorthands, subcommands };
}

const helpCache = new Map<string, CommandHelp>();

/** `tool sub... --help`, parsed; kubectl's global flags come from `kubectl options`. */
export function helpOf(tool: string, subcommands: string[]): CommandHelp {
  const key = [tool, ...subcommands].join(" ");
  const cached = helpCache.get(key);
  if (cached) return cached;
  const r = runTool(tool, [...subcommands, "--help"]);
  if (r.status !== 0) throw new Error(`${key} --help exited ${r.status}: ${r.stderr}`);
  const help = parseHelp(`${r.stdout}\n${r.stderr}`);
  if (tool === "kubectl") {
    const g = runTool("kubectl", ["options"]);
    const global = parseHelp(g.stdout);
    for (const [k, v] of global.flags) help.flags.set(k, v);
    for (const [k, v] of global.shorthands) help.shorthands.set(k, v);
  }
  helpCache.set(key, help);
  return help;
}

/** One invocation of a tool found in a rendered script. */
export interface Invocation {
  tool: string;
  /** The words as written, after the tool's name (shell quotes removed, variables left as written). */
  words: string[];
  /** Where it was found: resource name and line. */
  where: string;
}

const TOOLS = ["kubeadm", "kubectl", "kubelet", "etcdctl", "etcd"] as const;

/** Splits the rest of a shell line into words up to the first operator, redirection or closing quote/paren. */
function shellWords(rest: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inDouble = false;
  let started = false;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (inDouble) {
      if (ch === '"') inDouble = false;
      else cur += ch;
      continue;
    }
    if (ch === '"') {
      inDouble = true;
      started = true;
      continue;
    }
    if (/\s/.test(ch)) {
      if (started) words.push(cur);
      cur = "";
      started = false;
      continue;
    }
    // Operators end the command: | || && ; > < ) ' and a redirection like 2>&1.
    if ("|&;<>)'`".includes(ch) || (/[0-9]/.test(ch) && !started && /^[0-9]+>/.test(rest.slice(i)))) break;
    cur += ch;
    started = true;
  }
  if (started) words.push(cur);
  return words;
}

/**
 * Every place a script runs kubeadm, kubectl, kubelet, etcd or etcdctl as a command: the tool's name (or a path ending
 * in it, as `/opt/x/etcdctl`) at the start of a command (line start, after `if`, `!`, `then`, `$(`, `&&`, `||`, `;`),
 * not inside a quoted message.
 */
export function invocationsIn(script: string, where: string): Invocation[] {
  const out: Invocation[] = [];
  const toolRe = new RegExp(`(?<![\\w./-])((?:/[\\w./-]+/)?(${TOOLS.join("|")}))(?=\\s)`, "g");
  script.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(toolRe)) {
      const before = line.slice(0, m.index ?? 0);
      // At the start of a command, not an argument (`systemctl enable kubelet`) or a word of a message.
      if (!/(^|[;&|(]|\$\(|\b(if|then|else|elif|do|while|until)|!|ETCDCTL_API=\d)\s*$/.test(before)) continue;
      // Inside a quoted message (an odd number of quotes before it), unless it is a command substitution there.
      if ((before.match(/'/g) ?? []).length % 2 === 1) continue;
      if ((before.match(/"/g) ?? []).length % 2 === 1 && !before.endsWith("$(")) continue;
      out.push({ tool: m[2], words: shellWords(line.slice((m.index ?? 0) + m[0].length)), where: `${where}:${i + 1}` });
    }
  });
  return out;
}

/** A finding: the invocation and what the real binary does not accept. */
export interface FlagProblem {
  where: string;
  command: string;
  problem: string;
}

/**
 * The subcommand path and flags of an invocation, checked against the real binary's `--help`: every flag must exist on
 * the (sub)command it is given to. Returns the resolved command (e.g. `kubeadm init phase upload-certs`) and problems.
 */
export function checkInvocation(inv: Invocation): { command: string; flags: string[]; problems: FlagProblem[] } {
  const path: string[] = [];
  const flags: string[] = [];
  const problems: FlagProblem[] = [];
  let help = helpOf(inv.tool, path);
  let positional = false;
  for (let i = 0; i < inv.words.length; i++) {
    const w = inv.words[i];
    if (w === "--") break;
    if (w.startsWith("--")) {
      const [name, value] = w.slice(2).split(/=(.*)/s, 2);
      flags.push(`--${name}`);
      const f = help.flags.get(name);
      if (!f) {
        problems.push({ where: inv.where, command: [inv.tool, ...path].join(" "), problem: `unknown flag --${name}` });
        continue;
      }
      if (f.takesValue && value === undefined) i++;
      continue;
    }
    if (w.startsWith("-") && w.length > 1) {
      const short = w.slice(1, 2);
      flags.push(`-${short}`);
      const f = help.shorthands.get(short);
      if (!f) {
        problems.push({ where: inv.where, command: [inv.tool, ...path].join(" "), problem: `unknown flag -${short}` });
        continue;
      }
      if (f.takesValue && w.length === 2) i++;
      continue;
    }
    if (!positional && help.subcommands.has(w)) {
      path.push(w);
      help = helpOf(inv.tool, path);
      continue;
    }
    positional = true;
  }
  return { command: [inv.tool, ...path].join(" "), flags, problems };
}
