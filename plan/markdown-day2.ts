import type { Plan } from "./plan";

/** What the rendered install script of a `<cp>-etcd-backup` step says: the timer's schedule, keep and path. */
function backupSettings(create: unknown): string {
  if (typeof create !== "string") return "";
  const schedule = /\nOnCalendar=([^\n]*)/.exec(create)?.[1];
  const keep = /\nkeep=(\d+)/.exec(create)?.[1];
  // The path is shell-quoted inside the step's `bash -c '...'`: its quotes appear as '\''.
  const path = /\ndir=(?:'\\'')?'?([^'\\\n]+)/.exec(create)?.[1];
  return schedule && keep && path ? `: \`${schedule}\`, newest ${keep} kept in ${path}` : "";
}

/**
 * The day-two section: each control plane's etcd backup timer (`<cp>-etcd-backup`) and the certificate
 * renewal order (`<cp>-certs-renew`, one control plane at a time), as the graph has them.
 */
export function renderDayTwo(plan: Plan): string[] {
  const steps = plan.resources.filter((r) => r.type === "command:remote:Command");
  const backups = steps.filter((r) => r.name.endsWith("-etcd-backup"));
  const renewals = steps.filter((r) => r.name.endsWith("-certs-renew"));
  if (backups.length === 0 && renewals.length === 0) return [];
  const lines = ["## Day two", ""];
  if (backups.length) {
    lines.push("etcd snapshots (`cluster.etcdBackup`), a systemd timer on each control plane:", "");
    for (const b of backups) lines.push(`- ${b.host ?? b.name} (\`${b.name}\`)${backupSettings(b.inputs.create)}`);
    lines.push("");
  }
  if (renewals.length) {
    lines.push(
      "Certificate renewal (`cluster.certificates.renew`), one control plane at a time, each healthy again before the next (runs only when the value changed; on certificates less than a day old it only records the value):",
      "",
    );
    renewals.forEach((r, i) => lines.push(`${i + 1}. ${r.host ?? r.name} (\`${r.name}\`)`));
    lines.push("");
  }
  return lines;
}
