/**
 * The contract of the snapshot files the `cluster.etcdBackup` timer writes (components/day2/render-etcd-backup.ts),
 * as `status` reads them: `<path>/etcd-snapshot-<UTC yyyymmddTHHMMSSZ>.db`, complete files only (a snapshot being
 * written ends in `.part`).
 */

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
