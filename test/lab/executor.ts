// The lab executor: evaluates the REAL program (components/main.ts) under the SDK's mock runtime and
// carries out every command:remote:Command / CopyToRemote for real over SSH against the lab host
// its connection names (host key pinned), as `pulumi up` would. Between runs it models the Pulumi
// engine: a state of urn -> inputs/outputs, so an unchanged resource runs nothing, a changed one
// runs its update (or create), a changed trigger replaces it unless the resource ignores changes of
// its triggers (ignoreChanges: the old value is kept, as the engine does), and resources gone from the program
// get their `delete` run in reverse dependency order. Helm releases and Kubernetes objects are
// recorded, not applied. Every command lands in a run record with host, start, end and exit code.
import { spawn } from "node:child_process";
import { createHash, randomBytes, randomInt, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { main } from "../../components/main";
import { evaluate, qualifiedUrn, type RecordedResource } from "../../plan/evaluate";
import { toPulumiConfig, type TestConfig } from "../harness";
import { runSsh } from "./lab";

export const COMMAND = "command:remote:Command";
export const COPY = "command:remote:CopyToRemote";

/** What the engine remembers of one resource between runs (Pulumi's checkpoint, reduced). */
export interface StateEntry extends Pick<RecordedResource, "urn" | "type" | "name" | "custom" | "parent" | "dependsOn"> {
  /** inputs with secrets unwrapped: the executor needs them to run a later delete */
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  deleteBeforeReplace: boolean;
}
export type EngineState = Map<string, StateEntry>;

export type Operation = "create" | "update" | "delete" | "copy";

/** One command carried out on a host. */
export interface CommandRun {
  urn: string;
  name: string;
  type: string;
  op: Operation;
  /** lab host name (or the address when no lab host has it) */
  host: string;
  address: string;
  /** epoch ms */
  start: number;
  end: number;
  /** exit code; 255 with `error` set when the connection itself failed */
  code: number;
  stdout: string;
  stderr: string;
  error?: string;
}

export interface RunFailure {
  resource: string;
  host: string;
  message: string;
}

export interface RunRecord {
  mode: "engine" | "rerun-all";
  commands: CommandRun[];
  /** resources whose inputs did not change: nothing ran */
  unchanged: string[];
  /** resources not carried out because an earlier step failed */
  skipped: string[];
  /** every registration of this run, as the plan records them */
  resources: RecordedResource[];
  /** Helm releases and Kubernetes objects: recorded, not applied */
  kubernetes: { type: string; name: string; inputs: Record<string, unknown> }[];
  /** warnings the real provider would print (e.g. an environment variable sshd does not accept) */
  warnings: string[];
  failure?: RunFailure;
  outputs: unknown;
  startedAt: number;
  wallMs: number;
}

export interface ExecutorOptions {
  config: TestConfig;
  /** address -> lab host name, for the record and error messages */
  hostNames?: Record<string, string>;
  /** previous state; the run updates it in place (only with what succeeded, as Pulumi's checkpoint) */
  state?: EngineState;
  /** "rerun-all": ignore state and run every create again (proves the scripts' guards) */
  mode?: "engine" | "rerun-all";
  /** environment variable names the hosts' sshd accepts (AcceptEnv); Debian's default */
  acceptEnv?: string[];
  /** per-command limit (ms); default 10 minutes */
  commandTimeoutMs?: number;
  stack?: string;
  /** the program to evaluate; default the real one, components/main.ts `main` */
  program?: () => unknown;
  /** called as each command starts (awaited first: a test can break a host right then) */
  onCommandStart?: (c: { name: string; host: string; op: Operation }) => void | Promise<void>;
}

const DEBIAN_ACCEPT_ENV = ["LANG", "LC_*"];

function matchesEnvPattern(name: string, patterns: string[]): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    ).test(name),
  );
}

interface ConnectionInputs {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
}

interface SshOutcome {
  code: number;
  stdout: string;
  stderr: string;
  dialError?: string;
}

