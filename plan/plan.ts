import { analyze } from "../components/analysis";
import type { Finding } from "../components/config";
import { CONFIG_NAMESPACE, main, readRawConfig } from "../components/main";
import type { Topology } from "../components/topology";
import type { UpgradePlan } from "../components/upgrade/versions";
import * as pulumi from "@pulumi/pulumi";
import { clearReasons, recordedReasons } from "../components/edges";
import { evaluate, type RecordedResource } from "./evaluate";
import { resolveWaits, type Wait } from "./reasons";
import { SECRET_PLACEHOLDER, type StackConfig } from "./stackfile";

/** One resource in the plan, secrets shown as "[secret]". */
export interface PlanResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  host: string | null;
  dependsOn: string[];
  inputs: Record<string, unknown>;
}

/** The topology as the plan prints it: the program's, and which control planes also run workloads. */
export interface PlanTopology extends Topology {
  /** Control planes that also have role worker: they run workloads too (no control-plane taint). `workers` lists the hosts that join as workers. */
  controlPlaneWorkers: string[];
}

export interface Plan {
  findings: Finding[];
  topology: PlanTopology | null;
  resources: PlanResource[];
  /** The stack outputs as `pulumi up` would export them, secrets as "[secret]"; empty when the config has errors. */
  outputs: Record<string, unknown>;
  /** Present when the previous outputs name another kubernetesVersion: from, to and the hops between. */
  upgrade?: UpgradePlan;
}

export interface PlanRun {
  plan: Plan;
  /** Everything recorded, for tests and renderers that need more than the plan prints. */
  recorded: RecordedResource[];
  /** Why each step waits for what it waits for (the program's dependency reasons); not part of the printed plan's JSON. */
  waits: Wait[];
  exitCode: 0 | 2;
}

/** Reads the raw config from a stack's values without a Pulumi runtime. */
function rawConfigOf(stack: StackConfig) {
  pulumi.runtime.setAllConfig(stack.config, stack.secretKeys);
  return readRawConfig(new pulumi.Config(CONFIG_NAMESPACE));
}

const SSH_KEY = `${CONFIG_NAMESPACE}:sshPrivateKey`;

/**
 * The offline plan needs no key (it connects to nothing), and a new stack often has none yet (the README's
 * steps remove the example's): a missing key is a warning here, and the program is evaluated with a
 * placeholder. `pulumi up` still refuses it as an error before anything connects.
 */
function withoutKeyRequirement(stack: StackConfig): { stack: StackConfig; findings: Finding[] } {
  if (stack.config[SSH_KEY] !== undefined) return { stack, findings: [] };
  return {
    stack: { ...stack, config: { ...stack.config, [SSH_KEY]: SECRET_PLACEHOLDER }, secretKeys: [...stack.secretKeys, SSH_KEY] },
    findings: [
      {
        severity: "warning",
        path: "sshPrivateKey",
        message:
          "is not set: the offline plan does not need it, but `pulumi up` and `pulumi preview` refuse to run without it (the program connects to every host over SSH with this key). Set it with `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
      },
    ],
  };
}

/** The topology with the control planes that also run workloads, from the hosts' roles as written. */
function planTopology(topology: Topology | undefined, rawHosts: unknown): PlanTopology | null {
  if (!topology) return null;
  const roles = new Map<string, unknown>();
  if (Array.isArray(rawHosts)) for (const h of rawHosts as { name?: unknown; roles?: unknown }[]) roles.set(String(h?.name), h?.roles);
  const controlPlaneWorkers = topology.controlPlanes.filter((n) => {
    const r = roles.get(n);
    return Array.isArray(r) && r.includes("worker");
  });
  return { ...topology, controlPlaneWorkers };
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
export async function runPlan(given: StackConfig): Promise<PlanRun> {
  const { stack, findings: keyFindings } = withoutKeyRequirement(given);
  const raw = rawConfigOf(stack);
  const analysis = analyze(raw);
  const findings = [...keyFindings, ...analysis.findings];
  const topology = planTopology(analysis.topology, raw.hosts);
  const errors = findings.some((f) => f.severity === "error");
  if (errors || !analysis.spec) {
    return { plan: { findings, topology, resources: [], outputs: {} }, recorded: [], waits: [], exitCode: 2 };
  }
  const program = () => {
    clearReasons();
    return main();
  };
  const { resources, exportedOutputs } = await evaluate({ config: stack.config, secretKeys: stack.secretKeys, program });
  const waits = await resolveWaits(recordedReasons(), resources);
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
    plan: {
      findings,
      topology,
      resources: planned,
      outputs: (exportedOutputs ?? {}) as Record<string, unknown>,
      ...(analysis.upgrade ? { upgrade: analysis.upgrade } : {}),
    },
    recorded: resources,
    waits,
    exitCode: 0,
  };
}
