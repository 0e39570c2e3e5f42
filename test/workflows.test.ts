import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { changedStacks, readManifest, stackFilesIn } from "../tools/ci-stacks";
import { lintWorkflow, lintWorkflowDir, shellcheckAvailable } from "../tools/lint-workflows";
import { REPO_ROOT } from "./harness";

const WORKFLOWS = path.join(REPO_ROOT, ".github/workflows");
const hasShellcheck = shellcheckAvailable();

const BAD = `
name: bad
on:
  pull_request:
    branchez: [main]
jobs:
  preview:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v7
      - uses: pulumi/actions@main
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: |
          for f in $(ls *.yaml); do echo $f; done
`;

describe("GitHub workflows", () => {
  it("pass the schema, pinning, injection and permission checks and shellcheck", () => {
    expect(lintWorkflowDir(WORKFLOWS, { shellcheck: hasShellcheck })).toEqual([]);
  });

  it("the linter finds what it is for in a bad workflow", () => {
    const problems = lintWorkflow("bad.yml", BAD, { shellcheck: hasShellcheck });
    const text = problems.map((p) => `${p.path} ${p.message}`).join("\n");
    expect(text).toContain("/on/pull_request must NOT have additional properties: branchez");
    expect(text).toContain("actions/checkout@v7 is not pinned");
    expect(text).toContain("pulumi/actions@main is not pinned");
    expect(text).toContain("/jobs/preview/steps/2/run has a ${{ }} expression");
    expect(text).toContain("declare permissions");
    if (hasShellcheck) expect(text).toMatch(/steps\/3\/run shellcheck: line 1: .*SC2045|SC2086/);
  });

  it.skipIf(!hasShellcheck)("runs shellcheck on run: scripts (skipped without shellcheck: apt-get install shellcheck)", () => {
    const problems = lintWorkflow(
      "x.yml",
      "name: x\non: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $1\n",
    );
    expect(problems.map((p) => p.message).join()).toContain("SC2086");
  });

  it("preview posts pulumi/actions' preview as a PR comment and the offline plan as a job summary", () => {
    const wf = parse(readFileSync(path.join(WORKFLOWS, "preview.yml"), "utf8")) as {
      jobs: Record<
        string,
        { steps: { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }[]; if?: string }
      >;
    };
    const pulumi = wf.jobs.preview?.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(pulumi?.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policy" });
    expect(pulumi?.env).toEqual({
      PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
      PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    });
    expect(wf.jobs.preview?.if).toContain("head.repo.full_name == github.repository");
    const plan = wf.jobs.plan?.steps.map((s) => s.run ?? "").join("\n") ?? "";
    expect(plan).toContain('npm run --silent plan -- --stack "$STACK" --format markdown');
    expect(plan).toContain("GITHUB_STEP_SUMMARY");
    expect(wf.jobs.plan?.steps.some((s) => JSON.stringify(s).includes("secrets."))).toBe(false);
  });

  it("secrets come only from repository secrets, never from files", () => {
    for (const f of ["preview.yml", "deploy.yml"]) {
      const text = readFileSync(path.join(WORKFLOWS, f), "utf8");
      const refs = [...text.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]);
      expect(new Set(refs), f).toEqual(new Set(["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]));
      expect(text).not.toMatch(/\.env\b|secrets?\.(json|ya?ml)/);
    }
  });
});

describe("which stacks CI runs", () => {
  const stacks = ["dev", "mini", "prod"];
  it("a changed stack file touches only its stack", () => {
    expect(changedStacks(["Pulumi.prod.yaml", "README.md"], stacks)).toEqual(["prod"]);
  });
  it("a change to the program or Pulumi.yaml touches every stack; docs and CI touch none", () => {
    expect(changedStacks(["components/host/host.ts"], stacks)).toEqual(stacks);
    expect(changedStacks(["Pulumi.yaml"], stacks)).toEqual(stacks);
    expect(changedStacks(["docs/CONFIG-REFERENCE.md", ".github/workflows/preview.yml"], stacks)).toEqual([]);
  });
  it("the repository's manifest names only stacks that have a stack file", () => {
    const manifest = readManifest(path.join(REPO_ROOT, ".github/pulumi-stacks.yml"));
    const files = stackFilesIn(REPO_ROOT);
    for (const s of Object.keys(manifest.stacks)) expect(files).toContain(s);
  });
});