/** Files the OpenSSH client needs for one connection: the key and a known_hosts pinning hostKey. */
class SshFiles {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-exec-"));

  keyFile(privateKey: string): string {
    const f = path.join(this.dir, `key-${createHash("sha256").update(privateKey).digest("hex").slice(0, 12)}`);
    if (!fs.existsSync(f)) fs.writeFileSync(f, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
    return f;
  }

  knownHosts(address: string, port: number, hostKey: string): string {
    const f = path.join(this.dir, `known-${createHash("sha256").update(`${address}:${port} ${hostKey}`).digest("hex").slice(0, 12)}`);
    const name = port === 22 ? address : `[${address}]:${port}`;
    if (!fs.existsSync(f)) fs.writeFileSync(f, `${name} ${hostKey.trim()}\n`);
    return f;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const DIAL_ERROR =
  /ssh: connect to host|Connection refused|Connection timed out|No route to host|Connection reset by peer|Connection closed by|kex_exchange_identification|banner exchange/;

/** One SSH session like the provider's: dial (retried up to dialErrorLimit), env, stdin, command. */
async function sshRun(
  files: SshFiles,
  conn: ConnectionInputs,
  commandLine: string,
  env: Record<string, string>,
  stdin: string | Buffer | undefined,
  timeoutMs: number,
): Promise<SshOutcome> {
  const port = conn.port ?? 22;
  const args = [
    "-p",
    String(port),
    "-l",
    conn.user ?? "root",
    "-o",
    "BatchMode=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `ConnectTimeout=${conn.perDialTimeout ?? 15}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=3",
  ];
  if (conn.privateKey) args.push("-i", files.keyFile(conn.privateKey));
  if (conn.hostKey)
    args.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${files.knownHosts(conn.host, port, conn.hostKey)}`);
  else args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
  for (const [k, v] of Object.entries(env)) args.push("-o", `SetEnv=${k}=${v}`);
  args.push(conn.host, "--", commandLine);
  const { code, stdout, stderr, timedOut } = await runSsh(args, stdin, timeoutMs);
  if (timedOut) return { code: 255, stdout, stderr, dialError: `timed out after ${timeoutMs} ms` };
  // OpenSSH exits 255 for its own errors; a dial error is one before the command ran
  if (code === 255 && DIAL_ERROR.test(stderr) && stdout === "") return { code, stdout, stderr, dialError: stderr.trim().split("\n").pop() };
  if (code === 255 && /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Permission denied/.test(stderr))
    return { code, stdout, stderr, dialError: stderr.trim().split("\n").pop() };
  return { code, stdout, stderr };
}

async function sshWithRetry(
  files: SshFiles,
  conn: ConnectionInputs,
  cmd: string,
  env: Record<string, string>,
  stdin: string | Buffer | undefined,
  timeoutMs: number,
): Promise<SshOutcome> {
  const limit = Math.max(1, conn.dialErrorLimit ?? 10);
  let last: SshOutcome | undefined;
  for (let i = 0; i < limit; i++) {
    last = await sshRun(files, conn, cmd, env, stdin, timeoutMs);
    // only a refused/unreachable dial is retried; a wrong host key or key is not (as the provider)
    if (!last.dialError || /Host key verification failed|IDENTIFICATION HAS CHANGED|Permission denied|timed out after/.test(last.dialError))
      return last;
    if (i < limit - 1) await new Promise((r) => setTimeout(r, 1000));
  }
  return last as SshOutcome;
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * Whether a change of inputs replaces the resource instead of updating it. The engine replaces when a
 * property named by `replaceOnChanges` changes: @pulumi/command 1.2.1 passes `["triggers[*]"]` for every
 * Command and CopyToRemote (remote/command.js), and its schema marks `triggers` replaceOnChanges too, so
 * `triggers` always counts. A path counts by its top-level property (`triggers[*]` -> `triggers`,
 * `a.b` -> `a`; `*` is every property). Everything else that changed is an update: the provider runs
 * `update`, or `create` when `update` is unset (commandController.go Update at v1.2.1).
 */
export function replaces(replaceOnChanges: readonly string[], old: Record<string, unknown>, now: Record<string, unknown>): boolean {
  const keys = new Set(["triggers"]);
  for (const p of replaceOnChanges) {
    const top = p.split(/[.[]/)[0];
    if (top === "*") for (const k of [...Object.keys(old), ...Object.keys(now)]) keys.add(k);
    else if (top) keys.add(top);
  }
  return [...keys].some((k) => !deepEqual(old[k], now[k]));
}

/**
 * The inputs the engine diffs and stores for a resource with an old state: every property named by the
 * `ignoreChanges` option set back to its old value, or dropped when the old state lacks it. pulumi/pulumi
 * pkg/resource/deploy/step_generator.go does this (`processIgnoreChanges(inputs, oldInputs,
 * goal.IgnoreChanges)`, "Set inputs back to their old values (if any) for any \"ignored\" properties")
 * before the provider's Check and Diff, so an ignored change is neither an update nor a replace, and the
 * new state keeps the old value. Only whole top-level properties are modelled (the program ignores no
 * other path); any other path is refused rather than modelled wrongly.
 */
export function ignoringChanges(
  ignoreChanges: readonly string[],
  old: Record<string, unknown>,
  now: Record<string, unknown>,
): Record<string, unknown> {
  if (ignoreChanges.length === 0) return now;
  const out = { ...now };
  for (const p of ignoreChanges) {
    if (!/^[A-Za-z_$][\w$]*$/.test(p))
      throw new Error(`ignoreChanges ${JSON.stringify(p)}: the lab executor models whole top-level properties only`);
    if (p in old) out[p] = old[p];
    else delete out[p];
  }
  return out;
}

/**
 * What the engine does with one registration, given the inputs in its state (undefined: none) and the
 * inputs after `ignoringChanges`: create, nothing (same), update in place, or replace.
 */
export function engineOp(
  rec: Pick<RecordedResource, "replaceOnChanges">,
  old: Record<string, unknown> | undefined,
  inputs: Record<string, unknown>,
): "create" | "same" | "update" | "replace" {
  if (!old) return "create";
  if (deepEqual(old, inputs)) return "same";
  return replaces(rec.replaceOnChanges, old, inputs) ? "replace" : "update";
}

// ------------------------------------------------------------------ @pulumi/random outputs (stateful)
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
const DIGITS = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";
function randomOutputs(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const n = (k: string, d: number) => (typeof inputs[k] === "number" ? inputs[k] : d);
  const flag = (k: string) => inputs[k] !== false;
  if (type === "random:index/randomPassword:RandomPassword" || type === "random:index/randomString:RandomString") {
    const sets: [string, number][] = [];
    if (flag("lower")) sets.push([LOWER, n("minLower", 0)]);
    if (flag("upper")) sets.push([UPPER, n("minUpper", 0)]);
    if (flag("numeric") && flag("number")) sets.push([DIGITS, n("minNumeric", 0)]);
    if (flag("special")) sets.push([typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : SPECIAL, n("minSpecial", 0)]);
    const all = sets.map(([s]) => s).join("");
    const chars: string[] = [];
    for (const [s, min] of sets) for (let i = 0; i < min; i++) chars.push(s[randomInt(s.length)]);
    while (chars.length < n("length", 16)) chars.push(all[randomInt(all.length)]);
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    const result = chars.join("");
    return { ...inputs, result, ...(type.endsWith("RandomPassword") ? { bcryptHash: "[lab]" } : {}) };
  }
  if (type === "random:index/randomBytes:RandomBytes") {
    const b = randomBytes(n("length", 32));
    return { ...inputs, hex: b.toString("hex"), base64: b.toString("base64") };
  }
  if (type === "random:index/randomId:RandomId") {
    const b = randomBytes(n("byteLength", 8));
    const prefix = typeof inputs.prefix === "string" ? inputs.prefix : "";
    return {
      ...inputs,
      hex: prefix + b.toString("hex"),
      b64Std: prefix + b.toString("base64"),
      b64Url: prefix + b.toString("base64url"),
      dec: prefix + BigInt(`0x${b.toString("hex")}`).toString(),
    };
  }
  if (type === "random:index/randomUuid:RandomUuid") return { ...inputs, result: randomUUID() };
  if (type === "random:index/randomInteger:RandomInteger") return { ...inputs, result: randomInt(n("min", 0), n("max", 100) + 1) };
  return { ...inputs };
}

// ------------------------------------------------------------------ assets for CopyToRemote
interface AssetLike {
  text?: Promise<string> | string;
  path?: Promise<string> | string;
  uri?: Promise<string> | string;
  assets?: Promise<Record<string, AssetLike>> | Record<string, AssetLike>;
}
async function assetBytes(source: AssetLike): Promise<{ kind: "file"; data: Buffer } | { kind: "dir"; path: string }> {
  const text = await source.text;
  if (typeof text === "string") return { kind: "file", data: Buffer.from(text) };
  const p = await source.path;
  if (typeof p === "string") return fs.statSync(p).isDirectory() ? { kind: "dir", path: p } : { kind: "file", data: fs.readFileSync(p) };
  throw new Error("CopyToRemote: only StringAsset, FileAsset and FileArchive of a directory are modelled by the lab executor");
}

/** The URN the SDK's mock monitor gives a resource (it is assigned only after the mock returns). */
function mockUrn(rec: RecordedResource, stack: string): string {
  let type = rec.type;
  if (rec.parent) type = `${(rec.parent.split("::")[2] ?? "").split("$").pop()}$${type}`;
  return `urn:pulumi:${stack}::baremetal-k8s::${type}::${rec.name}`;
}

// ------------------------------------------------------------------ the executor
/** Outputs of a command as the provider returns them: one trailing newline trimmed. */
const trimNl = (s: string) => s.replace(/\n$/, "");

export class Executor {
  readonly state: EngineState;
  private readonly files = new SshFiles();

  constructor(private readonly opts: ExecutorOptions) {
    this.state = opts.state ?? (new Map() as EngineState);
  }

  private hostName(address: string): string {
    return this.opts.hostNames?.[address] ?? address;
  }

  /** One `pulumi up`: evaluate the program, carry out what changed, delete what is gone. */
  async up(overrides: Partial<ExecutorOptions> = {}): Promise<RunRecord> {
    const o = { ...this.opts, ...overrides };
    const mode = o.mode ?? "engine";
    const acceptEnv = o.acceptEnv ?? DEBIAN_ACCEPT_ENV;
    const timeoutMs = o.commandTimeoutMs ?? 600_000;
    const record: RunRecord = {
      mode,
      commands: [],
      unchanged: [],
      skipped: [],
      resources: [],
      kubernetes: [],
      warnings: [],
      outputs: undefined,
      startedAt: Date.now(),
      wallMs: 0,
    };
    const prior: EngineState = mode === "rerun-all" ? (new Map() as EngineState) : this.state;
    const next: EngineState = new Map() as EngineState;
    const seen = new Set<string>();
    /** replaced resources whose old version is deleted after the run (create-before-delete) */
    const pendingDeletes: StateEntry[] = [];
    let failed = false;

    const fail = (resource: string, host: string, message: string) => {
      if (!record.failure) record.failure = { resource, host, message };
      failed = true;
    };

    /** Records one finished step (its end is now); `error` only when there is one. */
    const recordRun = (
      step: Pick<CommandRun, "urn" | "name" | "type" | "op" | "host" | "address" | "start">,
      outcome: { code: number; stdout: string; stderr: string; error?: string },
    ): CommandRun => {
      const run: CommandRun = {
        ...step,
        end: Date.now(),
        code: outcome.code,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        ...(outcome.error ? { error: outcome.error } : {}),
      };
      record.commands.push(run);
      return run;
    };

    const runCommand = async (
      urn: string,
      name: string,
      op: Operation,
      inputs: Record<string, unknown>,
      script: string,
    ): Promise<CommandRun> => {
      const conn = inputs.connection as ConnectionInputs;
      const envIn = (inputs.environment ?? {}) as Record<string, string>;
      const env: Record<string, string> = {};
      const start = Date.now();
      const host = this.hostName(conn.host);
      for (const [k, v] of Object.entries(envIn)) {
        if (!matchesEnvPattern(k, acceptEnv)) {
          // the provider fails the step: sshd refuses the env request
          return recordRun(
            { urn, name, type: COMMAND, op, host, address: conn.host, start },
            {
              code: 255,
              stdout: "",
              stderr: "",
              error: `could not set environment variable "${k}": ssh: setenv failed (sshd on ${host} does not AcceptEnv it)`,
            },
          );
        }
        env[k] = v;
      }
      if (op === "delete" && inputs.addPreviousOutputInEnv !== false) {
        for (const k of ["PULUMI_COMMAND_STDOUT", "PULUMI_COMMAND_STDERR"]) {
          if (!matchesEnvPattern(k, acceptEnv))
            record.warnings.push(`${name}: Unable to set '${k}' on ${host} (AcceptEnv): the delete command does not see it`);
        }
      }
      const stdin = typeof inputs.stdin === "string" ? inputs.stdin : undefined;
      await o.onCommandStart?.({ name, host, op });
      const r = await sshWithRetry(this.files, conn, script, env, stdin, timeoutMs);
      return recordRun(
        { urn, name, type: COMMAND, op, host, address: conn.host, start },
        { ...r, error: r.dialError && `dial ${conn.host}:${conn.port ?? 22} (${host}): ${r.dialError}` },
      );
    };

    const copy = async (urn: string, name: string, inputs: Record<string, unknown>): Promise<CommandRun> => {
      const conn = inputs.connection as ConnectionInputs;
      const remotePath = inputs.remotePath as string;
      const start = Date.now();
      let src: Awaited<ReturnType<typeof assetBytes>>;
      try {
        src = await assetBytes(inputs.source as AssetLike);
      } catch (e) {
        // a failed step, recorded like any other: nothing throws out of the mock handler
        const host = this.hostName(conn.host);
        const error = e instanceof Error ? e.message : String(e);
        return recordRun(
          { urn, name, type: COPY, op: "copy", host, address: conn.host, start },
          { code: 1, stdout: "", stderr: "", error },
        );
      }
      let r: SshOutcome;
      const q = `'${remotePath.replace(/'/g, `'\\''`)}'`;
      if (src.kind === "file") {
        r = await sshWithRetry(this.files, conn, `cat > ${q}`, {}, src.data, timeoutMs);
      } else {
        const tar = await new Promise<Buffer>((resolve, reject) => {
          const t = spawn("tar", ["-C", src.path, "-cf", "-", "."]);
          const chunks: Buffer[] = [];
          t.stdout.on("data", (d: Buffer) => chunks.push(d));
          t.on("error", reject);
          t.on("close", () => resolve(Buffer.concat(chunks)));
        });
        r = await sshWithRetry(this.files, conn, `mkdir -p ${q} && tar -C ${q} -xf -`, {}, tar, timeoutMs);
      }
      const host = this.hostName(conn.host);
      return recordRun(
        { urn, name, type: COPY, op: "copy", host, address: conn.host, start },
        { ...r, error: r.dialError && `dial ${conn.host} (${host}): ${r.dialError}` },
      );
    };

