/**
 * The real engines built by `npm run -s tools` (tools/engines/build.sh): where they are, which are missing and why,
 * and an isolated environment to run the Pulumi CLI in (file backend, temporary PULUMI_HOME, no plugin downloads).
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";

export const DEFAULT_TOOLS_CACHE = "/var/cache/baremetal-k8s/tools";

/** The directory `npm run -s tools` prints as its last line. */
export function toolsBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.BMK8S_TOOLS_CACHE || DEFAULT_TOOLS_CACHE, "bin");
}

export interface ToolStatus {
  binary: string;
  path: string;
  present: boolean;
  /** The version read from the component directory the link points into (<name>-v<version>/bin/<binary>). */
  version: string | null;
  /** Why the build could not make it (the build's <binary>.unavailable record), when it recorded one. */
  unavailable: string | null;
}

export function toolStatus(binary: string, binDir = toolsBinDir()): ToolStatus {
  const p = path.join(binDir, binary);
  const present = existsSync(p);
  let version: string | null = null;
  if (present) {
    try {
      const m = /-v(\d+\.\d+\.\d+[^/]*)\/bin\/[^/]+$/.exec(readlinkSync(p));
      version = m ? m[1] : null;
    } catch {
      version = null;
    }
  }
  const record = `${p}.unavailable`;
  const unavailable = !present && existsSync(record) ? readFileSync(record, "utf8").trim() : null;
  return { binary, path: p, present, version, unavailable };
}

export type Readiness = { ready: true } | { ready: false; reason: string; notBuilt: boolean };

/**
 * Whether every binary is there. notBuilt: some binary is missing without a record of why, i.e. `npm run -s tools`
 * did not run (or not to the end) on this machine; a recorded reason means the build cannot make it here.
 */
export function readiness(binaries: readonly string[], binDir = toolsBinDir()): Readiness {
  const missing = binaries.map((b) => toolStatus(b, binDir)).filter((s) => !s.present);
  if (missing.length === 0) return { ready: true };
  const notBuilt = missing.filter((s) => s.unavailable === null);
  if (notBuilt.length > 0) {
    return {
      ready: false,
      notBuilt: true,
      reason: `${notBuilt.map((s) => s.binary).join(", ")} not found in ${binDir}: run \`npm run -s tools\` (or set BMK8S_TOOLS_CACHE to the cache it built)`,
    };
  }
  return { ready: false, notBuilt: false, reason: missing.map((s) => `${s.binary}: ${s.unavailable}`).join("; ") };
}

/** Fails under CI when the tools were never built; otherwise says why the block is skipped. */
export function gate(what: string, r: Readiness): boolean {
  if (r.ready) return true;
  const message = `${what}: skipped: ${r.reason}`;
  if (r.notBuilt && process.env.CI === "true") throw new Error(`${what}: the real engine is required under CI=true: ${r.reason}`);
  process.stdout.write(`${message}\n`);
  return false;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An isolated place to run the CLI: its own PULUMI_HOME, file backend and passphrase; no update check, no downloads. */
export class Engine {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly binDir = toolsBinDir(),
    prefix = "bmk8s-engine-",
  ) {
    this.root = mkdtempSync(path.join(tmpdir(), prefix));
    // The file backend does not create its directory.
    mkdirSync(path.join(this.root, "backend"));
    this.env = {
      ...process.env,
      // The language host and policy analyzer are found next to `pulumi` or on PATH; node must stay reachable.
      PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}`,
      PULUMI_HOME: path.join(this.root, "home"),
      PULUMI_BACKEND_URL: `file://${path.join(this.root, "backend")}`,
      PULUMI_CONFIG_PASSPHRASE: "real-preview-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // Plain text for assertions.
      NO_COLOR: "1",
    };
    delete this.env.PULUMI_ACCESS_TOKEN;
    delete this.env.PULUMI_IGNORE_AMBIENT_PLUGINS;
  }

  /** Runs `pulumi ARGS` in CWD; resolves with the exit code and outputs, never rejects on a non-zero exit. */
  pulumi(
    args: readonly string[],
    opts: { cwd?: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
  ): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        path.join(this.binDir, "pulumi"),
        args,
        { cwd: opts.cwd ?? this.root, env: { ...this.env, ...opts.env }, maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 600_000 },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== "number") {
            reject(new Error(`pulumi ${args.join(" ")}: ${error.message}\n${stderr}`));
            return;
          }
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
        },
      );
      child.stdin?.end(opts.input ?? "");
    });
  }

  /** Like pulumi(), but a non-zero exit is an error that shows the command and its output. */
  async pulumiOk(args: readonly string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.pulumi(args, opts);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
    return r.stdout;
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const REPO = path.resolve(__dirname, "..", "..");
export const PROJECT = "baremetal-k8s";
const STAND_INS = path.join(__dirname, "standin-providers");

/** A project directory in the engine's temp dir: Pulumi.yaml copied, the program and node_modules linked. */
export function projectDir(engine: Engine): string {
  const dir = path.join(engine.root, "project");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "Pulumi.yaml"), readFileSync(path.join(REPO, "Pulumi.yaml")));
  for (const entry of ["index.ts", "components", "policy", "tsconfig.json", "package.json", "node_modules"]) {
    symlinkSync(path.join(REPO, entry), path.join(dir, entry));
  }
  return dir;
}

