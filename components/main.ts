import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { analyze } from "./analysis";
import { Cluster } from "./cluster";
import { formatFindings, hasErrors, type RawConfig } from "./config";
import { sshPrivateKeyShape } from "./config/ssh-key";
import { PREVIOUS_OUTPUT_KEYS } from "./topology/removals";

export const CONFIG_NAMESPACE = "baremetal-k8s";

/** The builtin provider's function that returns a stack's outputs: what a StackReference reads. */
const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

/** A structured config value, or the raw string when it is not JSON (validation then says what is wrong). */
function readStructured(cfg: pulumi.Config, key: string): unknown {
  const text = cfg.get(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The SDK's own test for a secret config key (runtime/config.js exports it; its typings leave it out). Unknown: assume secret. */
const isConfigSecret: (key: string) => boolean =
  (runtimeConfig as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret ?? (() => true);

export function readRawConfig(cfg: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): RawConfig {
  const configKeys = Object.keys(pulumi.runtime.allConfig());
  return {
    cluster: readStructured(cfg, "cluster"),
    hosts: readStructured(cfg, "hosts"),
    storage: readStructured(cfg, "storage"),
    ingress: readStructured(cfg, "ingress"),
    previousTopology: readStructured(cfg, "previousTopology"),
    sshPrivateKeySet: cfg.getSecret("sshPrivateKey") !== undefined,
    // Classified here, so the key text itself never enters validation.
    sshPrivateKey: sshPrivateKeyShape(cfg.get("sshPrivateKey"), isConfigSecret(`${CONFIG_NAMESPACE}:sshPrivateKey`)),
    configKeys,
    secretKeys: configKeys.filter(isConfigSecret),
  };
}

/**
 * The names this stack can be read by, most specific first. `organization/project/stack` is how the engine
 * resolves a stack on Pulumi Cloud and on DIY backends in project mode (where the organization is always the
 * literal "organization"). The bare stack name is what legacy DIY state (no projects) accepts; on Pulumi Cloud
 * it would mean the user's default organization, which need not be this stack's, so it is tried only when the
 * organization is unknown or DIY's.
 */
export function ownStackNames(organization: string | undefined, project: string, stack: string): string[] {
  const qualified = organization ? [`${organization}/${project}/${stack}`] : [];
  return organization === undefined || organization === "organization" ? [...qualified, stack] : qualified;
}

export interface OwnOutputs {
  /** The outputs of the stack's last update; undefined for a stack that has none yet. */
  outputs?: Record<string, unknown>;
  /** Set when the outputs could not be read: why, and what the checks against the deployed cluster do then. */
  warning?: string;
}

/**
 * Reads this stack's own outputs from its last update (the engine's builtin `readStackOutputs`, the read
 * behind a StackReference, done as an invoke so that a failure is the program's to handle: a StackReference
 * whose read fails fails the whole update). The outputs are those of the last completed update: the running
 * update replaces them only when the program has finished. A stack that was never deployed has none, which
 * is not an error. Only the keys the checks use are kept: the kubeconfig stays out of the program's memory.
 */
export async function readOwnStackOutputs(): Promise<OwnOutputs> {
  let organization: string | undefined;
  try {
    organization = pulumi.getOrganization();
  } catch {
    organization = undefined; // an engine that names no organization (older CLIs, some DIY setups)
  }
  const failures: string[] = [];
  for (const name of ownStackNames(organization, pulumi.getProject(), pulumi.getStack())) {
    let result: unknown;
    try {
      result = await pulumi.runtime.invoke(READ_STACK_OUTPUTS, { name });
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const outputs = (result as { outputs?: unknown } | undefined)?.outputs;
    if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) return {};
    const kept: Record<string, unknown> = {};
    for (const k of PREVIOUS_OUTPUT_KEYS) {
      const v = (outputs as Record<string, unknown>)[k];
      if (v !== undefined) kept[k] = v;
    }
    return Object.keys(kept).length > 0 ? { outputs: kept } : {};
  }
  return {
    warning: `could not read this stack's previous outputs (${failures.join("; ")}), so the checks against the deployed cluster (leader, roles, etcd voters, storage) are skipped. Give them to the program yourself: pulumi stack output --json > previous.json && pulumi config set baremetal-k8s:previousTopology "$(cat previous.json)"`,
  };
}

/**
 * The program: read and check the stack config (against the stack's own previous outputs, or
 * `previousTopology` when it is set), then build the cluster. A config with an error finding stops here with
 * every finding listed, before any resource is registered.
 */
export async function main() {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const raw = readRawConfig(cfg);
  // previousTopology, when set, wins: it is how an operator compares with something else, or with nothing ({}).
  if (raw.previousTopology === undefined) {
    const own = await readOwnStackOutputs();
    if (own.warning) void pulumi.log.warn(own.warning);
    if (own.outputs) raw.previousTopology = own.outputs;
  }
  const analysis = analyze(raw);
  for (const f of analysis.findings.filter((x) => x.severity === "warning")) {
    // Logging is fire-and-forget: the engine orders log lines itself.
    void pulumi.log.warn(`${f.path}: ${f.message}`);
  }
  if (hasErrors(analysis.findings) || !analysis.spec || !analysis.topology) {
    throw new pulumi.RunError(`the stack config has problems; nothing was changed:\n${formatFindings(analysis.findings)}`);
  }
  const { spec, topology } = analysis;
  const cluster = new Cluster(spec.cluster.name, {
    spec,
    topology,
    sshPrivateKey: cfg.requireSecret("sshPrivateKey"),
    ...(analysis.upgrade ? { upgrade: analysis.upgrade } : {}),
  });
  return {
    kubeconfig: cluster.controlPlane.kubeconfig,
    apiEndpoint: cluster.apiEndpoint,
    // The version this update deploys (during an upgrade, once its last step has finished): the next update compares with it.
    kubernetesVersion: cluster.kubernetesVersion,
    topology: {
      leader: topology.leader,
      controlPlanes: topology.controlPlanes,
      workers: topology.workers,
      etcdVoters: topology.etcdVoters,
      witnesses: topology.witnesses,
      faultTolerance: topology.faultTolerance,
    },
    // The same, flat: what updates before `topology` existed exported, and what `pulumi stack output leader` prints.
    leader: topology.leader,
    controlPlanes: topology.controlPlanes,
    workers: topology.workers,
    etcdVoters: topology.etcdVoters,
    faultTolerance: topology.faultTolerance,
    // Read back by the next update (or plan --previous) to catch changes that could lose data.
    storageFootprint: analysis.footprint ?? {},
  };
}
