import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";

/**
 * Checks GitHub Actions workflows offline: structure against SchemaStore's
 * github-workflow JSON schema (checked in under test/workflows/), then the
 * rules a schema cannot express: actions pinned to an exact version, no
 * `${{ }}` expression inside `run:` (script injection: pass values through
 * env instead), least-privilege `permissions:` declared, and every `run:`
 * script clean under shellcheck (run the way GitHub runs it: bash -e -o pipefail).
 */

export interface WorkflowProblem {
  file: string;
  path: string;
  message: string;
}

export const SCHEMA_FILE = path.resolve(__dirname, "../test/workflows/github-workflow.schema.json");

const PINNED = /^[\w.-]+\/[\w./-]+@(?:v\d+\.\d+\.\d+|[0-9a-f]{40})$/;

let validator: ReturnType<Ajv["compile"]> | undefined;

function validate(doc: unknown): { path: string; message: string }[] {
  if (!validator) {
    const ajv = new Ajv({ strict: false, allErrors: true });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as object);
  }
  if (validator(doc)) return [];
  // oneOf/anyOf branches report every alternative; keep the deepest, most specific messages.
  const errors = (validator.errors ?? []).filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf" && e.keyword !== "if");
  const seen = new Set<string>();
  return errors
    .map((e) => ({
      path: e.instancePath || "/",
      message: `${e.message ?? "is invalid"}${e.params && "additionalProperty" in e.params ? `: ${String(e.params.additionalProperty)}` : ""}`,
    }))
    .filter((e) => (seen.has(`${e.path} ${e.message}`) ? false : (seen.add(`${e.path} ${e.message}`), true)));
}

interface Step {
  uses?: unknown;
  run?: unknown;
  shell?: unknown;
}

function shellcheck(script: string): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-run-"));
  try {
    const file = path.join(dir, "run.sh");
    writeFileSync(file, `#!/usr/bin/env bash\nset -eo pipefail\n${script}`);
    const r = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", file], { encoding: "utf8" });
    if (r.error) throw r.error;
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/^[^:]*:(\d+):\d+: /, (_, n: string) => `line ${Number(n) - 2}: `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function shellcheckAvailable(): boolean {
  return !spawnSync("shellcheck", ["--version"]).error;
}

/** Problems in one workflow's text; an empty list means it passes. */
export function lintWorkflow(file: string, text: string, opts: { shellcheck?: boolean } = {}): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return [{ file, path: "/", message: `not valid YAML: ${(e as Error).message}` }];
  }
  for (const p of validate(doc)) problems.push({ file, ...p });
  const wf = (doc ?? {}) as { permissions?: unknown; jobs?: Record<string, { steps?: Step[]; permissions?: unknown }> };
  const jobs = wf.jobs && typeof wf.jobs === "object" ? wf.jobs : {};
  if (wf.permissions === undefined && Object.values(jobs).some((j) => j?.permissions === undefined)) {
    problems.push({
      file,
      path: "/permissions",
      message: "declare permissions: (e.g. contents: read) so the GITHUB_TOKEN gets only what the jobs need",
    });
  }
  for (const [id, job] of Object.entries(jobs)) {
    (Array.isArray(job?.steps) ? job.steps : []).forEach((step, i) => {
      const at = `/jobs/${id}/steps/${i}`;
      if (typeof step.uses === "string" && !step.uses.startsWith("./") && !step.uses.startsWith("docker://") && !PINNED.test(step.uses)) {
        problems.push({
          file,
          path: `${at}/uses`,
          message: `${step.uses} is not pinned: use an exact release (owner/action@v1.2.3) or a commit SHA`,
        });
      }
      if (typeof step.run === "string") {
        if (step.run.includes("${{")) {
          problems.push({
            file,
            path: `${at}/run`,
            message:
              'has a ${{ }} expression inside the script: it is pasted in before bash parses it (script injection). Pass the value through env: and use "$VAR"',
          });
        }
        if (opts.shellcheck !== false && (step.shell === undefined || step.shell === "bash")) {
          for (const m of shellcheck(step.run)) problems.push({ file, path: `${at}/run`, message: `shellcheck: ${m}` });
        }
      }
    });
  }
  return problems;
}

export function lintWorkflowDir(dir: string, opts: { shellcheck?: boolean } = {}): WorkflowProblem[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => lintWorkflow(path.join(dir, f), readFileSync(path.join(dir, f), "utf8"), opts));
}

if (require.main === module) {
  const useShellcheck = shellcheckAvailable();
  if (!useShellcheck) process.stderr.write("lint-workflows: shellcheck not found, run: scripts not checked (apt-get install shellcheck)\n");
  const problems = lintWorkflowDir(path.resolve(__dirname, "../.github/workflows"), { shellcheck: useShellcheck });
  for (const p of problems) process.stderr.write(`${path.relative(process.cwd(), p.file)}: ${p.path}: ${p.message}\n`);
  process.exit(problems.length ? 1 : 0);
}
