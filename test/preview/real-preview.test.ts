/**
 * The real Pulumi CLI and providers (built by `npm run -s tools`) against the example stacks.
 *
 * - With the CLI alone: `pulumi version` is the release package.json pins, and the real CLI reads each example stack
 *   (project defaults from Pulumi.yaml, structured values, a secret set from a file on stdin) exactly as the offline
 *   plan's stack-file reader does.
 * - With the CLI, the nodejs language host and the providers: `pulumi preview --policy-pack policy` of every example
 *   stack succeeds, would create exactly the offline plan's resources, and a stack that breaks a policy fails naming it.
 *
 * Missing tools: a failure under CI=true when the build did not run; a skip with the reason otherwise, and when the
 * build recorded that a component cannot be built here (e.g. the Go module proxy refuses its module).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../../plan/plan";
import { readStackConfig } from "../../plan/stackfile";
import { REPO_ROOT } from "../harness";
import { Engine, readiness, toolStatus, toolsBinDir, type Readiness } from "./engine";

const STACKS = readdirSync(REPO_ROOT)
  .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .sort();
const PROJECT = "baremetal-k8s";
const PREVIEW_TIMEOUT = 900_000;
const PINNED_PULUMI = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> })
  .dependencies["@pulumi/pulumi"];

const CLI = ["pulumi"] as const;
const PROVIDERS = ["pulumi-resource-command", "pulumi-resource-random", "pulumi-resource-kubernetes"] as const;
const ENGINE = [...CLI, "pulumi-language-nodejs", ...PROVIDERS] as const;

/** Fails under CI when the tools were never built; otherwise says why the block is skipped. */
function gate(what: string, r: Readiness): boolean {
  if (r.ready) return true;
  const message = `${what}: skipped: ${r.reason}`;
  if (r.notBuilt && process.env.CI === "true") throw new Error(`${what}: the real engine is required under CI=true: ${r.reason}`);
  process.stdout.write(`${message}\n`);
  return false;
}

function isSecure(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** The example stack file without its `secure:` placeholders, which no passphrase decrypts. */
function stackWithoutSecrets(stack: string, edit?: (config: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  for (const [k, v] of Object.entries(doc.config)) if (isSecure(v)) delete doc.config[k];
  edit?.(doc.config);
  return stringify(doc);
}

/** A project directory in the engine's temp dir: Pulumi.yaml copied, the program and node_modules linked. */
function projectDir(engine: Engine): string {
  const dir = path.join(engine.root, "project");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "Pulumi.yaml"), readFileSync(path.join(REPO_ROOT, "Pulumi.yaml")));
  for (const entry of ["index.ts", "components", "policy", "tsconfig.json", "package.json", "node_modules"]) {
    symlinkSync(path.join(REPO_ROOT, entry), path.join(dir, entry));
  }
  return dir;
}

/** A fresh ed25519 private key (OpenSSH format) for the stack's sshPrivateKey secret. */
function testKey(engine: Engine, name: string): string {
  const file = path.join(engine.root, `${name}.key`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "real-preview-test", "-f", file]);
  return readFileSync(file, "utf8");
}

/** Creates STACK in the engine's backend from the example file (edited), with a fresh sshPrivateKey secret. */
async function makeStack(engine: Engine, dir: string, stack: string, edit?: (config: Record<string, unknown>) => void): Promise<string> {
  writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackWithoutSecrets(stack.replace(/^bad-/, ""), edit));
  await engine.pulumiOk(["stack", "init", `organization/${PROJECT}/${stack}`, "--secrets-provider", "passphrase", "--non-interactive"], {
    cwd: dir,
  });
  // As the README tells users: `pulumi config set --secret sshPrivateKey < key`.
  await engine.pulumiOk(["config", "set", "--secret", "sshPrivateKey", "--stack", stack, "--non-interactive"], {
    cwd: dir,
    input: testKey(engine, stack),
  });
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

interface ConfigEntry {
  value?: string;
  objectValue?: unknown;
  secret: boolean;
}

describe("the real Pulumi CLI", () => {
  const ready = gate("real Pulumi CLI", readiness(CLI));
  let engine: Engine;
  let dir: string;
  beforeAll(() => {
    if (!ready) return;
    engine = new Engine(toolsBinDir(), "bmk8s-cli-");
    dir = projectDir(engine);
  });
  afterAll(() => engine?.dispose());

  it.skipIf(!ready)(`is the release package.json pins (${PINNED_PULUMI})`, async () => {
    expect((await engine.pulumiOk(["version"])).trim()).toBe(`v${PINNED_PULUMI}`);
  });

  for (const provider of PROVIDERS) {
    const status = toolStatus(provider);
    if (ready && !status.present) process.stdout.write(`real ${provider}: skipped: ${status.unavailable ?? "not built"}\n`);
    it.skipIf(!ready || !status.present)(`loads ${provider} and reads the version of its build from its schema`, async () => {
      const schema = JSON.parse(await engine.pulumiOk(["package", "get-schema", status.path], { timeoutMs: 300_000 })) as {
        name: string;
        version?: string;
      };
      expect(status.version, `${status.path} should point into <name>-v<version>/bin`).not.toBeNull();
      expect(schema.name).toBe(provider.replace(/^pulumi-resource-/, ""));
      expect(schema.version).toBe(status.version);
    });
  }

  for (const stack of STACKS) {
    it.skipIf(!ready)(`reads Pulumi.${stack}.yaml as the offline plan does`, async () => {
      const file = await makeStack(engine, dir, stack);
      const real = JSON.parse(await engine.pulumiOk(["config", "--json", "--show-secrets", "--stack", stack], { cwd: dir })) as Record<
        string,
        ConfigEntry
      >;
      const offline = readStackConfig(file);
      const realValues = Object.fromEntries(
        Object.entries(real).map(([k, e]) => [k, e.objectValue !== undefined ? JSON.stringify(e.objectValue) : (e.value ?? "")]),
      );
      const realSecrets = Object.keys(real).filter((k) => real[k].secret);
      // The offline reader sees the secret as the placeholder it was given; the real CLI decrypts it.
      expect(Object.keys(realValues).sort()).toEqual(Object.keys(offline.config).sort());
      for (const [k, v] of Object.entries(offline.config)) {
        if (offline.secretKeys.includes(k)) continue;
        expect(JSON.parse(JSON.stringify(tryParse(realValues[k]))), k).toEqual(tryParse(v));
      }
      expect(realSecrets.sort()).toEqual(offline.secretKeys.sort());
      expect(real[`${PROJECT}:sshPrivateKey`].value).toMatch(
        /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n?$/,
      );
    });
  }
});

