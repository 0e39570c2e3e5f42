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
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../../plan/plan";
import { readStackConfig } from "../../plan/stackfile";
import { REPO_ROOT } from "../harness";
import { Engine, PROJECT, makeStack, prepareForPreview, projectDir, gate, readiness, toolStatus, toolsBinDir } from "./engine";

const STACKS = readdirSync(REPO_ROOT)
  .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .sort();
const PREVIEW_TIMEOUT = 900_000;
const PINNED_PULUMI = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> })
  .dependencies["@pulumi/pulumi"];

const CLI = ["pulumi"] as const;
const PROVIDERS = ["pulumi-resource-command", "pulumi-resource-random", "pulumi-resource-kubernetes"] as const;
/** The preview needs the CLI and the language host; a provider the tools cache lacks is replaced by its stand-in. */
const LANGUAGE_ENGINE = [...CLI, "pulumi-language-nodejs"] as const;
const POLICIES = [
  "helm-chart-version-pinned",
  "no-curl-pipe-shell",
  "no-secret-in-plain-command-inputs",
  "ssh-host-key-pinned",
  "storage-release-protected",
];

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

/** One line of `pulumi preview --json` with PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true: an engine event. */
interface EngineEvent {
  resourcePreEvent?: { metadata: { op: string; urn: string; type: string; new?: { parent?: string; protect?: boolean } } };
  resOutputsEvent?: { metadata: { urn: string; type: string; new?: { outputs?: Record<string, unknown> } } };
  policyEvent?: { resourceUrn?: string; message: string; policyName: string; enforcementLevel: string };
  policyAnalyzeSummaryEvent?: { resourceUrn: string; policyPackName: string; passed?: string[]; failed?: string[] };
  diagnosticEvent?: { urn?: string; message: string; severity: string };
}

/** The part of a URN after `urn:pulumi:<stack>::<project>::`: the type chain and the name. */
function urnTail(urn: string): string {
  return urn.split("::").slice(2).join("::");
}

/** The engine's marker for a value unknown during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A warning the test setup itself causes: the language host launcher is found on PATH (see engine.ts). */
const SETUP_WARNING = /^using pulumi-language-nodejs from \$PATH at /;
/** What the real kubernetes provider v4.25.0 (the only one buildable here; the SDK asks for 4.34.2) makes the engine say. */
const OLD_KUBERNETES_WARNING =
  /^(using pulumi-resource-kubernetes from \$PATH at .*|resource plugin kubernetes is expected to have version >=4\.34\.2, but has 4\.25\.0; .*)$/;

let planQueue: Promise<unknown> = Promise.resolve();
/** The offline plan of a stack file; one at a time, as it sets the process-wide Pulumi runtime (config, mocks). */
function offlinePlan(file: string): ReturnType<typeof runPlan> {
  const next = planQueue.then(() => runPlan(readStackConfig(file)));
  planQueue = next.catch(() => undefined);
  return next;
}

