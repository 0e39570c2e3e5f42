import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { analyze } from "./analysis";
import { Cluster } from "./cluster";
import { formatFindings, hasErrors, type RawConfig } from "./config";
import { sshPrivateKeyShape } from "./config/ssh-key";

export const CONFIG_NAMESPACE = "baremetal-k8s";

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
    previousTopology: readStructured(cfg, "previousTopology"),
    sshPrivateKeySet: cfg.getSecret("sshPrivateKey") !== undefined,
    // Classified here, so the key text itself never enters validation.
    sshPrivateKey: sshPrivateKeyShape(cfg.get("sshPrivateKey"), isConfigSecret(`${CONFIG_NAMESPACE}:sshPrivateKey`)),
    configKeys,
    secretKeys: configKeys.filter(isConfigSecret),
  };
}

/**
 * The program: read and check the stack config, then build the cluster. A config
 * with an error finding stops here with every finding listed, before any
 * resource is registered.
 */
export function main() {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const analysis = analyze(readRawConfig(cfg));
  for (const f of analysis.findings.filter((x) => x.severity === "warning")) {
    // Logging is fire-and-forget: the engine orders log lines itself.
    void pulumi.log.warn(`${f.path}: ${f.message}`);
  }
  if (hasErrors(analysis.findings) || !analysis.spec || !analysis.topology) {
    throw new pulumi.RunError(`the stack config has problems; nothing was changed:\n${formatFindings(analysis.findings)}`);
  }
  const { spec, topology } = analysis;
  const cluster = new Cluster(spec.cluster.name, { spec, topology, sshPrivateKey: cfg.requireSecret("sshPrivateKey") });
  return {
    kubeconfig: cluster.controlPlane.kubeconfig,
    apiEndpoint: cluster.apiEndpoint,
    leader: topology.leader,
    controlPlanes: topology.controlPlanes,
    workers: topology.workers,
    etcdVoters: topology.etcdVoters,
    faultTolerance: topology.faultTolerance,
    // Given back as previousTopology (plan --previous) to catch changes that could lose data.
    storageFootprint: analysis.footprint ?? {},
  };
}
