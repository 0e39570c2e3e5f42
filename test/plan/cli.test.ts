import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../harness";

const tsx = path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs");
const dir = mkdtempSync(path.join(tmpdir(), "plan-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `tsx plan/cli.ts` started in the repository root, as `npm run plan` starts it. */
function plan(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { npm_lifecycle_event: _event, INIT_CWD: _initCwd, ...inherited } = process.env;
  return spawnSync(process.execPath, [tsx, "plan/cli.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8", env: { ...inherited, ...env } });
}

const STACK_TRACE = /\n\s+at .+:\d+:\d+/;

describe("the plan command's paths", { timeout: 180_000 }, () => {
  it("--stack NAME that does not exist lists the stacks that do, without a raw ENOENT", () => {
    const res = plan(["--stack", "nosuch"]);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/^plan: there is no stack "nosuch"/);
    expect(res.stderr).toContain("The stacks there: dev, fedora, mini, prod");
    expect(res.stderr).not.toContain("ENOENT");
  });

  it("reads a relative --stack-file from the directory npm run was started in (INIT_CWD), not the repository root", () => {
    // an error in the cluster key: exit 2 without evaluating the program, and the hosts still give a topology
    writeFileSync(
      path.join(dir, "Pulumi.mine.yaml"),
      "config:\n  baremetal-k8s:cluster: {name: mine}\n  baremetal-k8s:hosts:\n    - {name: box, address: 192.168.1.9, roles: [control-plane, worker]}\n",
    );
    const res = plan(["--stack-file", "Pulumi.mine.yaml", "--format", "json"], { npm_lifecycle_event: "plan", INIT_CWD: dir });
    expect(res.stderr).not.toContain("no such file");
    expect(res.status).toBe(2);
    const json = JSON.parse(res.stdout) as { findings: { path: string }[]; topology: { leader: string; controlPlaneWorkers: string[] } };
    expect(json.findings.map((f) => f.path)).toContain("cluster.kubernetesVersion");
    expect(json.topology).toMatchObject({ leader: "box", controlPlaneWorkers: ["box"] });
    // INIT_CWD inherited from another npm script (npm test) is not the caller's directory
    const inherited = plan(["--stack-file", "Pulumi.mine.yaml"], { npm_lifecycle_event: "test:unit", INIT_CWD: dir });
    expect(inherited.status).toBe(2);
    expect(inherited.stderr).toContain(`there is no such file (${path.join(REPO_ROOT, "Pulumi.mine.yaml")}`);
  });

  it("under the real npm run, started in a subdirectory", () => {
    const res = spawnSync(
      "npm",
      ["run", "--silent", "plan", "--", "--stack-file", "invalid/01-cluster-name-missing.yaml", "--format", "json"],
      { cwd: path.join(REPO_ROOT, "test/config"), encoding: "utf8" },
    );
    expect(res.status, res.stderr).toBe(2);
    const json = JSON.parse(res.stdout) as { findings: { path: string }[]; topology: unknown; resources: unknown[] };
    expect(json.findings.map((f) => f.path)).toContain("cluster.name");
    expect(json.resources).toEqual([]);
    expect(json.topology).not.toBeNull();
  });

  it("--previous with a file that is not previous outputs is an error naming the file and the shape expected", () => {
    const file = path.join(dir, "not-outputs.json");
    writeFileSync(file, JSON.stringify([{ leader: "cp-1" }]));
    const res = plan(["--stack", "dev", "--previous", file]);
    expect(res.status).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain(`plan: --previous ${file}: expected the stack's previous outputs`);
    expect(res.stderr).toContain("pulumi stack output --json");
    expect(res.stderr).not.toMatch(STACK_TRACE);
    writeFileSync(file, "{ not json");
    const notJson = plan(["--stack", "dev", "--previous", file]);
    expect(notJson.status).toBe(2);
    expect(notJson.stderr).toContain(`plan: --previous ${file}: not JSON`);
    expect(notJson.stderr).not.toMatch(STACK_TRACE);
  });
});
