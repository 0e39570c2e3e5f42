import { analyze } from "../../components/analysis";
import type { ClusterSpec, HostSpec } from "../../components/config/spec";
import type { Topology } from "../../components/topology";
import { hostIn, loadStack, type TestConfig } from "../harness";

/** The resolved spec and topology of a test config (the example lab by default). */
export function specOf(cfg: TestConfig = loadStack("dev")): { spec: ClusterSpec; topology: Topology; host: (name: string) => HostSpec } {
  const a = analyze({ cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true });
  if (!a.spec || !a.topology) throw new Error(`test config has errors: ${JSON.stringify(a.findings)}`);
  const spec = a.spec;
  return {
    spec,
    topology: a.topology,
    host: (name) => hostIn(spec, name),
  };
}
