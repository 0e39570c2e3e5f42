import { describe, expect, it } from "vitest";
import { type HostProbes, type ProbeResult, analyzeStatus } from "../../components/day2/status/analyze";
import type { ProbeId } from "../../components/day2/status/probes";
import { renderStatusMarkdown } from "../../components/day2/status/render";
import { snapshotName } from "../../components/day2/etcd-backup";
import { specOf } from "../controlplane/fixtures";

// The example lab (Pulumi.dev.yaml): cp-1, cp-2 control planes, w-1 worker + witness etcd, w-2..w-4 workers,
// VIP 192.168.10.10 by keepalived. Outputs in the formats the real tools print (see status-parse.test.ts for
// outputs captured from the real binaries).
const NOW = new Date("2026-12-05T09:00:00Z");
const DAY = 86_400_000;
const { spec, topology } = specOf();
const addr = (h: string) => spec.hosts.find((x) => x.name === h)?.address ?? "";
const ok = (stdout: string, code = 0, stderr = ""): ProbeResult => ({ code, stdout, stderr });

function certsJson(expires: Date): string {
  const c = (name: string, ca: string) => ({
    name,
    expirationDate: expires.toISOString().replace(/\.\d+Z$/, "Z"),
    residualTime: 1,
    caName: ca,
    externallyManaged: false,
    missing: false,
  });
  return JSON.stringify({
    kind: "CertificateExpirationInfo",
    apiVersion: "output.kubeadm.k8s.io/v1alpha3",
    certificates: [c("admin.conf", "ca"), c("apiserver", "ca"), c("etcd-server", "etcd-ca")],
    certificateAuthorities: [{ ...c("ca", ""), expirationDate: new Date(NOW.getTime() + 3000 * DAY).toISOString() }],
  });
}

interface World {
  down: string[];
  vipOn: string[];
  members: string[];
  unhealthy: string[];
  notReady: string[];
  versions: Record<string, string>;
  certExpires: Date;
  backupAgeMs: number | null;
}

function world(w: Partial<World> = {}): Record<string, HostProbes> {
  const o: World = {
    down: [],
    vipOn: ["cp-1"],
    members: ["cp-1", "cp-2", "w-1"],
    unhealthy: [],
    notReady: [],
    versions: {},
    certExpires: new Date(NOW.getTime() + 300 * DAY),
    backupAgeMs: 3 * 3600_000,
    ...w,
  };
  const v = (h: string) => o.versions[h] ?? "1.33.4";
  const memberList = o.members
    .map((m, i) => `8e9e05c52164694${i}, started, ${m}, https://${addr(m)}:2380, https://${addr(m)}:2379, false`)
    .join("\n");
  const health = JSON.stringify(
    o.members.map((m) => ({
      endpoint: `https://${addr(m)}:2379`,
      health: !o.unhealthy.includes(m),
      took: "1.5ms",
      ...(o.unhealthy.includes(m) ? { error: "context deadline exceeded" } : {}),
    })),
  );
  const status = JSON.stringify(
    o.members.map((m) => ({ Endpoint: `https://${addr(m)}:2379`, Status: { version: "3.5.21", isLearner: false } })),
  );
  const nodes = JSON.stringify({
    kind: "List",
    items: spec.hosts
      .filter((h) => h.roles.includes("control-plane") || h.roles.includes("worker"))
      .map((h) => ({
        metadata: { name: h.name },
        status: {
          conditions: [{ type: "Ready", status: o.notReady.includes(h.name) ? "False" : "True" }],
          nodeInfo: { kubeletVersion: `v${v(h.name)}` },
        },
      })),
  });
  const out: Record<string, HostProbes> = {};
  for (const h of spec.hosts) {
    if (o.down.includes(h.name)) {
      out[h.name] = { reachable: false, reason: "ssh: connect to host port 22: No route to host" };
      continue;
    }
    const r: Partial<Record<ProbeId, ProbeResult>> = {
      time: ok(`${Math.floor(NOW.getTime() / 1000)}\n`),
      "kubelet-version": ok(`Kubernetes v${v(h.name)}\n`),
      "kubeadm-version": ok(`v${v(h.name)}\n`),
      "kubelet-active": ok("active\n"),
      addresses: ok(
        [
          "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
          `2: eth0    inet ${h.address}/24 brd 192.168.10.255 scope global eth0\\       valid_lft forever preferred_lft forever`,
          ...(o.vipOn.includes(h.name)
            ? [`2: eth0    inet ${spec.cluster.endpoint.address}/32 scope global eth0\\       valid_lft forever preferred_lft forever`]
            : []),
          "",
        ].join("\n"),
      ),
    };
    if (h.roles.includes("control-plane")) {
      r.certs = ok(certsJson(o.certExpires));
      r["etcd-members"] = ok(`${memberList}\n`, 0, "etcdctl: /proc/4242/root/usr/local/bin/etcdctl\n");
      r["etcd-health"] = ok(health, o.unhealthy.length ? 1 : 0);
      r["etcd-status"] = ok(status);
      r.nodes = ok(nodes);
      r.backups =
        o.backupAgeMs === null
          ? ok("")
          : ok(
              `${snapshotName(new Date(NOW.getTime() - o.backupAgeMs))}\n${snapshotName(new Date(NOW.getTime() - o.backupAgeMs - DAY))}\netcd-snapshot-20261205T085959Z.db.part\n`,
            );
    }
    out[h.name] = { reachable: true, results: r };
  }
  return out;
}

