import { analyze } from "../components/analysis";
import type { Finding } from "../components/config";
import { CONFIG_NAMESPACE, main, readRawConfig } from "../components/main";
import type { Topology } from "../components/topology";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, type RecordedResource } from "./evaluate";
import type { StackConfig } from "./stackfile";

/** One resource in the plan: CONFIG.md's fields, secrets shown as "[secret]". */
export interface PlanResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  host: string | null;
  dependsOn: string[];
  inputs: Record<string, unknown>;
}

export interface Plan {
  findings: Finding[];
  topology: Topology | null;
  resources: PlanResource[];
}

export interface PlanRun {
  plan: Plan;
  /** Everything recorded, for tests and renderers that need more than the plan prints. */
  recorded: RecordedResource[];
  exitCode: 0 | 2;
}

/** Reads the raw config from a stack's values without a Pulumi runtime. */
function rawConfigOf(stack: StackConfig) {
  pulumi.runtime.setAllConfig(stack.config, stack.secretKeys);
  return readRawConfig(new pulumi.Config(CONFIG_NAMESPACE));
}

/** Which host a resource acts on: the host whose address its SSH connection names, or its Host ancestor. */
export function hostOf(r: RecordedResource, byUrn: Map<string, RecordedResource>, addressToHost: Map<string, string>): string | null {
  const conn = r.plainInputs.connection as { host?: unknown } | undefined;
  if (conn && typeof conn.host === "string" && addressToHost.has(conn.host)) return addressToHost.get(conn.host) ?? null;
  for (let cur: RecordedResource | undefined = r; cur; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
    if (cur.type === "baremetal-k8s:host:Host") return cur.name;
  }
  return null;
}

/**
 * The offline plan: validates the config, then evaluates the real program under
 * the SDK's mock runtime and lists every resource it registers.
 */
export async function runPlan(stack: StackConfig): Promise<PlanRun> {
  const analysis = analyze(rawConfigOf(stack));
  const errors = analysis.findings.some((f) => f.severity === "error");
  if (errors || !analysis.spec) {
    return { plan: { findings: analysis.findings, topology: analysis.topology ?? null, resources: [] }, recorded: [], exitCode: 2 };
  }
  const { resources } = await evaluate({ config: stack.config, secretKeys: stack.secretKeys, program: main });
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const addressToHost = new Map(analysis.spec.hosts.map((h) => [h.address, h.name]));
  const planned = resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    parent: r.parent,
    host: hostOf(r, byUrn, addressToHost),
    dependsOn: r.dependsOn,
    inputs: r.inputs,
  }));
  return {
    plan: { findings: analysis.findings, topology: analysis.topology ?? null, resources: planned },
    recorded: resources,
    exitCode: 0,
  };
}
