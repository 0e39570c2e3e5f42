import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { HostSpec } from "../components/config/spec";
import * as r from "../components/day2/restore/render";
import { remoteScript } from "../components/host/remote-script";
import type { SshResult, SshRunner } from "./ssh";
import type { LoadedStack } from "./stack";

export class RestoreError extends Error {}

export interface RestoreOptions {
  /** `HOST:/path` */
  snapshot: string;
  yes: boolean;
  log: (line: string) => void;
  now?: Date;
  /** Seconds to wait for etcd, then for the API server. */
  etcdWaitS?: number;
  apiWaitS?: number;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (d) => h.update(d))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

/**
 * `npm run etcd-restore`: restores every etcd voter of the stack from one snapshot (see components/day2/restore).
 * Without `yes` it only prints the steps and returns 1. Returns 0 when the API server answers again.
 */
export async function etcdRestore(loaded: LoadedStack, ssh: Pick<SshRunner, "run">, o: RestoreOptions): Promise<number> {
  const { spec, topology } = loaded;
  const src = r.parseSnapshotArg(o.snapshot, spec);
  if ("problem" in src) throw new RestoreError(src.problem);
  const tag = r.restoreTag(o.now ?? new Date());
  const steps = r.describeRestore(spec, topology, src, tag);
  if (!o.yes) {
    o.log(`etcd-restore of stack ${loaded.name} would:`);
    for (const s of steps) o.log(`  ${s}`);
    o.log("Nothing was done. Run again with --yes to do it.");
    return 1;
  }
  o.log(`etcd-restore of stack ${loaded.name} (tag ${tag}):`);
  for (const s of steps) o.log(`  ${s}`);
  const user = spec.cluster.ssh.user;
  const hostOf = (name: string): HostSpec => {
    const h = spec.hosts.find((x) => x.name === name);
    if (!h) throw new RestoreError(`topology names ${name}, which is not a host`);
    return h;
  };
  const run = async (h: HostSpec, script: string, what: string, extra: Parameters<SshRunner["run"]>[2] = {}): Promise<SshResult> => {
    const res = await ssh.run(h, remoteScript(script, user), { timeoutMs: 600_000, ...extra });
    for (const line of res.stderr.split("\n").filter((l) => l.trim() !== "")) o.log(`  ${line}`);
    if (res.unreachable !== undefined) throw new RestoreError(`${h.name} is unreachable during "${what}": ${res.unreachable}`);
    if (res.code !== 0) throw new RestoreError(`${what} failed on ${h.name} (exit ${res.code})`);
    return res;
  };
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bmk8s-restore-"));
  try {
    o.log(`step 1: checking ${src.host.name}:${src.path}`);
    const status = await run(src.host, r.renderSnapshotCheckScript(src.host, src.path), "the snapshot check");
    o.log(`  snapshot status: ${status.stdout.trim()}`);
    const local = path.join(tmp, "snapshot.db");
    await run(src.host, r.renderCatScript(src.path), "copying the snapshot", { stdoutFile: local });
    const sum = await sha256File(local);
    o.log(`  copied here, sha256 ${sum}`);

    o.log("step 2: stopping etcd and the API servers");
    const cps = topology.controlPlanes.map(hostOf);
    const witnesses = topology.witnesses.map(hostOf);
    const places = new Map<string, { data: string; peer: string }>();
    const readPlace = (h: HostSpec, out: string) => {
      const data = /^data=(.+)$/m.exec(out)?.[1];
      const peer = /^peer=(.+)$/m.exec(out)?.[1];
      if (!data || !peer) throw new RestoreError(`${h.name}: the stop step printed no data= and peer=`);
      places.set(h.name, { data, peer });
    };
    await Promise.all([
      ...cps.map(async (h) =>
        readPlace(h, (await run(h, r.renderStopControlPlaneScript(h, tag), "stopping etcd and kube-apiserver")).stdout),
      ),
      ...witnesses.map(async (h) => readPlace(h, (await run(h, r.renderStopWitnessScript(h), "stopping the witness")).stdout)),
    ]);
    const voters: r.VoterPlace[] = topology.etcdVoters.map((name) => {
      const place = places.get(name);
      if (!place) throw new RestoreError(`no data directory known for voter ${name}`);
      return { name, host: hostOf(name), witness: topology.witnesses.includes(name), ...place };
    });
    o.log(`  --initial-cluster ${r.initialCluster(voters)}`);

    o.log("step 3: restoring every voter from the snapshot");
    await Promise.all(
      voters.map((v) => run(v.host, r.renderRestoreMemberScript(v, voters, tag, sum), `restoring ${v.name}`, { stdinFile: local })),
    );

    o.log("step 4: starting etcd on every voter");
    await Promise.all([
      ...cps.map((h) => run(h, r.renderStartControlPlaneScript(h, tag, ["etcd"]), "starting etcd")),
      ...witnesses.map((h) => run(h, r.renderStartWitnessScript(h), "starting the witness")),
    ]);
    await Promise.all(
      voters.map((v) => run(v.host, r.renderWaitEtcdScript(v.host, v.witness, o.etcdWaitS ?? 300), `waiting for etcd on ${v.name}`)),
    );
    o.log("  starting the API servers");
    await Promise.all(cps.map((h) => run(h, r.renderStartControlPlaneScript(h, tag, ["kube-apiserver"]), "starting kube-apiserver")));

    o.log("step 5: waiting for the API server");
    const api = await run(cps[0], r.renderWaitApiScript(cps[0], o.apiWaitS ?? 300), "waiting for the API server");
    o.log(`  nodes: ${api.stdout.trim().split("\n").join(" ")}`);
    o.log(
      `done: etcd restored from ${src.host.name}:${src.path}. The old data directories are kept as <data>.before-restore-${tag}; remove them once the cluster is verified.`,
    );
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
