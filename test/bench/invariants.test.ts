import { describe, expect, it } from "vitest";
import { criticalPath } from "../../bench/graph";
import { difference } from "../../bench/compare";
import { type SyntheticHost, syntheticHostKey, syntheticInventory } from "../../bench/inventory";
import { baseStack, evaluateProgram, measureBlastRadius, measureNoop } from "../../bench/measure";
import type { RecordedResource } from "../../plan/evaluate";

/**
 * The benchmark's invariants at small sizes (not timings): what `npm run
 * bench` reports at 50 and 250 hosts must already hold here.
 */
const HOSTS = 8;

/**
 * Resources known to break an invariant today, each with its cause. The
 * tests require exactly these offenders among the resources the program
 * registers: a new one fails, and so does a fixed one (delete its entry
 * then). `npm run bench` reports the true counts.
 */
const KNOWN_VIOLATIONS: { addWorker: string[]; removeWorker: string[] } = {
  addWorker: [],
  removeWorker: [],
};

/** The known offenders among the resources registered (a component not merged yet registers none). */
function known(list: string[], registered: RecordedResource[]): string[] {
  return list.filter((n) => registered.some((r) => r.name === n)).sort();
}

/** A Helm release or chart of Longhorn: the one resource a replica-count change may touch. */
function isLonghornRelease(r: Pick<RecordedResource, "type" | "name" | "plainInputs">): boolean {
  return (
    r.type.startsWith("kubernetes:helm.sh/") &&
    (r.name.includes("longhorn") || JSON.stringify(r.plainInputs.chart ?? "").includes("longhorn"))
  );
}

describe("benchmark invariants", () => {
  let blast: ReturnType<typeof measureBlastRadius> | undefined;
  const blastRadius = () => (blast ??= measureBlastRadius(HOSTS));
  let base: Promise<RecordedResource[]> | undefined;
  const before = () => (base ??= evaluateProgram(syntheticInventory(baseStack(), HOSTS)));

  it(`adding a worker to a ${HOSTS}-host inventory changes no existing resource`, async () => {
    const b = await blastRadius();
    expect(b.addWorker.added.length).toBeGreaterThan(0);
    expect(b.addWorker.removed).toEqual([]);
    expect(b.addWorker.changed).toEqual(known(KNOWN_VIOLATIONS.addWorker, await before()));
  });

  it("adding a host with a Ceph disk touches exactly Rook's CephCluster release, which lists its OSD hosts by design", async () => {
    const cfg = syntheticInventory(baseStack(), HOSTS);
    const hosts = structuredClone(cfg.hosts) as SyntheticHost[];
    const extra = structuredClone(hosts.at(-1)) as SyntheticHost;
    Object.assign(extra, { name: "w-ceph", address: "192.168.30.10", hostKey: syntheticHostKey("w-ceph") });
    extra.disks = [{ name: "osd0", device: "/dev/disk/by-id/ata-EXTRA_CEPH0", use: "ceph" }];
    const d = difference(await before(), await evaluateProgram({ ...cfg, hosts: [...hosts, extra] }));
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual(["rook-ceph-cluster"]);
  });

  it("removing the worker in the middle of the list touches only that worker's resources", async () => {
    const b = await blastRadius();
    expect(b.removeWorker.removedHost).toBe("w-3");
    expect(b.removeWorker.removed).toEqual([]);
    expect(b.removeWorker.changed).toEqual(known(KNOWN_VIOLATIONS.removeWorker, await before()));
  });

  it("changing Longhorn's replica count touches the Longhorn release and nothing else", async () => {
    const b = await blastRadius();
    const releases = (await before()).filter(isLonghornRelease).map((r) => r.name);
    expect(b.longhornReplicas.removed).toEqual([]);
    expect(b.longhornReplicas.changed.sort()).toEqual(releases.sort());
  });

  it("evaluating the same config twice gives byte-identical inputs for every resource", async () => {
    const n = await measureNoop(HOSTS);
    expect(n.differing).toEqual([]);
    expect(n.identical).toBe(1);
    expect(n.resources).toBeGreaterThan(HOSTS);
  });

  it("the longest chain of remote steps does not grow as workers are added", async () => {
    const chains: Record<number, number> = {};
    for (const n of [3, 4, 7]) chains[n] = criticalPath(await evaluateProgram(syntheticInventory(baseStack(), n))).longestChain;
    expect(chains[4]).toBeLessThanOrEqual(chains[3]);
    expect(chains[7]).toBeLessThanOrEqual(chains[3]);
  });
});
