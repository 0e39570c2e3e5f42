// Helpers for the host lab tests: a validated spec for lab hosts, and running a rendered script the way
// the program does (remoteScript: `bash -c '<script>'`) over the lab's real SSH.
import { validateConfig, type ClusterSpec } from "../../components/config";
import { remoteScript } from "../../components/host/remote-script";
import type { Lab, SshResult } from "./lab";

export const PREFIX = process.env.LAB_PREFIX ?? "bh";
export const SUBNET = process.env.LAB_SUBNET ?? "10.250.20";

/** The resolved spec of a config for lab hosts (mountpoints and link paths resolved as in the program). */
export function labSpec(hosts: unknown[], storage: unknown = {}): ClusterSpec {
  const { spec, findings } = validateConfig({
    cluster: {
      name: "lab",
      kubernetesVersion: "1.33.4",
      endpoint: { address: `${SUBNET}.100`, keepalived: { enabled: false } },
      ssh: { insecureIgnoreHostKey: true },
    },
    hosts,
    storage,
    sshPrivateKeySet: true,
  });
  if (!spec) throw new Error(`lab config refused: ${JSON.stringify(findings)}`);
  return spec;
}

export { hostIn as hostOf } from "../harness";

/** Runs a rendered script on a lab host as the program would (root: no sudo). */
export function runScript(lab: Lab, host: string, script: string): Promise<SshResult> {
  return lab.ssh(host, remoteScript(script, "root"), { timeoutMs: 120_000 });
}

/** Runs a shell command on a lab host and returns its stdout; fails the test on a non-zero exit. */
export async function sh(lab: Lab, host: string, cmd: string): Promise<string> {
  const r = await lab.ssh(host, cmd);
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}
