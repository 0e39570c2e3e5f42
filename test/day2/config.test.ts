// cluster.etcdBackup and cluster.certificates (issue 13, points 6 and 9): every field checked for where it ends up.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config";
import { calendarProblem } from "../../components/config/rules-day2";
import { loadStack } from "../harness";
import { have } from "../controlplane/shell";

const dev = loadStack("dev");
const withCluster = (extra: Record<string, unknown>) =>
  validateConfig({ cluster: { ...(dev.cluster as object), ...extra }, hosts: dev.hosts, storage: dev.storage, sshPrivateKeySet: true });
const backup = (b: Record<string, unknown>) => withCluster({ etcdBackup: { schedule: "daily", keep: 7, path: "/var/backups/etcd", ...b } });
const errorsOf = (r: ReturnType<typeof validateConfig>) => r.findings.filter((f) => f.severity === "error").map((f) => [f.path, f.message]);

describe("cluster.etcdBackup", () => {
  it("absent: no backup in the spec; given: exactly what CONFIG.md names", () => {
    expect(withCluster({}).spec?.cluster.etcdBackup).toBeUndefined();
    expect(backup({}).spec?.cluster.etcdBackup).toEqual({ schedule: "daily", keep: 7, path: "/var/backups/etcd" });
    expect(errorsOf(backup({}))).toEqual([]);
  });

  it("requires all three fields and refuses unknown ones, naming the key", () => {
    const r = withCluster({ etcdBackup: { schedule: "daily" } });
    expect(errorsOf(r).map(([p]) => p)).toEqual(["cluster.etcdBackup.keep", "cluster.etcdBackup.path"]);
    expect(errorsOf(withCluster({ etcdBackup: { schedule: "daily", keep: 1, path: "/b", retention: 3 } }))[0][0]).toContain(
      "cluster.etcdBackup",
    );
  });

  it.each([
    ["a line break", "daily\nExecStart=/bin/sh", "line break"],
    ["a control character", "daily\u0007", "control character"],
    ["a specifier", "*-*-* %H:00", "specifier"],
    ["a double quote", '"daily"', "quote"],
    ["a single quote", "'daily'", "quote"],
    ["a backslash", "daily\\", "backslash"],
    ["a shell character", "daily; rm -rf /", '";"'],
    ["a dollar", "$(reboot)", '"$"'],
    ["nothing", "", "is empty"],
    ["spaces around", " daily", "leading or trailing"],
  ])("refuses a schedule with %s, saying what to write", (_what, schedule, says) => {
    const e = errorsOf(backup({ schedule }));
    expect(e.map(([p]) => p)).toEqual(["cluster.etcdBackup.schedule"]);
    expect(e[0][1]).toContain(says);
    expect(e[0][1]).toMatch(/e\.g\.|write/);
  });

  it.each([0, -1, 1001, 2.5, "7"])("refuses keep %j: a whole number from 1 to 1000", (keep) => {
    const e = errorsOf(backup({ keep }));
    expect(e.map(([p]) => p)).toEqual(["cluster.etcdBackup.keep"]);
  });
  it("accepts keep 1 and 1000", () => {
    expect(errorsOf(backup({ keep: 1 }))).toEqual([]);
    expect(errorsOf(backup({ keep: 1000 }))).toEqual([]);
  });

  it.each([
    ["relative", "backups/etcd", "absolute"],
    ["not normalised", "/var/backups/../etcd", "normalised"],
    ["with a space", "/var/back ups", "space"],
    ["with a quote", "/var/back'ups", "quote"],
    ["the root", "/", "directory of its own"],
    ["in memory", "/run/etcd-backups", "/run"],
    ["in /tmp", "/tmp/etcd", "/tmp"],
    ["in etcd's data directory", "/var/lib/etcd/backups", "etcd restore replaces"],
    ["in kubeadm's directory", "/etc/kubernetes/backup", "kubeadm reset"],
  ])("refuses a path %s", (_what, path, says) => {
    const e = errorsOf(backup({ path }));
    expect(e.map(([p]) => p)).toEqual(["cluster.etcdBackup.path"]);
    expect(e[0][1]).toContain(says);
  });
});

/** Schedules the character rule lets through, each of which the real systemd accepts. */
const ACCEPTED = [
  "daily",
  "hourly",
  "weekly",
  "*-*-* 02:30:00",
  "Mon..Fri *-*-* 00/6:00:00",
  "Sat,Sun 03:15",
  "*-*-1 04:00 UTC",
  "*-*~1 23:00",
  "*:0/15",
  "2026-12-05 10:00:00 Europe/Berlin",
  "*-*-* 01:00:00.5 America/New_York",
];

describe("cluster.etcdBackup.schedule against the real systemd", () => {
  const real = have("systemd-analyze");
  it.skipIf(!real)(
    `every schedule the rule accepts here, systemd-analyze calendar accepts${real ? "" : " (skipped: no systemd-analyze on this machine)"}`,
    () => {
      for (const s of ACCEPTED) {
        expect(calendarProblem(s), s).toBeUndefined();
        const r = spawnSync("systemd-analyze", ["calendar", s], { encoding: "utf8" });
        expect(r.status, `${s}: ${r.stderr}`).toBe(0);
      }
    },
  );
  it.skipIf(!real)(
    "a schedule of grammar characters that is not a calendar passes the rule and is refused by systemd, which the host step runs first",
    () => {
      expect(calendarProblem("every day")).toBeUndefined();
      expect(spawnSync("systemd-analyze", ["calendar", "every day"]).status).not.toBe(0);
    },
  );
});

describe("cluster.certificates", () => {
  it("takes any short token as renew, and refuses one that would need quoting", () => {
    expect(withCluster({ certificates: { renew: "2026-12-05" } }).spec?.cluster.certificates).toEqual({ renew: "2026-12-05" });
    expect(errorsOf(withCluster({ certificates: {} }))).toEqual([]);
    const e = errorsOf(withCluster({ certificates: { renew: "now; reboot" } }));
    expect(e.map(([p]) => p)).toEqual(["cluster.certificates.renew"]);
    expect(e[0][1]).toContain("change it to renew again");
  });
});