function isSecure(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** The example stack file Pulumi.EXAMPLE.yaml without its `secure:` placeholders (no passphrase decrypts them), edited. */
export function stackWithoutSecrets(example: string, edit?: (config: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(path.join(REPO, `Pulumi.${example}.yaml`), "utf8")) as { config: Record<string, unknown> };
  for (const [k, v] of Object.entries(doc.config)) if (isSecure(v)) delete doc.config[k];
  edit?.(doc.config);
  return stringify(doc);
}

/**
 * Creates STACK in the engine's backend from an example file (by default the stack's name without a `bad-` prefix),
 * edited, with a fresh sshPrivateKey secret set as the README tells users to. Returns the stack file's path.
 */
export async function makeStack(
  engine: Engine,
  dir: string,
  stack: string,
  edit?: (config: Record<string, unknown>) => void,
  example = stack.replace(/^bad-/, ""),
): Promise<string> {
  writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackWithoutSecrets(example, edit));
  await engine.pulumiOk(["stack", "init", `organization/${PROJECT}/${stack}`, "--secrets-provider", "passphrase", "--non-interactive"], {
    cwd: dir,
  });
  await engine.pulumiOk(["config", "set", "--secret", "sshPrivateKey", "--stack", stack, "--non-interactive"], {
    cwd: dir,
    input: newSshKey(engine, stack),
  });
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** A fresh ed25519 private key (OpenSSH format) for a stack's sshPrivateKey secret. */
export function newSshKey(engine: Engine, name: string): string {
  const file = path.join(engine.root, `${name}.key`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bmk8s-engine-test", "-f", file]);
  return readFileSync(file, "utf8");
}

/** An executable script that runs a TypeScript entry point of the stand-ins with node and tsx's loader. */
function launcher(file: string, entry: string, args: readonly string[]): string {
  const loader = `file://${path.join(REPO, "node_modules", "tsx", "dist", "loader.mjs")}`;
  const quoted = [process.execPath, "--import", loader, entry, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  writeFileSync(
    file,
    `#!/bin/sh\n# STAND-IN (test/preview/standin-providers): not the real binary, see its header.\nexec ${quoted} "$@"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** The provider versions the SDKs in package.json ask for. */
export function pinnedProviderVersions(): Record<ProviderInUse["name"], string> {
  const deps = (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies;
  return { command: deps["@pulumi/command"], random: deps["@pulumi/random"], kubernetes: deps["@pulumi/kubernetes"] };
}

export interface ProviderInUse {
  name: "command" | "random" | "kubernetes";
  /** The version registered with the CLI (the one the SDK in package.json asks for). */
  version: string;
  /** The real binary's version (which may differ from version), or null for the stand-in. */
  real: string | null;
  /** Why the stand-in is used (the build's record), when it is. */
  why: string | null;
}

/**
 * Makes ENGINE able to preview this program: each provider registered with `pulumi plugin install resource NAME VERSION
 * --file` at the version the SDKs in package.json ask for (WANT, by default pinnedProviderVersions()) (the real binary when the tools cache has it at that version;
 * else the stand-in of test/preview/standin-providers), and the language host's RunPlugin stand-in (language-host.ts) in
 * front of the real host, which the policy pack needs. Nothing is put on PATH but that launcher: the CLI prefers a
 * `pulumi-resource-*` on PATH to a registered plugin and would then ignore versions.
 */
export async function prepareForPreview(
  engine: Engine,
  want: Record<ProviderInUse["name"], string> = pinnedProviderVersions(),
): Promise<{ providers: ProviderInUse[]; languageHost: string | null }> {
  const bin = path.join(engine.root, "stand-in-bin");
  mkdirSync(bin);
  const providers: ProviderInUse[] = [];
  for (const [name, version] of Object.entries(want) as [ProviderInUse["name"], string][]) {
    const status = toolStatus(`pulumi-resource-${name}`, engine.binDir);
    // The real kubernetes provider builds here only at v4.25.0 (the SDK asks for 4.34.2): registered under the version
    // asked for, it reports its own in the engine line.
    const useReal = status.present;
    const file = useReal ? status.path : launcher(path.join(bin, `pulumi-resource-${name}`), path.join(STAND_INS, "main.ts"), [name]);
    await engine.pulumiOk(["plugin", "install", "resource", name, version, "--file", file]);
    providers.push({
      name,
      version,
      real: useReal ? (status.version ?? "unknown version") : null,
      why: useReal ? null : (status.unavailable ?? "not built"),
    });
  }
  const host = toolStatus("pulumi-language-nodejs", engine.binDir);
  const langBin = path.join(engine.root, "language-host-bin");
  mkdirSync(langBin);
  launcher(path.join(langBin, "pulumi-language-nodejs"), path.join(STAND_INS, "language-host.ts"), []);
  engine.env.PATH = `${langBin}${path.delimiter}${engine.env.PATH ?? ""}`;
  engine.env.BMK8S_REAL_LANGUAGE_HOST = host.path;
  return { providers, languageHost: host.version };
}
