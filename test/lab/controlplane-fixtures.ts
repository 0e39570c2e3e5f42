import type { Lab } from "./lab";
import type { TestConfig } from "../harness";
import { TEST_SSH_KEY } from "../harness";

/** This engineer's lab slot (BRIEF: control plane uses prefix bc and 10.250.30.0/24). */
export const PREFIX = process.env.LAB_PREFIX ?? "bc";
export const SUBNET = process.env.LAB_SUBNET ?? "10.250.30";
export const VIP = `${SUBNET}.100`;

/** A stack config for the lab's hosts: the given roles per host name, keepalived on eth0 holding VIP. */
export function labConfig(lab: Lab, roles: Record<string, string[]>): TestConfig {
  return {
    cluster: {
      name: "lab",
      kubernetesVersion: "1.33.4",
      endpoint: { address: VIP, port: 6443, keepalived: { enabled: true, interface: "eth0", virtualRouterId: 51 } },
      networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", cni: "none" },
      faultTolerance: 1,
    },
    hosts: lab.hosts.map((h) => ({ name: h.name, address: h.address, hostKey: h.hostKey, roles: roles[h.name] ?? ["worker"] })),
    sshPrivateKey: TEST_SSH_KEY,
  };
}

/** Polls `probe` every 50 ms until it returns a value; the value and the seconds it took. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutS: number): Promise<{ value: T; seconds: number }> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return { value: v, seconds: (Date.now() - start) / 1000 };
    if (Date.now() - start > timeoutS * 1000) throw new Error(`timed out after ${timeoutS} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
