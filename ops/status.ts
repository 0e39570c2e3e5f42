import type { HostSpec } from "../components/config/spec";
import { type HostProbes, type ProbeResult, type StatusReport, analyzeStatus, probesFor } from "../components/day2/status/analyze";
import { type ProbeId, probeCommandLine, statusProbes } from "../components/day2/status/probes";
import type { SshRunner } from "./ssh";
import type { LoadedStack } from "./stack";

/** The SSH side of `status`: every host at once, its probes one after another; a host that cannot be reached is reported so. */
export async function probeHosts(
  loaded: LoadedStack,
  ssh: Pick<SshRunner, "run">,
  timeoutMs = 30_000,
): Promise<Record<string, HostProbes>> {
  const probes = statusProbes(loaded.backup?.path);
  const out: Record<string, HostProbes> = {};
  await Promise.all(
    loaded.spec.hosts.map(async (h: HostSpec) => {
      const results: Partial<Record<ProbeId, ProbeResult>> = {};
      for (const probe of probesFor(h, probes)) {
        const r = await ssh.run(h, probeCommandLine(probe, loaded.spec.cluster.ssh.user), { timeoutMs });
        if (r.unreachable !== undefined) {
          out[h.name] = { reachable: false, reason: r.unreachable };
          return;
        }
        results[probe.id] = { code: r.code, stdout: r.stdout, stderr: r.stderr };
      }
      out[h.name] = { reachable: true, results };
    }),
  );
  return out;
}

export async function collectStatus(loaded: LoadedStack, ssh: Pick<SshRunner, "run">, now = () => new Date()): Promise<StatusReport> {
  const probed = await probeHosts(loaded, ssh);
  return analyzeStatus(loaded.spec, loaded.topology, loaded.backup, probed, now());
}