const backup = { schedule: "daily", keep: 7, path: "/var/backups/etcd" };
const analyze = (w: Partial<World> = {}, b: typeof backup | null = backup) => analyzeStatus(spec, topology, b ?? undefined, world(w), NOW);
const messages = (w: Partial<World>, b: typeof backup | null = backup) =>
  analyze(w, b).findings.map((f) => `${f.severity} ${f.subject}: ${f.message}`);

describe("status: what the report says and its exit code", () => {
  it("a healthy cluster: no finding, exit 0, every fact per host", () => {
    const r = analyze();
    expect(r.findings).toEqual([]);
    expect(r.exitCode).toBe(0);
    const cp1 = r.hosts.find((h) => h.name === "cp-1");
    expect(cp1).toMatchObject({
      reachable: true,
      kubeletVersion: "1.33.4",
      kubeadmVersion: "1.33.4",
      kubeletActive: "active",
      holdsVip: true,
      etcdVersion: "3.5.21",
    });
    expect(cp1?.node).toEqual({ ready: "True", kubeletVersion: "1.33.4" });
    expect(cp1?.newestBackup?.ageSeconds).toBe(3 * 3600);
    expect(cp1?.certificates?.find((c) => c.name === "apiserver")?.daysLeft).toBe(300);
    expect(r.vip.holders).toEqual(["cp-1"]);
    expect(r.etcd?.members.map((m) => `${m.name}:${m.healthy}`)).toEqual(["cp-1:true", "cp-2:true", "w-1:true"]);
    expect(r.hosts.find((h) => h.name === "w-1")?.etcdVersion).toBe("3.5.21");
  });

  it("a certificate expiring within 30 days is a warning (exit 1); 31 days is not", () => {
    expect(messages({ certExpires: new Date(NOW.getTime() + 29.5 * DAY) })).toContain(
      "warning cp-1: certificate apiserver expires in 29 days (2027-01-03T21:00:00.000Z): renew it (kubeadm certs renew, or an upgrade renews them)",
    );
    expect(analyze({ certExpires: new Date(NOW.getTime() + 29.5 * DAY) }).exitCode).toBe(1);
    expect(analyze({ certExpires: new Date(NOW.getTime() + 31 * DAY) }).findings).toEqual([]);
    expect(messages({ certExpires: new Date(NOW.getTime() - DAY) }).some((m) => m.includes("certificate admin.conf has expired"))).toBe(
      true,
    );
  });

  it("a missing certificate is a warning, but not super-admin.conf, which kubeadm writes on the init node only", () => {
    const w = world();
    const cp2 = w["cp-2"];
    if (!cp2.reachable) throw new Error("cp-2 down");
    const doc = JSON.parse(cp2.results.certs?.stdout ?? "{}") as { certificates: { name: string; missing: boolean }[] };
    doc.certificates.push({ name: "super-admin.conf", missing: true }, { name: "front-proxy-client", missing: true });
    cp2.results.certs = ok(JSON.stringify(doc));
    expect(analyzeStatus(spec, topology, backup, w, NOW).findings.map((f) => `${f.subject}: ${f.message}`)).toEqual([
      "cp-2: certificate front-proxy-client is missing",
    ]);
  });

  it("a backup older than twice a daily schedule is stale; none at all is a warning too", () => {
    expect(analyze({ backupAgeMs: 47 * 3600_000 }).findings).toEqual([]);
    expect(messages({ backupAgeMs: 49 * 3600_000 })).toContain(
      "warning cp-1: the newest etcd snapshot etcd-snapshot-20261203T080000Z.db is 2 days old, more than twice the daily schedule: backups are failing",
    );
    expect(messages({ backupAgeMs: 3 * 3600_000 }, { ...backup, schedule: "hourly" })[0]).toMatch(
      /3 h old, more than twice the hourly schedule/,
    );
    expect(messages({ backupAgeMs: null })[0]).toMatch(/^warning cp-1: no etcd snapshot in \/var\/backups\/etcd/);
    // without cluster.etcdBackup there is nothing to be stale
    expect(analyze({ backupAgeMs: null }, null).findings).toEqual([]);
  });

  it("an etcd member missing, unhealthy, or one the stack does not have", () => {
    expect(messages({ members: ["cp-1", "cp-2"] })).toEqual([
      "warning w-1: is an etcd voter in the stack but not an etcd member: etcd has one fault tolerance less than planned (pulumi up adds it)",
    ]);
    expect(messages({ unhealthy: ["cp-2"] })).toEqual(["warning cp-2: etcd member cp-2 is unhealthy: context deadline exceeded"]);
    expect(messages({ members: ["cp-1", "cp-2", "w-1", "w-2"] })[0]).toMatch(
      /^warning w-2: etcd member w-2 \(https:\/\/192\.168\.10\.\d+:2380\) is not a voter of the stack: remove it \(etcdctl member remove 8e9e05c521646943\)/,
    );
  });

  it("no host or two hosts holding the VIP", () => {
    expect(messages({ vipOn: [] })).toEqual([
      "warning cluster: no host holds the VIP 192.168.10.10: the API is not reachable at the endpoint; check keepalived on the control planes",
    ]);
    expect(messages({ vipOn: ["cp-1", "cp-2"] })).toEqual([
      "warning cluster: cp-1 and cp-2 all hold the VIP 192.168.10.10: VRRP between them is broken (split brain)",
    ]);
  });

  it("a NotReady node and version skew", () => {
    expect(messages({ notReady: ["w-3"] })).toEqual(["warning w-3: Node w-3 is NotReady (Ready=False)"]);
    const skew = messages({ versions: { "w-2": "1.32.8" } });
    expect(skew).toContain(
      "warning cluster: version skew among the nodes: 1.33.4 on cp-1, cp-2, w-1, w-3, w-4; 1.32.8 on w-2: finish the upgrade (pulumi up)",
    );
    expect(skew).toContain("warning cluster: cluster.kubernetesVersion is 1.33.4 but w-2 runs 1.32.8: pulumi up rolls it out");
  });

  it("an unreachable host is shown so, the others still reported, exit 2", () => {
    const r = analyze({ down: ["cp-2"], members: ["cp-1", "cp-2", "w-1"], unhealthy: ["cp-2"] });
    expect(r.exitCode).toBe(2);
    expect(r.hosts.find((h) => h.name === "cp-2")).toMatchObject({
      reachable: false,
      unreachable: "ssh: connect to host port 22: No route to host",
    });
    expect(r.hosts.find((h) => h.name === "cp-1")).toMatchObject({ reachable: true, holdsVip: true, kubeletVersion: "1.33.4" });
    expect(r.findings[0]).toEqual({
      severity: "error",
      subject: "cp-2",
      message: "unreachable: ssh: connect to host port 22: No route to host",
    });
    const md = renderStatusMarkdown(r, "dev");
    expect(md).toContain("| cp-2 | control-plane | **unreachable**: ssh: connect to host port 22: No route to host |");
    expect(md).toMatch(
      /\| cp-1 \| control-plane \| yes \| 1\.33\.4 \| 1\.33\.4 \| active \| True \| 3\.5\.21 \| \*\*holds it\*\* \| etcd-snapshot-20261205T060000Z\.db \(3 h old\) \| admin\.conf 2027-10-01 \(300 days\) \|/,
    );
    expect(md).toContain("errors (a host unreachable or a check failed)");
  });

  it("a probe whose output cannot be read is an error naming the probe and what it printed", () => {
    const w = world();
    const cp1 = w["cp-1"];
    if (cp1.reachable) cp1.results.certs = ok("", 1, "error: unknown flag: --output\n");
    const r = analyzeStatus(spec, topology, backup, w, NOW);
    expect(r.findings).toEqual([
      { severity: "error", subject: "cp-1", message: "certs: could not be read (exit 1: error: unknown flag: --output)" },
    ]);
    expect(r.exitCode).toBe(2);
  });
});