    const commandFailed = (run: CommandRun, script: string): boolean => {
      if (run.code === 0 && !run.error) return false;
      const what =
        run.error ??
        `Process exited with status ${run.code}: running ${JSON.stringify(script.length > 200 ? `${script.slice(0, 200)}...` : script)}:\n${run.stdout}${run.stderr}`;
      fail(run.name, run.host, `${run.type} ${run.name} on host ${run.host} (${run.address}) failed: ${what}`);
      return true;
    };

    const deleteOne = async (e: StateEntry): Promise<boolean> => {
      if (e.type !== COMMAND || typeof e.inputs.delete !== "string" || !e.inputs.delete) return true;
      const run = await runCommand(e.urn, e.name, "delete", e.inputs, e.inputs.delete);
      return !commandFailed(run, e.inputs.delete);
    };

    const handler = async (args: MockResourceArgs, rec: RecordedResource): Promise<Record<string, unknown>> => {
      const urn = rec.urn || qualifiedUrn(mockUrn(rec, o.stack ?? "lab"), rec.type, rec.parent);
      const old = prior.get(urn);
      // ignored properties keep their old values, in the diff and in the state (as the engine)
      const inputs = old ? ignoringChanges(rec.ignoreChanges, old.inputs, rec.plainInputs) : rec.plainInputs;
      const entry = (outputs: Record<string, unknown>): StateEntry => ({
        urn,
        type: rec.type,
        name: rec.name,
        custom: rec.custom,
        parent: rec.parent,
        dependsOn: rec.dependsOn,
        inputs,
        outputs,
        deleteBeforeReplace: rec.deleteBeforeReplace,
      });
      const secretOut = (outputs: Record<string, unknown>) => {
        const out: Record<string, unknown> = { ...(args.inputs as Record<string, unknown>), ...outputs };
        for (const k of rec.additionalSecretOutputs) if (k in out && k !== "connection") out[k] = pulumi.secret(out[k]);
        return out;
      };
      seen.add(urn);
      if (!rec.custom) {
        next.set(urn, entry({}));
        return args.inputs as Record<string, unknown>;
      }
      if (rec.type.startsWith("random:")) {
        // rerun-all keeps the generated secrets: it re-runs the same config's scripts, not a new cluster's
        const kept = old ?? (mode === "rerun-all" ? this.state.get(urn) : undefined);
        const outputs = kept && deepEqual(kept.inputs, inputs) ? kept.outputs : randomOutputs(rec.type, inputs);
        next.set(urn, entry(outputs));
        return secretOut(outputs);
      }
      if (rec.type !== COMMAND && rec.type !== COPY) {
        if (rec.type.startsWith("kubernetes:")) record.kubernetes.push({ type: rec.type, name: rec.name, inputs: rec.inputs });
        next.set(urn, entry({ ...inputs }));
        return args.inputs as Record<string, unknown>;
      }
      if (failed) {
        record.skipped.push(rec.name);
        if (old) next.set(urn, old);
        return secretOut(old?.outputs ?? { stdout: "", stderr: "" });
      }
      // the engine's diff
      const op = engineOp(rec, old?.inputs, inputs);
      if (op === "same") {
        record.unchanged.push(rec.name);
        next.set(urn, old as StateEntry);
        return secretOut((old as StateEntry).outputs);
      }
      if (op === "replace" && old && rec.deleteBeforeReplace) {
        if (!(await deleteOne(old))) {
          next.set(urn, old);
          return secretOut(old.outputs);
        }
      }
      if (rec.type === COPY) {
        const run = await copy(urn, rec.name, inputs);
        if (commandFailed(run, `copy to ${String(inputs.remotePath)}`)) {
          if (old) next.set(urn, old);
          return secretOut({});
        }
        next.set(urn, entry({ ...inputs }));
        if (op === "replace" && old && !rec.deleteBeforeReplace) pendingDeletes.push(old);
        return args.inputs as Record<string, unknown>;
      }
      const script =
        op === "update" && typeof inputs.update === "string" && inputs.update ? inputs.update : (inputs.create as string | undefined);
      if (!script) {
        next.set(urn, entry({ ...inputs, stdout: "", stderr: "" }));
        return secretOut({ stdout: "", stderr: "" });
      }
      const run = await runCommand(urn, rec.name, op === "update" ? "update" : "create", inputs, script);
      if (commandFailed(run, script)) {
        if (old) next.set(urn, old);
        return secretOut({ stdout: trimNl(run.stdout), stderr: trimNl(run.stderr) });
      }
      const outputs = { ...inputs, stdout: trimNl(run.stdout), stderr: trimNl(run.stderr) };
      next.set(urn, entry(outputs));
      if (op === "replace" && old && !rec.deleteBeforeReplace) pendingDeletes.push(old);
      return secretOut(outputs);
    };

