import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { probeCommandLine, statusProbes } from "../../components/day2/status/probes";

/**
 * `npm run status` is read-only: these are all the commands it sends, and every simple command in them is a
 * program (and subcommand) that only reads, with no redirection except to /dev/null or stderr.
 */
const READ_ONLY: RegExp[] = [
  /^date -u \+%s$/,
  /^kubelet --version$/,
  /^kubeadm version -o short$/,
  /^kubeadm certs check-expiration -o json$/,
  /^systemctl is-active kubelet$/,
  /^ip -o addr show$/,
  /^ls -1A -- '[^']*'$/,
  /^kubectl --kubeconfig \/etc\/kubernetes\/admin\.conf --request-timeout=10s get nodes -o json$/,
  /^ETCDCTL_API=3 "\$ctl" --endpoints=https:\/\/127\.0\.0\.1:2379 (--[a-z-]+=\S+ )+(member list -w simple|endpoint health --cluster -w json|endpoint status --cluster -w json)$/,
  // the etcdctl finder: variable tests and assignments, pgrep, command -v, echo to stderr, exit
  /^ctl=''$/,
  /^for p in \$\(pgrep -x etcd 2>\/dev\/null\); do if \[ -x \/proc\/\$p\/root\/usr\/local\/bin\/etcdctl \]; then ctl=\/proc\/\$p\/root\/usr\/local\/bin\/etcdctl; break; fi; done$/,
  /^if \[ -z "\$ctl" \] && \[ -x \/usr\/local\/lib\/etcd-witness\/etcdctl \]; then ctl=\/usr\/local\/lib\/etcd-witness\/etcdctl; fi$/,
  /^if \[ -z "\$ctl" \] && command -v etcdctl >\/dev\/null 2>&1; then ctl=\$\(command -v etcdctl\); fi$/,
  /^if \[ -z "\$ctl" \]; then echo "[^"]*" >&2; exit 127; fi$/,
  /^echo "etcdctl: \$ctl" >&2$/,
];

const WRITE_WORDS =
  /\b(rm|mv|cp|tee|dd|install|mkdir|touch|chmod|chown|ln|truncate|kill|pkill|reboot|shutdown|apply|create|delete|patch|edit|replace|label|annotate|drain|cordon|uncordon|renew|reset|init|join|upgrade|put|del|defrag|compact|snapshot|restore|add|remove|promote|move-leader|start|stop|restart|enable|disable|mask|sed|awk|exec)\b/;

describe("status probes are read-only", () => {
  const probes = statusProbes("/var/backups/etcd");

  it("every line of every probe is one of the read-only commands", () => {
    for (const p of probes) {
      for (const line of p.command.split("\n")) {
        expect(
          READ_ONLY.some((r) => r.test(line)),
          `${p.id}: ${line}`,
        ).toBe(true);
      }
    }
  });

  it("no probe names a writing program or subcommand, nor redirects output to a file", () => {
    for (const p of probes) {
      const text = p.command.replace(/"[^"]*" >&2/g, '"" >&2'); // the finder's message text
      expect(WRITE_WORDS.exec(text)?.[0], p.id).toBeUndefined();
      for (const redirect of text.match(/\d?>+&?[^\s);]*/g) ?? [])
        expect(["2>/dev/null", ">/dev/null", "2>&1", ">&2"], p.id).toContain(redirect);
    }
  });

  it("the list is fixed: the same probes for any stack, the backup path quoted as one word", () => {
    expect(probes.map((p) => `${p.id}@${p.scope}`)).toEqual([
      "time@all",
      "kubelet-version@node",
      "kubeadm-version@node",
      "kubelet-active@node",
      "addresses@all",
      "certs@control-plane",
      "etcd-members@control-plane",
      "etcd-health@control-plane",
      "etcd-status@control-plane",
      "nodes@control-plane",
      "backups@control-plane",
    ]);
    expect(statusProbes().map((p) => p.id)).not.toContain("backups");
    expect(statusProbes("/srv/etcd backups").find((p) => p.id === "backups")?.command).toBe("ls -1A -- '/srv/etcd backups'");
  });

  it("each probe is valid bash; a non-root user goes through sudo -n", () => {
    for (const p of probes) {
      const r = spawnSync("bash", ["-n", "-c", p.command], { encoding: "utf8" });
      expect(r.status, `${p.id}: ${r.stderr}`).toBe(0);
    }
    expect(probeCommandLine(probes[0], "root")).toBe("bash -c 'export LC_ALL=C\ndate -u +%s'");
    expect(probeCommandLine(probes[0], "ops")).toMatch(/^sudo -n bash -c '/);
  });

  it("the test would see a write: a probe list with one fails the check", () => {
    const tampered = [...probes, { id: "time" as const, scope: "all" as const, command: "rm -rf /var/lib/etcd" }];
    const bad = tampered.filter((p) => p.command.split("\n").some((line) => !READ_ONLY.some((r) => r.test(line))));
    expect(bad.map((p) => p.command)).toEqual(["rm -rf /var/lib/etcd"]);
  });
});
