import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { Engine, PROJECT, newSshKey, prepareForPreview, projectDir, readiness, toolsBinDir } from "../test/preview/engine";
import { CONFIG_NAMESPACE } from "../components/main";
import { syntheticInventory, type InventoryConfig } from "./inventory";
import { sampleTree, type TreeMemory } from "./process-tree";

/**
 * The real engine's cost (issue 16, point 6): for each synthetic inventory, in one isolated Pulumi home with a file
 * backend, the real CLI 3.248 and nodejs language host run the real program:
 *
 * - `pulumi preview --policy-pack policy` of a new stack, as the README tells users to run it;
 * - `pulumi up --policy-pack policy --expect-no-changes` after a first update, i.e. the run with nothing to do that
 *   users pay on every `pulumi up`.
 *
 * The command and random providers are the STAND-INS of test/preview/standin-providers (their modules cannot be built
 * here), in record-only mode for the first update (they change nothing anywhere) and the same for the no-op run, where
 * the engine diffs inputs itself as for any provider without a Diff. Their processes' memory is reported apart; the
 * wall time includes their answers to Check (a local call, no SSH, as the real command provider's Check).
 */

export interface RealEngineFigure {
  hosts: number;
  /** Resources in the stack (the engine's count after the first update, without the stack and default providers). */
  resources: number;
  previewS: number;
  /** Peak RSS of the CLI, language host, program and policy pack together (stand-ins excluded), in MB. */
  previewPeakMb: number;
  noopUpS: number;
  noopUpPeakMb: number;
  /** Peak RSS of the stand-in providers during the no-op update (reported apart). */
  standInPeakMb: number;
}

export interface RealEngineResult {
  figures: RealEngineFigure[];
  /** `pulumi v3.248.0, language host v3.68.0, providers: ...`, or why nothing was measured. */
  engine?: string;
  note?: string;
}

const STAND_IN = /standin-providers|stand-in-bin|language-host-bin/;

/** The stack file of an inventory: its keys under the project's namespace; the SSH key is set apart, as a secret. */
export function stackFileOf(inv: InventoryConfig): string {
  const config: Record<string, unknown> = {};
  for (const k of ["cluster", "hosts", "storage"] as const) if (inv[k] !== undefined) config[`${CONFIG_NAMESPACE}:${k}`] = inv[k];
  return stringify({ config });
}

interface Timed {
  code: number;
  seconds: number;
  memory: TreeMemory;
  stdout: string;
  stderr: string;
}

/** Runs `pulumi ARGS` and samples the memory of its process tree while it runs. */
function timedPulumi(engine: Engine, cwd: string, args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(path.join(engine.binDir, "pulumi"), args, {
      cwd,
      env: engine.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const sampler = child.pid === undefined ? undefined : sampleTree(child.pid, (cmd) => STAND_IN.test(cmd));
    child.on("error", reject);
    child.on("close", (code) => {
      const memory = sampler?.stop() ?? { engineMb: 0, standInMb: 0 };
      resolve({
        code: code ?? -1,
        seconds: (performance.now() - t0) / 1000,
        memory,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

function ok(r: Timed, what: string): Timed {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-4000)}`);
  return r;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Measures one inventory size in a fresh engine home; removes it afterwards. */
async function measureOne(
  base: InventoryConfig,
  hosts: number,
  progress: (s: string) => void,
): Promise<{ figure: RealEngineFigure; engine: string }> {
  const engine = new Engine(toolsBinDir(), `bmk8s-bench-${hosts}-`);
  try {
    const dir = projectDir(engine);
    const { providers, languageHost } = await prepareForPreview(engine);
    engine.env.BMK8S_STANDIN_RECORD_ONLY = "1";
    const stack = `bench${hosts}`;
    writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFileOf(syntheticInventory(base, hosts)));
    await engine.pulumiOk(["stack", "init", `organization/${PROJECT}/${stack}`, "--secrets-provider", "passphrase", "--non-interactive"], {
      cwd: dir,
    });
    await engine.pulumiOk(["config", "set", "--secret", "sshPrivateKey", "--stack", stack, "--non-interactive"], {
      cwd: dir,
      input: newSshKey(engine, stack),
    });
    const policy = ["--policy-pack", path.join(dir, "policy")];
    progress(`real engine, ${hosts} hosts: pulumi preview...`);
    const preview = ok(await timedPulumi(engine, dir, ["preview", "--stack", stack, ...policy, "--non-interactive"]), "pulumi preview");
    progress(`real engine, ${hosts} hosts: first pulumi up (record-only stand-in providers: nothing is touched)...`);
    ok(await timedPulumi(engine, dir, ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"]), "the first pulumi up");
    progress(`real engine, ${hosts} hosts: pulumi up with nothing to change...`);
    const noop = ok(
      await timedPulumi(engine, dir, ["up", "--stack", stack, ...policy, "--yes", "--expect-no-changes", "--non-interactive"]),
      "the no-op pulumi up",
    );
    const state = JSON.parse(await engine.pulumiOk(["stack", "export", "--stack", stack], { cwd: dir })) as {
      deployment: { resources?: { type: string; urn: string }[] };
    };
    const resources = (state.deployment.resources ?? []).filter(
      (r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"),
    ).length;
    const version = (await engine.pulumiOk(["version"])).trim();
    const named = providers.map((p) => (p.real === null ? `${p.name} ${p.version} (stand-in, record-only)` : `${p.name} ${p.real} (real)`));
    return {
      figure: {
        hosts,
        resources,
        previewS: round1(preview.seconds),
        previewPeakMb: round1(preview.memory.engineMb),
        noopUpS: round1(noop.seconds),
        noopUpPeakMb: round1(noop.memory.engineMb),
        standInPeakMb: round1(noop.memory.standInMb),
      },
      engine: `pulumi ${version}, language host v${languageHost ?? "?"} (nodejs), providers: ${named.join(", ")}`,
    };
  } finally {
    engine.dispose();
  }
}

/** The real engine's figures for each size, one size at a time; none (with the reason) when the tools are not built. */
export async function measureRealEngine(
  base: InventoryConfig,
  sizes: readonly number[],
  progress: (s: string) => void,
): Promise<RealEngineResult> {
  const ready = readiness(["pulumi", "pulumi-language-nodejs"]);
  if (!ready.ready) return { figures: [], note: `not measured: ${ready.reason}` };
  const figures: RealEngineFigure[] = [];
  let engine: string | undefined;
  for (const n of [...sizes].sort((a, b) => a - b)) {
    const m = await measureOne(base, n, progress);
    figures.push(m.figure);
    engine = m.engine;
  }
  return { figures, ...(engine === undefined ? {} : { engine }) };
}