    const { config, secretKeys } = toPulumiConfig(o.config);
    try {
      const ev = await evaluate({ config, secretKeys, stack: o.stack ?? "lab", handler, program: o.program ?? (() => main()) });
      record.resources = ev.resources;
      record.outputs = ev.outputs;
    } catch (e) {
      fail("program", "-", e instanceof Error ? e.message : String(e));
    }

    if (!failed) {
      // resources gone from the program, then the old halves of replacements: dependents first
      const gone = [...prior.values()].filter((e) => !seen.has(e.urn));
      for (const e of [...this.deleteOrder(gone, prior), ...pendingDeletes.reverse()]) {
        if (failed) break;
        if (await deleteOne(e)) {
          this.state.delete(e.urn);
          prior.delete(e.urn);
        } else next.set(e.urn, e);
      }
    } else if (mode === "engine") {
      // what was not reached keeps its old state (Pulumi's checkpoint keeps it too)
      for (const e of prior.values()) if (!next.has(e.urn)) next.set(e.urn, e);
    }
    if (mode === "engine" || !failed) {
      this.state.clear();
      for (const [k, v] of next) this.state.set(k, v);
    }
    record.wallMs = Date.now() - record.startedAt;
    return record;
  }

  /** Dependents before their dependencies (a dependency on a component covers its descendants). */
  private deleteOrder(entries: StateEntry[], all: EngineState): StateEntry[] {
    const descendants = (urn: string): string[] => {
      const out: string[] = [];
      for (const e of all.values()) if (e.parent === urn) out.push(e.urn, ...descendants(e.urn));
      return out;
    };
    const deps = new Map<string, Set<string>>();
    for (const e of entries) {
      const d = new Set<string>();
      for (const u of e.dependsOn) {
        d.add(u);
        for (const x of descendants(u)) d.add(x);
      }
      if (e.parent) d.add(e.parent);
      deps.set(e.urn, d);
    }
    const remaining = new Set(entries.map((e) => e.urn));
    const order: StateEntry[] = [];
    while (remaining.size) {
      // a resource can go when no remaining resource depends on it
      const ready = entries.filter((e) => remaining.has(e.urn) && ![...remaining].some((r) => r !== e.urn && deps.get(r)?.has(e.urn)));
      const batch = ready.length ? ready : entries.filter((e) => remaining.has(e.urn)).slice(0, 1);
      for (const e of batch) {
        order.push(e);
        remaining.delete(e.urn);
      }
    }
    return order;
  }

  dispose(): void {
    this.files.remove();
  }
}

/** A short text of a run for test failure messages. */
export function describeRun(r: RunRecord): string {
  const lines = r.commands.map(
    (c) =>
      `${c.code === 0 ? "ok " : "ERR"} ${c.op.padEnd(6)} ${c.host.padEnd(6)} ${c.name} ${((c.end - c.start) / 1000).toFixed(1)}s${c.code ? `\n${(c.stdout + c.stderr).split("\n").slice(-8).join("\n")}` : ""}`,
  );
  if (r.failure) lines.push(`FAILED: ${r.failure.message.slice(0, 2000)}`);
  return lines.join("\n");
}
