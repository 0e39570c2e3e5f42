import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runPlan } from "../../plan/plan";
import { readStackConfig } from "../../plan/stackfile";
import { REPO_ROOT } from "../harness";

const dir = path.join(__dirname, "invalid");
const corpus = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((file) => {
    const text = readFileSync(path.join(dir, file), "utf8");
    const expect = /^# expect: (\S+)$/m.exec(text)?.[1];
    if (!expect) throw new Error(`${file} has no "# expect: <path>" line`);
    return { file, expect };
  });

describe("the corpus of invalid configs", () => {
  it("has at least 30 cases", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  it("the base they are cut from is valid, so each case fails for its own defect", async () => {
    const run = await runPlan(readStackConfig(path.join(__dirname, "valid", "minimal.yaml")));
    expect(run.plan.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(run.exitCode).toBe(0);
  });

  it.each(corpus)("$file is refused with an error at $expect", async ({ file, expect: key }) => {
    const run = await runPlan(readStackConfig(path.join(dir, file)));
    expect(run.exitCode).toBe(2);
    expect(run.plan.resources).toEqual([]);
    const errors = run.plan.findings.filter((f) => f.severity === "error");
    expect(errors.map((f) => f.path)).toContain(key);
    for (const f of errors) {
      // A message says what is wrong and how to fix it: more than an echo of the key.
      expect(f.message.length).toBeGreaterThan(20);
    }
  });
});

describe("the plan command on invalid configs", () => {
  const sample = corpus.filter((_, i) => i % 12 === 0);
  it.each(sample)("$file: exit 2, JSON findings on stdout, no stack trace", ({ file, expect: key }) => {
    const res = spawnSync(process.execPath, [path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs"), "plan/cli.ts", "--stack-file", path.join(dir, file), "--format", "json"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    expect(res.status).toBe(2);
    const out = JSON.parse(res.stdout) as { findings: { path: string }[]; resources: unknown[] };
    expect(out.findings.map((f) => f.path)).toContain(key);
    expect(out.resources).toEqual([]);
    expect(`${res.stdout}${res.stderr}`).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });
});