function tryParse(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

interface PreviewStep {
  op: string;
  urn: string;
  newState?: { type: string };
}

/** The part of a URN after `urn:pulumi:<stack>::<project>::`: the type chain and the name. */
function urnTail(urn: string): string {
  return urn.split("::").slice(2).join("::");
}

describe("real pulumi preview of the example stacks", () => {
  const ready = gate("real pulumi preview", readiness(ENGINE));
  let engine: Engine;
  let dir: string;
  beforeAll(async () => {
    if (!ready) return;
    engine = new Engine(toolsBinDir(), "bmk8s-preview-");
    dir = projectDir(engine);
    // Register each provider at the version its build says, so the CLI uses exactly these binaries and downloads
    // nothing (acquisition is disabled, and the program asks for the versions package.json pins).
    for (const provider of PROVIDERS) {
      const status = toolStatus(provider);
      if (!status.version) throw new Error(`${status.path} does not point into a <name>-v<version> directory of the tools cache`);
      await engine.pulumiOk([
        "plugin",
        "install",
        "resource",
        provider.replace(/^pulumi-resource-/, ""),
        status.version,
        "--file",
        status.path,
      ]);
    }
  }, PREVIEW_TIMEOUT);
  afterAll(() => engine?.dispose());

  for (const stack of STACKS) {
    it.skipIf(!ready)(
      `${stack}: succeeds with the policy pack and would create exactly the offline plan's resources`,
      async () => {
        const file = await makeStack(engine, dir, stack);
        const r = await engine.pulumi(
          ["preview", "--stack", stack, "--policy-pack", path.join(dir, "policy"), "--json", "--non-interactive"],
          { cwd: dir, timeoutMs: PREVIEW_TIMEOUT },
        );
        expect(r.code, `pulumi preview failed:\n${r.stderr}\n${r.stdout.slice(0, 20_000)}`).toBe(0);
        const digest = JSON.parse(r.stdout) as { steps?: PreviewStep[]; changeSummary?: Record<string, number> };
        const steps = digest.steps ?? [];
        expect(
          steps.filter((s) => s.op !== "create"),
          "a preview of a new stack only creates",
        ).toEqual([]);
        // The engine's own resources: the stack and the default providers it creates for command and random.
        const real = steps
          .filter((s) => s.newState?.type !== "pulumi:pulumi:Stack" && !/::default(_[0-9_]+)?$/.test(s.urn))
          .map((s) => urnTail(s.urn))
          .sort();
        const offline = (await runPlan(readStackConfig(file))).plan.resources.map((p) => urnTail(p.urn)).sort();
        expect(
          real.filter((u) => !offline.includes(u)),
          "in the real preview, not in the offline plan",
        ).toEqual([]);
        expect(
          offline.filter((u) => !real.includes(u)),
          "in the offline plan, not in the real preview",
        ).toEqual([]);
        const version = (await engine.pulumiOk(["version"])).trim();
        process.stdout.write(`real preview ${stack}: ${real.length} to create, policies passed, engine pulumi ${version}\n`);
      },
      PREVIEW_TIMEOUT,
    );
  }

  it.skipIf(!ready)(
    "a stack that skips host-key pinning without the stack tag fails preview naming ssh-host-key-pinned",
    async () => {
      const stack = "bad-mini";
      await makeStack(engine, dir, stack, (config) => {
        const cluster = config[`${PROJECT}:cluster`] as Record<string, unknown>;
        cluster.ssh = { ...(cluster.ssh as object | undefined), insecureIgnoreHostKey: true };
        for (const host of config[`${PROJECT}:hosts`] as Record<string, unknown>[]) delete host.hostKey;
      });
      const r = await engine.pulumi(["preview", "--stack", stack, "--policy-pack", path.join(dir, "policy"), "--non-interactive"], {
        cwd: dir,
        timeoutMs: PREVIEW_TIMEOUT,
      });
      // --json previews carry no policy events (the CLI skips them in its JSON digest): read the text output.
      expect(r.code, r.stdout).not.toBe(0);
      expect(`${r.stdout}\n${r.stderr}`).toMatch(/mandatory.*ssh-host-key-pinned/);
    },
    PREVIEW_TIMEOUT,
  );
});
