import { type StatusReport, formatAge } from "./analyze";

function cell(s: string | undefined): string {
  return (s ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ") || "-";
}

/** The status report as markdown: hosts, etcd members, certificates, then what needs attention. */
export function renderStatusMarkdown(r: StatusReport, stack: string): string {
  const out: string[] = [];
  const verdict = r.exitCode === 0 ? "all good" : r.exitCode === 1 ? "warnings" : "errors (a host unreachable or a check failed)";
  out.push(`# Status of ${stack} (cluster ${r.cluster})`, "");
  out.push(`Checked ${r.checkedAt}: **${verdict}**. Endpoint ${r.endpoint}, cluster.kubernetesVersion ${r.kubernetesVersion}.`, "");
  out.push("## Hosts", "");
  out.push(
    "| host | roles | reachable | kubelet | kubeadm | kubelet unit | Node Ready | etcd | VIP | newest etcd snapshot | first certificate expiry |",
  );
  out.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const h of r.hosts) {
    if (!h.reachable) {
      out.push(`| ${cell(h.name)} | ${h.roles.join(", ")} | **unreachable**: ${cell(h.unreachable)} | | | | | | | | |`);
      continue;
    }
    const first = [...(h.certificates ?? [])].filter((c) => !c.missing).sort((a, b) => a.daysLeft - b.daysLeft)[0];
    const backup =
      h.newestBackup === undefined
        ? ""
        : h.newestBackup === null
          ? "none"
          : `${h.newestBackup.name} (${formatAge(h.newestBackup.ageSeconds)} old)`;
    out.push(
      `| ${cell(h.name)} | ${h.roles.join(", ")} | yes | ${cell(h.kubeletVersion)} | ${cell(h.kubeadmVersion)} | ${cell(h.kubeletActive)} | ${cell(h.node?.ready)} | ${cell(h.etcdVersion)} | ${h.holdsVip ? "**holds it**" : ""} | ${cell(backup)} | ${first ? `${first.name} ${first.expires.slice(0, 10)} (${first.daysLeft} days)` : "-"} |`,
    );
  }
  out.push("");
  if (r.vip.managed)
    out.push(
      `VIP ${r.endpoint.replace(/:\d+$/, "")}: ${r.vip.holders.length ? `held by ${r.vip.holders.join(", ")}` : "held by no host"}.`,
      "",
    );
  else out.push("The endpoint is not a keepalived VIP of this program (not checked).", "");
  if (r.backup)
    out.push(`etcd backups: ${r.backup.schedule} into ${r.backup.path}; stale after ${formatAge(r.backup.staleAfterSeconds)}.`, "");
  else out.push("etcd backups: cluster.etcdBackup is not set (no scheduled snapshots).", "");
  if (r.etcd) {
    out.push("## etcd members", "");
    out.push(`Voters in the stack: ${r.etcd.expectedVoters.join(", ")}.`, "");
    out.push("| member | id | status | learner | healthy | version | peer URLs |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const m of r.etcd.members)
      out.push(
        `| ${cell(m.name)} | ${m.id} | ${m.status} | ${m.learner ? "yes" : "no"} | ${m.healthy === undefined ? "?" : m.healthy ? "yes" : `**no**: ${cell(m.error)}`} | ${cell(m.version)} | ${cell(m.peerUrls.join(", "))} |`,
      );
    out.push("");
  }
  const certHosts = r.hosts.filter((h) => h.certificates && h.certificates.length > 0);
  if (certHosts.length > 0) {
    out.push("## Certificates", "");
    out.push(`| certificate | ${certHosts.map((h) => cell(h.name)).join(" | ")} |`, `| --- |${certHosts.map(() => " --- |").join("")}`);
    const names = [...new Set(certHosts.flatMap((h) => (h.certificates ?? []).map((c) => c.name)))];
    for (const n of names) {
      out.push(
        `| ${cell(n)} | ${certHosts
          .map((h) => {
            const c = h.certificates?.find((x) => x.name === n);
            return !c ? "-" : c.missing ? "missing" : `${c.expires.slice(0, 10)} (${c.daysLeft} d)`;
          })
          .join(" | ")} |`,
      );
    }
    out.push("");
  }
  out.push("## Needs attention", "");
  if (r.findings.length === 0) out.push("Nothing.");
  for (const f of r.findings) out.push(`- ${f.severity}: ${f.subject}: ${f.message}`);
  out.push("");
  return out.join("\n");
}
