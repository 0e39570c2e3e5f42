import { type Finding, error } from "./findings";

/**
 * Day-two keys: `cluster.etcdBackup` (a systemd timer on every control plane) and `cluster.certificates`
 * (renewal outside upgrades). The string checks run in the schema; the rules here need more than one value.
 */

/**
 * The characters of systemd's calendar grammar (man systemd.time): weekday names and shorthands (`daily`),
 * digits, `*`, `,` lists, `..` ranges, `/` repetitions, `~` (days from the month's end), `:` and `-`
 * separators, `.` fractions, spaces, and time-zone names (`Europe/Berlin`, `America/New_York`, `Etc/GMT+5`).
 */
const CALENDAR_CHAR = /^[A-Za-z0-9 *,.:/~_+-]$/;
const CALENDAR_MAX = 256;

/**
 * `cluster.etcdBackup.schedule` ends in a timer's `OnCalendar=` line: one line, no unit-file specifier (`%`),
 * no quotes or backslashes, only characters of the calendar grammar. The grammar itself is checked by
 * `systemd-analyze calendar` on the host before the timer is installed (components/day2/render-etcd-backup.ts).
 */
export function calendarProblem(value: string): string | undefined {
  const example = 'e.g. "daily" or "*-*-* 02:30:00" (man systemd.time)';
  if (value.trim() === "") return `is empty: give a systemd OnCalendar expression, ${example}`;
  for (const c of value) {
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f)
      return `contains a line break or control character (U+${code.toString(16).toUpperCase().padStart(4, "0")}): it is written into the OnCalendar= line of a systemd timer; write the expression on one line, ${example}`;
    if (c === "%")
      return `contains "%", which systemd expands as a unit-file specifier in a timer: calendar expressions never need it; write e.g. "*-*-* 00/6:00:00" for every six hours`;
    if (c === '"' || c === "'" || c === "\\")
      return `contains ${c === "\\" ? "a backslash" : "a quote"}: OnCalendar= takes the expression bare; remove it, ${example}`;
    if (!CALENDAR_CHAR.test(c))
      return `contains ${JSON.stringify(c)}, which is not part of systemd's calendar syntax (letters, digits, spaces and * , . : / ~ _ + -); ${example}`;
  }
  if (value !== value.trim()) return `has leading or trailing spaces: write ${JSON.stringify(value.trim())}`;
  if (value.length > CALENDAR_MAX) return `is ${value.length} characters long; a calendar expression needs at most ${CALENDAR_MAX}`;
  return undefined;
}

/** `cluster.certificates.renew` is compared on the hosts and stored there: a short word, no quoting needed anywhere. */
export function renewTokenProblem(value: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/.test(value))
    return `must be 1 to 63 letters, digits and . _ : - starting with a letter or digit (any value: change it to renew again), e.g. "2026-12-05"; got ${JSON.stringify(value)}`;
  return undefined;
}

/** Directories a snapshot must not live in: memory file systems, what kubeadm reset or an etcd restore clears. */
const BACKUP_PATH_REFUSED: { dir: string; why: string }[] = [
  { dir: "/proc", why: "a kernel file system" },
  { dir: "/sys", why: "a kernel file system" },
  { dir: "/dev", why: "device nodes" },
  { dir: "/run", why: "in memory: emptied at every boot" },
  { dir: "/tmp", why: "emptied at boot and by tmpfiles cleaning" },
  { dir: "/var/lib/etcd", why: "etcd's own data directory, which an etcd restore replaces" },
  { dir: "/etc/kubernetes", why: "kubeadm's directory, which kubeadm reset clears" },
];

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** Rules for `cluster.etcdBackup` beyond the shape of each field. */
export function etcdBackupFindings(backup: { path: string } | undefined): Finding[] {
  if (!backup) return [];
  const key = "cluster.etcdBackup.path";
  if (backup.path === "/") return [error(key, 'is "/": give a directory of its own for the snapshots, e.g. /var/backups/etcd')];
  const refused = BACKUP_PATH_REFUSED.find((r) => within(backup.path, r.dir));
  if (refused)
    return [
      error(
        key,
        `${backup.path} is under ${refused.dir} (${refused.why}): snapshots there would not survive when they are needed. Use a directory such as /var/backups/etcd, ideally on a disk of its own (a hosts[].disks entry with use: mount)`,
      ),
    ];
  return [];
}
