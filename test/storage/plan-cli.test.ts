import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { clone, loadStack, REPO_ROOT, runProgram } from "../harness";
import { planOf, storageOf } from "./helpers";

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), "bk8s-plan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface PlanJson {
  findings: { severity: string; path: string }[];
  resources: unknown[];
}

/** Runs `npm run plan`'s script; resolves with the exit code and the JSON on stdout. */
async function plan(args: string[]): Promise<{ code: number; json: PlanJson; stderr: string }> {
  try {
    const { stdout, stderr } = await run(path.join(REPO_ROOT, "node_modules/.bin/tsx"), ["plan/cli.ts", "--format", "json", ...args], {
      cwd: REPO_ROOT,
      maxBuffer: 256 * 1024 * 1024,
    });
    return { code: 0, json: JSON.parse(stdout) as PlanJson, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    if (typeof err.code !== "number") throw e;
    return {
      code: err.code,
      json: err.stdout ? (JSON.parse(err.stdout) as PlanJson) : { findings: [], resources: [] },
      stderr: err.stderr,
    };
  }
}

function writeStack(name: string, cfg: ReturnType<typeof loadStack>): string {
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  const config = {
    "baremetal-k8s:cluster": cfg.cluster,
    "baremetal-k8s:hosts": cfg.hosts,
    "baremetal-k8s:storage": cfg.storage,
    "baremetal-k8s:sshPrivateKey": { secure: "AAAA" },
  };
  writeFileSync(file, stringify({ config }));
  return file;
}

// CLI runs here end in exit 2 (no program evaluation, fast); the passing cases run in-process (planOf), the same code path.
describe("plan --previous checks storage against the deployed stack's outputs", () => {
  const lowered = clone(loadStack("dev"));
  storageOf(lowered).rookCeph = { ...storageOf(lowered).rookCeph, poolSize: 2 };

  it("the program exports its storageFootprint; lowering the Ceph pool size against it exits 2 with the finding", async () => {
    const outputs = (await runProgram(loadStack("dev"))).outputs;
    expect(outputs.storageFootprint).toMatchObject({ rookCeph: { poolSize: 3 } });
    const file = path.join(dir, "outputs.json");
    writeFileSync(file, JSON.stringify(outputs));
    const { code, json } = await plan(["--stack-file", writeStack("next", lowered), "--previous", file]);
    expect(code).toBe(2);
    expect(json.findings).toContainEqual(expect.objectContaining({ severity: "error", path: "storage.rookCeph.poolSize" }));
    expect(json.resources).toEqual([]);
    const same = await planOf(loadStack("dev"), undefined, outputs);
    expect(same.exitCode).toBe(0);
    // Nothing about storage; the dev example's one warning concerns Cilium's Gateway API prerequisites.
    expect(same.plan.findings.filter((f) => f.path !== "cluster.networking.gatewayApi")).toEqual([]);
  });

  it("takes an earlier plan's JSON (its outputs) as the previous outputs", async () => {
    const earlier = await planOf(loadStack("dev"));
    expect(earlier.plan.outputs.storageFootprint).toMatchObject({ rookCeph: { poolSize: 3 } });
    const file = path.join(dir, "earlier-plan.json");
    writeFileSync(file, JSON.stringify(earlier.plan));
    const { code, json } = await plan(["--stack-file", writeStack("after-plan", lowered), "--previous", file]);
    expect(code).toBe(2);
    expect(json.findings).toContainEqual(expect.objectContaining({ severity: "error", path: "storage.rookCeph.poolSize" }));
  });

  it("skips the storage comparison for outputs without a footprint, and refuses a mangled one", async () => {
    expect((await planOf(lowered, undefined, { apiEndpoint: "https://x:6443" })).exitCode).toBe(0);
    const bad = path.join(dir, "bad-outputs.json");
    writeFileSync(bad, JSON.stringify({ storageFootprint: { rookCeph: { poolSize: "three", hosts: {} } } }));
    const { code, json } = await plan(["--stack", "dev", "--previous", bad]);
    expect(code).toBe(2);
    expect(json.findings).toContainEqual(expect.objectContaining({ path: "previousTopology.storageFootprint" }));
  });
});
