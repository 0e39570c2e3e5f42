import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, main } from "../components/main";
import { evaluate, type RecordedResource, type ResourceHandler } from "../plan/evaluate";
import { readStackConfig } from "../plan/stackfile";
import type { ClusterSpec, HostSpec } from "../components/config/spec";

export const REPO_ROOT = path.resolve(__dirname, "..");

/** A stack config as objects: the keys of CONFIG.md. */
export interface TestConfig {
  cluster?: unknown;
  hosts?: unknown;
  storage?: unknown;
  /** `baremetal-k8s:ingress`. */
  ingress?: unknown;
  /** The previous stack outputs, as `baremetal-k8s:previousTopology` (checks against the deployed cluster). */
  previousTopology?: unknown;
  sshPrivateKey?: string;
}

/** A test private key: never a real one. */
export const TEST_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key-not-real\n-----END OPENSSH PRIVATE KEY-----\n";

/** Reads an example stack file into a TestConfig (secure values become a placeholder). */
export function loadStack(name: string): TestConfig {
  const { config } = readStackConfig(path.join(REPO_ROOT, `Pulumi.${name}.yaml`));
  const get = (k: string) => {
    const v = config[`${CONFIG_NAMESPACE}:${k}`];
    return v === undefined ? undefined : (JSON.parse(v) as unknown);
  };
  const ingress = get("ingress");
  return {
    cluster: get("cluster"),
    hosts: get("hosts"),
    storage: get("storage"),
    ...(ingress !== undefined ? { ingress } : {}),
    sshPrivateKey: TEST_SSH_KEY,
  };
}

/** A deep copy to mutate in a test. */
/** The resolved host `name` of a spec; throws naming it when the test's config has no such host. */
export function hostIn(spec: ClusterSpec, name: string): HostSpec {
  const h = spec.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function toPulumiConfig(cfg: TestConfig): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  for (const k of ["cluster", "hosts", "storage", "ingress", "previousTopology"] as const) {
    if (cfg[k] !== undefined) config[`${CONFIG_NAMESPACE}:${k}`] = JSON.stringify(cfg[k]);
  }
  const secretKeys: string[] = [];
  if (cfg.sshPrivateKey !== undefined) {
    config[`${CONFIG_NAMESPACE}:sshPrivateKey`] = cfg.sshPrivateKey;
    secretKeys.push(`${CONFIG_NAMESPACE}:sshPrivateKey`);
  }
  return { config, secretKeys };
}

/** What one evaluation of the program registered, with helpers to ask about the graph. */
export class ProgramRun {
  readonly byUrn: Map<string, RecordedResource>;

  constructor(
    readonly resources: RecordedResource[],
    readonly outputs: Record<string, unknown>,
  ) {
    this.byUrn = new Map(resources.map((r) => [r.urn, r]));
  }

  /** The one resource with this name (and type, if given); throws listing near names when absent. */
  get(name: string, type?: string): RecordedResource {
    const found = this.resources.filter((r) => r.name === name && (type === undefined || r.type === type));
    if (found.length !== 1) {
      const near = this.resources.map((r) => r.name).filter((n) => n.includes(name.split("-")[0] ?? name));
      throw new Error(
        `expected one resource named ${name}${type ? ` of type ${type}` : ""}, found ${found.length}. Similar: ${near.slice(0, 20).join(", ")}`,
      );
    }
    return found[0];
  }

  find(name: string): RecordedResource | undefined {
    return this.resources.find((r) => r.name === name);
  }

  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** Remote commands and copies: what runs on hosts. */
  commands(): RecordedResource[] {
    return this.resources.filter((r) => r.type === "command:remote:Command" || r.type === "command:remote:CopyToRemote");
  }

  /** Direct and indirect children of a resource. */
  descendants(urn: string): RecordedResource[] {
    const out: RecordedResource[] = [];
    const walk = (u: string) => {
      for (const r of this.resources) {
        if (r.parent === u) {
          out.push(r);
          walk(r.urn);
        }
      }
    };
    walk(urn);
    return out;
  }

  /** The host a command runs on, from its SSH connection's address. */
  hostAddressOf(r: RecordedResource): string | undefined {
    const c = r.plainInputs.connection as { host?: string } | undefined;
    return c?.host;
  }

  /** Every resource `r` waits for, directly or through other resources. */
  transitiveDeps(r: RecordedResource): Set<string> {
    const seen = new Set<string>();
    const stack = [...r.dependsOn];
    while (stack.length) {
      const u = stack.pop() as string;
      if (seen.has(u)) continue;
      seen.add(u);
      const d = this.byUrn.get(u);
      if (d) stack.push(...d.dependsOn);
    }
    return seen;
  }

  /** True when `later` cannot start before `earlier` has finished (a dependency path exists). */
  waitsFor(later: RecordedResource | string, earlier: RecordedResource | string): boolean {
    const l = typeof later === "string" ? this.get(later) : later;
    const e = typeof earlier === "string" ? this.get(earlier) : earlier;
    return this.transitiveDeps(l).has(e.urn);
  }

  /** Throws unless `later` waits for `earlier`. */
  assertAfter(later: RecordedResource | string, earlier: RecordedResource | string): void {
    const l = typeof later === "string" ? this.get(later) : later;
    const e = typeof earlier === "string" ? this.get(earlier) : earlier;
    if (!this.waitsFor(l, e)) throw new Error(`${l.name} does not wait for ${e.name}: no dependency path from ${l.urn} to ${e.urn}`);
    if (l.seq < e.seq) throw new Error(`${l.name} was registered (#${l.seq}) before ${e.name} (#${e.seq})`);
  }

  /** Whether the input at `path` (e.g. `stdin`, `connection`) was sent as a secret. */
  isSecretInput(r: RecordedResource | string, inputPath: string): boolean {
    const res = typeof r === "string" ? this.get(r) : r;
    return res.secretPaths.some((p) => p === inputPath || inputPath.startsWith(`${p}.`));
  }
}

export interface RunOptions {
  handler?: ResourceHandler;
  stack?: string;
}

/** Evaluates the real program with this config under the SDK mock runtime. */
export async function runProgram(cfg: TestConfig, options: RunOptions = {}): Promise<ProgramRun> {
  const { config, secretKeys } = toPulumiConfig({ sshPrivateKey: TEST_SSH_KEY, ...cfg });
  const { resources, outputs } = await evaluate({ config, secretKeys, program: main, handler: options.handler, stack: options.stack });
  return new ProgramRun(resources, (outputs ?? {}) as Record<string, unknown>);
}

/** Evaluates a program expected to be refused; returns the RunError's message. */
export async function runProgramExpectingError(cfg: TestConfig): Promise<string> {
  try {
    await runProgram(cfg);
  } catch (e) {
    if (e instanceof pulumi.RunError) return e.message;
    throw e;
  }
  throw new Error("the program accepted a config that was expected to be refused");
}
