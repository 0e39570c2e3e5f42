/**
 * What `status` and `etcd-restore` read of `cluster.etcdBackup` (issue 13, point 6: the timer itself is built
 * by the day-two steps), and the contract of the snapshot files that timer writes:
 * `<path>/etcd-snapshot-<UTC yyyymmddTHHMMSSZ>.db`, complete files only (a snapshot being written ends in `.part`).
 */
export interface EtcdBackupSettings {
  schedule: string;
  keep: number;
  path: string;
}

export const DEFAULT_BACKUP_PATH = "/var/backups/etcd";

const SNAPSHOT_NAME = /^etcd-snapshot-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$/;

/** The UTC time a snapshot file name records, or undefined for any other name (a `.part`, a foreign file). */
export function snapshotTime(fileName: string): Date | undefined {
  const m = SNAPSHOT_NAME.exec(fileName);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // 20261332T...: Date.UTC rolls over; such a name is not one the timer wrote.
  return t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h ? t : undefined;
}

/** The file name the backup timer gives a snapshot taken at `t`. */
export function snapshotName(t: Date): string {
  return `etcd-snapshot-${t
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}.db`;
}

/**
 * How old the newest snapshot may be before it is stale: twice the interval of a simple schedule
 * (systemd's `hourly`/`daily`/`weekly` shorthands, or `*-*-* HH:MM[:SS]` = daily, `*-*-* *:MM[:SS]` = hourly),
 * otherwise 2 days, since an arbitrary OnCalendar expression has no single interval.
 */
export function staleAfterSeconds(schedule: string): { seconds: number; why: string } {
  const s = schedule.trim();
  const simple: Record<string, number> = { minutely: 60, hourly: 3600, daily: 86400, weekly: 7 * 86400 };
  if (s in simple) return { seconds: 2 * simple[s], why: `twice the ${s} schedule` };
  if (/^(\*-\*-\*\s+)?\d{1,2}:\d{2}(:\d{2})?$/.test(s)) return { seconds: 2 * 86400, why: "twice the daily schedule" };
  if (/^(\*-\*-\*\s+)?\*:\d{2}(:\d{2})?$/.test(s)) return { seconds: 2 * 3600, why: "twice the hourly schedule" };
  return { seconds: 2 * 86400, why: `2 days (the schedule "${s}" is not a simple hourly or daily one)` };
}

/** A path that can stand in a shell word and a systemd unit unquoted-safe: absolute, plain characters, no `..`. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;

/**
 * `cluster.etcdBackup` from the raw `cluster` value, checked for what these commands do with it (the path goes
 * into a shell command). Undefined when the stack has no `cluster.etcdBackup`.
 */
export function readEtcdBackup(rawCluster: unknown): { settings?: EtcdBackupSettings; problem?: string } {
  if (rawCluster === null || typeof rawCluster !== "object" || !("etcdBackup" in rawCluster)) return {};
  const b = rawCluster.etcdBackup;
  if (b === null || b === undefined) return {};
  if (typeof b !== "object" || Array.isArray(b)) return { problem: "cluster.etcdBackup: must be a map with schedule, keep and path" };
  const { schedule = "daily", keep = 7, path = DEFAULT_BACKUP_PATH } = b as Record<string, unknown>;
  if (typeof schedule !== "string" || schedule.trim() === "")
    return { problem: "cluster.etcdBackup.schedule: must be a systemd OnCalendar expression such as daily" };
  if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 1)
    return { problem: "cluster.etcdBackup.keep: must be a whole number >= 1" };
  if (typeof path !== "string" || !SAFE_PATH.test(path) || path.split("/").includes(".."))
    return {
      problem: `cluster.etcdBackup.path: must be an absolute path of letters, digits and . _ - / without "..", e.g. ${DEFAULT_BACKUP_PATH}`,
    };
  return { settings: { schedule, keep, path: path.length > 1 ? path.replace(/\/+$/, "") : path } };
}