/** Runs the real preview of STACK with the policy pack and returns its engine events and exit code. */
async function preview(engine: Engine, dir: string, stack: string): Promise<{ code: number; events: EngineEvent[]; stderr: string }> {
  const started = Date.now();
  const r = await engine.pulumi(["preview", "--stack", stack, "--policy-pack", path.join(dir, "policy"), "--json", "--non-interactive"], {
    cwd: dir,
    timeoutMs: PREVIEW_TIMEOUT,
    env: { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" },
  });
  process.stdout.write(`real preview ${stack}: exit ${r.code} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  const events = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as EngineEvent);
  return { code: r.code, events, stderr: r.stderr };
}

describe("real pulumi preview of the example stacks", () => {
  const ready = gate("real pulumi preview", readiness(LANGUAGE_ENGINE));
  let engine: Engine;
  let dir: string;
  beforeAll(async () => {
    if (!ready) return;
    engine = new Engine(toolsBinDir(), "bmk8s-preview-");
    dir = projectDir(engine);
    const { providers, languageHost } = await prepareForPreview(engine);
    const version = (await engine.pulumiOk(["version"])).trim();
    const named = providers.map((p) =>
      p.real === null
        ? `${p.name} ${p.version} (stand-in)`
        : `${p.name} ${p.real} (real${p.real === p.version ? "" : `, registered as ${p.version}`})`,
    );
    process.stdout.write(
      `engine: pulumi ${version}, language host v${languageHost ?? "?"} (nodejs; RunPlugin stand-in for the policy pack), providers: ${named.join(", ")}\n`,
    );
    for (const p of providers.filter((q) => q.real === null)) process.stdout.write(`  ${p.name} stand-in because: ${p.why}\n`);
  }, PREVIEW_TIMEOUT);
  afterAll(() => engine?.dispose());

  // The stacks are independent (own stack file and state in one backend): previewed side by side.
  for (const stack of STACKS) {
    it.skipIf(!ready).concurrent(
      `${stack}: succeeds with the policy pack, every policy passes, and it would create exactly the offline plan's resources`,
      async () => {
        const file = await makeStack(engine, dir, stack);
        const { code, events, stderr } = await preview(engine, dir, stack);
        const diagnostics = events.flatMap((e) => (e.diagnosticEvent ? [e.diagnosticEvent] : []));
        expect(code, `pulumi preview failed:\n${stderr}\n${diagnostics.map((d) => d.message).join("\n")}`).toBe(0);

        // Policies: no violation (nor "can't run during preview"), and every policy of the pack passed on every resource.
        expect(events.flatMap((e) => (e.policyEvent ? [`${e.policyEvent.policyName}: ${e.policyEvent.message}`] : []))).toEqual([]);
        const summaries = events.flatMap((e) => (e.policyAnalyzeSummaryEvent ? [e.policyAnalyzeSummaryEvent] : []));
        expect(summaries.length).toBeGreaterThan(0);
        for (const s of summaries) {
          expect(s.failed ?? [], s.resourceUrn).toEqual([]);
          expect([...(s.passed ?? [])].sort(), s.resourceUrn).toEqual(POLICIES);
        }

        // No warning or error from the SDK, the engine or a provider (but the one the setup causes); the program's own
        // warnings are exactly the offline plan's warning findings, as `path: message`.
        const { plan } = await offlinePlan(file);
        expect(
          diagnostics
            .filter(
              (d) =>
                d.severity !== "debug" &&
                d.severity !== "info" &&
                !SETUP_WARNING.test(d.message.trim()) &&
                !OLD_KUBERNETES_WARNING.test(d.message.trim()),
            )
            .map((d) => d.message.trim())
            .sort(),
        ).toEqual(
          plan.findings
            .filter((f) => f.severity === "warning")
            .map((f) => `${f.path}: ${f.message}`)
            .sort(),
        );

        const steps = events.flatMap((e) => (e.resourcePreEvent ? [e.resourcePreEvent.metadata] : []));
        expect(
          steps.filter((s) => s.op !== "create"),
          "a preview of a new stack only creates",
        ).toEqual([]);
        const stackUrn = steps.find((s) => s.type === "pulumi:pulumi:Stack")?.urn;
        // The engine's own resources: the stack and the default providers it creates for command and random.
        const real = steps
          .filter((s) => s.type !== "pulumi:pulumi:Stack" && !/::default(_[0-9_]+)?$/.test(s.urn))
          .map((s) => ({
            urn: urnTail(s.urn),
            type: s.type,
            parent: !s.new?.parent || s.new.parent === stackUrn ? null : urnTail(s.new.parent),
          }))
          .sort((a, b) => a.urn.localeCompare(b.urn));
        const offline = plan.resources
          .map((p) => ({ urn: urnTail(p.urn), type: p.type, parent: p.parent === null ? null : urnTail(p.parent) }))
          .sort((a, b) => a.urn.localeCompare(b.urn));
        expect(
          real.filter((u) => !offline.some((o) => o.urn === u.urn)).map((u) => u.urn),
          "in the real preview, not in the offline plan",
        ).toEqual([]);
        expect(
          offline.filter((u) => !real.some((o) => o.urn === u.urn)).map((u) => u.urn),
          "in the offline plan, not in the real preview",
        ).toEqual([]);
        expect(real, "types and parents").toEqual(offline);

        // The stack outputs: every value the preview knows is the plan's; the plan shows "[secret]" for the kubeconfig,
        // which the preview cannot know yet (it comes from the first control plane).
        // The last outputs event of the stack (the first, when the stack is registered, is empty).
        const outputs = events.filter((e) => e.resOutputsEvent?.metadata.type === "pulumi:pulumi:Stack").at(-1)?.resOutputsEvent?.metadata
          .new?.outputs;
        expect(outputs, "the stack's outputs").toBeDefined();
        const known = Object.fromEntries(Object.entries(outputs ?? {}).filter(([, v]) => v !== UNKNOWN));
        const unknown = Object.keys(outputs ?? {}).filter((k) => outputs?.[k] === UNKNOWN);
        expect(unknown).toEqual(["kubeconfig"]);
        expect(plan.outputs.kubeconfig).toBe("[secret]");
        expect(known).toEqual(Object.fromEntries(Object.entries(plan.outputs).filter(([k]) => k !== "kubeconfig")));
        process.stdout.write(`real preview ${stack}: ${real.length} to create (as the offline plan), ${POLICIES.length} policies passed\n`);
      },
      PREVIEW_TIMEOUT,
    );
  }

  it.skipIf(!ready).concurrent(
    "a stack that skips host-key pinning without the stack tag fails preview naming ssh-host-key-pinned",
    async () => {
      const stack = "bad-mini";
      await makeStack(engine, dir, stack, (config) => {
        const cluster = config[`${PROJECT}:cluster`] as Record<string, unknown>;
        cluster.ssh = { ...(cluster.ssh as object | undefined), insecureIgnoreHostKey: true };
        for (const host of config[`${PROJECT}:hosts`] as Record<string, unknown>[]) delete host.hostKey;
      });
      const { code, events } = await preview(engine, dir, stack);
      expect(code).not.toBe(0);
      const violations = events.flatMap((e) => (e.policyEvent ? [e.policyEvent] : []));
      expect(violations.map((v) => `${v.enforcementLevel} ${v.policyName}`)).toContain("mandatory ssh-host-key-pinned");
    },
    PREVIEW_TIMEOUT,
  );
});
