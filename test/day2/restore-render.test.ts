import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import * as r from "../../components/day2/restore/render";
import { specOf } from "../controlplane/fixtures";

const { spec, topology, host } = specOf();
const TAG = "20261205T093000Z";
const voters: r.VoterPlace[] = [
  { name: "cp-1", host: host("cp-1"), witness: false, data: "/var/lib/etcd", peer: "https://192.168.10.11:2380" },
  { name: "cp-2", host: host("cp-2"), witness: false, data: "/var/lib/etcd", peer: "https://192.168.10.12:2380" },
  { name: "w-1", host: host("w-1"), witness: true, data: "/var/lib/etcd-witness", peer: "https://192.168.10.21:2380" },
];
const SUM = "a".repeat(64);

describe("etcd restore scripts", () => {
  it("every script is valid bash", () => {
    for (const s of [
      r.renderSnapshotCheckScript(host("cp-1"), "/var/backups/etcd/etcd-snapshot-20261205T000000Z.db"),
      r.renderCatScript("/var/backups/etcd/x.db"),
      r.renderStopControlPlaneScript(host("cp-1"), TAG),
      r.renderStopWitnessScript(host("w-1")),
      r.renderRestoreMemberScript(voters[0], voters, TAG, SUM),
      r.renderRestoreMemberScript(voters[2], voters, TAG, SUM),
      r.renderStartControlPlaneScript(host("cp-1"), TAG, ["etcd"]),
      r.renderStartWitnessScript(host("w-1")),
      r.renderWaitEtcdScript(host("cp-1"), false, 60),
      r.renderWaitApiScript(host("cp-1"), 60),
    ]) {
      const res = spawnSync("bash", ["-n"], { input: s, encoding: "utf8" });
      expect(res.status, `${res.stderr}\n${s}`).toBe(0);
    }
  });

  it("restores each voter with its own name and peer URL and the whole --initial-cluster, keeping the old data", () => {
    expect(r.initialCluster(voters)).toBe("cp-1=https://192.168.10.11:2380,cp-2=https://192.168.10.12:2380,w-1=https://192.168.10.21:2380");
    const s = r.renderRestoreMemberScript(voters[2], voters, TAG, SUM);
    expect(s).toContain("name='w-1'");
    expect(s).toContain("peer='https://192.168.10.21:2380'");
    expect(s).toContain("data='/var/lib/etcd-witness'");
    expect(s).toContain(`initial='${r.initialCluster(voters)}'`);
    expect(s).toContain('kept="$data.before-restore-$tag"');
    expect(s).toContain('mv -T "$data" "$kept"');
    // nothing of a member's data is ever deleted: only the restore's own half-made directory
    expect(s.match(/rm -rf [^\n]*/g)).toEqual(['rm -rf "$work"\' EXIT', 'rm -rf "$restored"']);
  });

  it("refuses what it cannot quote safely", () => {
    expect(() => r.renderStopControlPlaneScript(host("cp-1"), "now")).toThrow(/yyyymmddTHHMMSSZ/);
    expect(() => r.renderRestoreMemberScript(voters[0], [{ ...voters[0], peer: "https://x:2380;id" }], TAG, SUM)).toThrow(/is not a URL/);
    expect(() => r.renderRestoreMemberScript(voters[0], voters, TAG, "x")).toThrow(/sha256/);
    expect(r.parseSnapshotArg("cp-9:/a.db", spec)).toEqual({
      problem: "--snapshot cp-9:/a.db: cp-9 is not a host of the stack (cp-1, cp-2, w-1, w-2, w-3, w-4)",
    });
    expect(r.parseSnapshotArg("cp-1:/a/../b.db", spec)).toHaveProperty("problem");
    expect(r.parseSnapshotArg("cp-1:/x/$(id).db", spec)).toHaveProperty("problem");
    expect(r.parseSnapshotArg("/a.db", spec)).toHaveProperty("problem");
    expect(r.parseSnapshotArg("cp-2:/var/backups/etcd/etcd-snapshot-20261205T000000Z.db", spec)).toMatchObject({
      host: { name: "cp-2" },
      path: "/var/backups/etcd/etcd-snapshot-20261205T000000Z.db",
    });
  });

  it("says what it would do, voters including the witness", () => {
    const steps = r.describeRestore(spec, topology, { host: host("cp-1"), path: "/s.db" }, TAG).join("\n");
    expect(steps).toContain(
      "stop the static pods etcd and kube-apiserver on cp-1, cp-2 (manifests moved to /etc/kubernetes/etcd-restore-20261205T093000Z); stop etcd-witness.service on w-1",
    );
    expect(steps).toContain("etcdutl snapshot restore on every voter (cp-1, cp-2, w-1)");
  });
});
