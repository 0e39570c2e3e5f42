import { describe, expect, it } from "vitest";
import { readEtcdBackup, snapshotName, snapshotTime, staleAfterSeconds } from "../../components/day2/etcd-backup";

describe("the etcd snapshot contract of cluster.etcdBackup", () => {
  it("names a snapshot by its UTC time and reads the time back; .part and foreign names are no snapshot", () => {
    const t = new Date("2026-12-05T02:30:07.123Z");
    expect(snapshotName(t)).toBe("etcd-snapshot-20261205T023007Z.db");
    expect(snapshotTime("etcd-snapshot-20261205T023007Z.db")?.toISOString()).toBe("2026-12-05T02:30:07.000Z");
    expect(snapshotTime("etcd-snapshot-20261205T023007Z.db.part")).toBeUndefined();
    expect(snapshotTime("etcd-snapshot-20261345T023007Z.db")).toBeUndefined();
    expect(snapshotTime("snapshot.db")).toBeUndefined();
  });

  it("stale after twice a simple schedule, else 2 days", () => {
    expect(staleAfterSeconds("daily")).toEqual({ seconds: 172800, why: "twice the daily schedule" });
    expect(staleAfterSeconds("hourly").seconds).toBe(7200);
    expect(staleAfterSeconds("*-*-* 03:00:00").seconds).toBe(172800);
    expect(staleAfterSeconds("*:15").seconds).toBe(7200);
    expect(staleAfterSeconds("Mon,Thu *-*-* 02:00")).toEqual({
      seconds: 172800,
      why: '2 days (the schedule "Mon,Thu *-*-* 02:00" is not a simple hourly or daily one)',
    });
  });

  it("reads cluster.etcdBackup with its defaults and refuses a path that is not plain", () => {
    expect(readEtcdBackup({ name: "x" })).toEqual({});
    expect(readEtcdBackup({ etcdBackup: {} })).toEqual({ settings: { schedule: "daily", keep: 7, path: "/var/backups/etcd" } });
    expect(readEtcdBackup({ etcdBackup: { schedule: "hourly", keep: 3, path: "/srv/etcd/" } })).toEqual({
      settings: { schedule: "hourly", keep: 3, path: "/srv/etcd" },
    });
    for (const path of ["relative", "/a/../b", "/a b", "/x;rm -rf /", "/$(id)"])
      expect(readEtcdBackup({ etcdBackup: { path } }).problem).toMatch(/^cluster\.etcdBackup\.path: must be an absolute path/);
    expect(readEtcdBackup({ etcdBackup: { keep: 0 } }).problem).toMatch(/^cluster\.etcdBackup\.keep/);
  });
});
