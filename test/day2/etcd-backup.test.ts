import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { snapshotName, snapshotTime, staleAfterSeconds } from "../../components/day2/etcd-backup";
import { PROJECT_DIR, loadStack } from "../../ops/stack";

const tmp = mkdtempSync(path.join(os.tmpdir(), "day2-backup-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The dev example in a project dir of its own, with this cluster.etcdBackup (undefined: none). */
function stackWith(etcdBackup: unknown): string {
  const dir = mkdtempSync(path.join(tmp, "p-"));
  copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  const doc = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
  const cluster = doc.config["baremetal-k8s:cluster"] as Record<string, unknown>;
  if (etcdBackup === undefined) delete cluster.etcdBackup;
  else cluster.etcdBackup = etcdBackup;
  const file = path.join(dir, "Pulumi.backup.yaml");
  writeFileSync(file, stringify(doc));
  return file;
}

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

  it("status and etcd-restore read cluster.etcdBackup through the program's own validation: a bad value is refused naming its key", () => {
    const file = stackWith({ schedule: "hourly", keep: 3, path: "/srv/etcd" });
    expect(loadStack({ stackFile: file, from: tmp }).backup).toEqual({ schedule: "hourly", keep: 3, path: "/srv/etcd" });
    expect(loadStack({ stackFile: stackWith(undefined), from: tmp }).backup).toBeUndefined();
    for (const path of ["relative", "/a/../b", "/a b", "/x;rm -rf /", "/$(id)"])
      expect(() => loadStack({ stackFile: stackWith({ schedule: "daily", keep: 7, path }), from: tmp })).toThrow(
        /cluster\.etcdBackup\.path/,
      );
    expect(() => loadStack({ stackFile: stackWith({ schedule: "daily", keep: 0, path: "/srv/etcd" }), from: tmp })).toThrow(
      /cluster\.etcdBackup\.keep/,
    );
  });
});
