// The rendered keepalived.conf and check_apiserver.sh running in Debian's real keepalived on three
// lab hosts: the leader holds the VIP, a follower takes it within seconds when the leader's API
// health check fails, its keepalived stops or the host dies, and the leader takes it back.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderKeepalivedDeleteScript, renderKeepalivedScript } from "../../components/controlplane/render-keepalived";
import { remoteScript } from "../../components/host/remote-script";
import { specOf } from "../controlplane/fixtures";
import { PREFIX, SUBNET, VIP, labConfig, waitFor } from "./controlplane-fixtures";
import { labAvailable, startLab, type Lab } from "./lab";

const avail = labAvailable();
const HOSTS = ["cp-1", "cp-2", "cp-3"];
const PASSWORD = "Lab7pass";

/**
 * Stand-in for the kube-apiserver's health endpoint (named as such in test/lab/README.md): openssl
 * s_server answering every HTTPS GET on :6443 with 200, which is what check_apiserver.sh asks.
 */
const HEALTHZ_STANDIN_START = [
  "set -euo pipefail",
  "[[ -f /root/healthz.crt ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /root/healthz.key -out /root/healthz.crt -subj /CN=apiserver-healthz-standin -days 1 2>/dev/null",
  "setsid -f openssl s_server -accept 6443 -cert /root/healthz.crt -key /root/healthz.key -www -quiet </dev/null >/dev/null 2>&1",
  "for _ in $(seq 1 50); do curl -sfk --max-time 1 -o /dev/null https://127.0.0.1:6443/healthz && exit 0; sleep 0.1; done; exit 1",
].join("\n");
const HEALTHZ_STANDIN_STOP = "pkill -x openssl || true";

/** Hosts whose eth0 carries the VIP, seen from the test machine. */
function holders(): string[] {
  return HOSTS.filter((h) =>
    spawnSync("ip", ["-n", `${PREFIX}-${h}`, "-4", "-o", "addr", "show", "dev", "eth0"], { encoding: "utf8" }).stdout.includes(` ${VIP}/`),
  );
}
const heldBy = (want: (hs: string[]) => boolean) => () => {
  const hs = holders();
  return hs.length > 0 && want(hs) ? hs.join(",") : undefined;
};
const onlyLeader = heldBy((hs) => hs.length === 1 && hs[0] === "cp-1");
const aFollower = heldBy((hs) => hs.some((h) => h !== "cp-1"));

describe.skipIf(!avail.ok)(`keepalived VIP failover on real keepalived${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  const measured: Record<string, number> = {};

  const ssh = async (host: string, script: string, stdin?: string) => {
    const r = await lab.ssh(host, script, { stdin });
    if (r.code !== 0) throw new Error(`${host}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  beforeAll(async () => {
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: HOSTS.map((name) => ({ name })),
      // a shortcut: no node preparation here; keepalived and curl (check_apiserver.sh) are what it would install on a control plane
      preinstalled: ["keepalived", "curl"],
    });
  });
  afterAll(async () => {
    console.log("keepalived failover, seconds:", JSON.stringify(measured));
    await lab?.down();
  });

  it("installs the rendered config with the password from stdin; the leader takes the VIP", async () => {
    const { spec, host } = specOf(labConfig(lab, { "cp-1": ["control-plane"], "cp-2": ["control-plane"], "cp-3": ["control-plane"] }));
    for (const h of HOSTS) await ssh(h, HEALTHZ_STANDIN_START);
    const t0 = Date.now();
    for (const h of HOSTS) {
      const r = await ssh(h, remoteScript(renderKeepalivedScript(spec, { host: host(h), leader: h === "cp-1" }), "root"), `${PASSWORD}\n`);
      expect(r.stderr).toContain("keepalived (re)started");
      expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
    }
    const first = await waitFor("the VIP on cp-1", onlyLeader, 20);
    measured.firstHolder = (Date.now() - t0) / 1000;
    const conf = await ssh("cp-1", "cat /etc/keepalived/keepalived.conf; stat -c %a /etc/keepalived/keepalived.conf");
    expect(conf.stdout).toContain(`auth_pass ${PASSWORD}`);
    expect(conf.stdout.trim().endsWith("600")).toBe(true);
    expect(first.value).toBe("cp-1");
  });

  it("changes nothing when run again", async () => {
    const { spec, host } = specOf(labConfig(lab, { "cp-1": ["control-plane"], "cp-2": ["control-plane"], "cp-3": ["control-plane"] }));
    const pid = (await ssh("cp-1", "pgrep -o -x keepalived")).stdout.trim();
    const r = await ssh("cp-1", remoteScript(renderKeepalivedScript(spec, { host: host("cp-1"), leader: true }), "root"), `${PASSWORD}\n`);
    expect(r.stderr).toContain("already runs this configuration; nothing to do");
    expect((await ssh("cp-1", "pgrep -o -x keepalived")).stdout.trim()).toBe(pid);
    expect(holders()).toEqual(["cp-1"]);
  });

  it("moves the VIP to a follower when the leader's API health check fails, and back when it recovers", async () => {
    await ssh("cp-1", HEALTHZ_STANDIN_STOP);
    const away = await waitFor(
      "the VIP on a follower",
      heldBy((hs) => !hs.includes("cp-1")),
      20,
    );
    measured.apiDownMoved = away.seconds;
    expect(away.seconds).toBeLessThan(12);
    await ssh("cp-1", HEALTHZ_STANDIN_START);
    const back = await waitFor("the VIP back on cp-1", onlyLeader, 20);
    measured.apiBackReturned = back.seconds;
    expect(back.seconds).toBeLessThan(12);
  });

  it("moves the VIP when the leader's keepalived stops, and back when it starts", async () => {
    await ssh("cp-1", "systemctl stop keepalived");
    const away = await waitFor(
      "the VIP on a follower",
      heldBy((hs) => !hs.includes("cp-1")),
      20,
    );
    measured.keepalivedStoppedMoved = away.seconds;
    expect(away.seconds).toBeLessThan(6);
    await ssh("cp-1", "systemctl start keepalived");
    const back = await waitFor("the VIP back on cp-1", onlyLeader, 20);
    measured.keepalivedStartedReturned = back.seconds;
    expect(back.seconds).toBeLessThan(12);
  });

  it("moves the VIP when the leader's keepalived is killed outright", async () => {
    await ssh("cp-1", "pkill -KILL -x keepalived");
    const away = await waitFor("a follower to claim the VIP", aFollower, 20);
    measured.keepalivedKilledMoved = away.seconds;
    expect(away.seconds).toBeLessThan(8);
    // A SIGKILLed keepalived leaves its address behind; restarting it cleans up and preempts.
    await ssh("cp-1", `ip addr del ${VIP}/32 dev eth0 2>/dev/null || true; systemctl restart keepalived`);
    const back = await waitFor("the VIP back on cp-1", onlyLeader, 20);
    measured.keepalivedRestartedReturned = back.seconds;
  });

  it("survives the leader host dying: a follower holds the VIP; after reboot the enabled keepalived takes it back once the API is healthy", async () => {
    await lab.stopHost("cp-1");
    const away = await waitFor(
      "the VIP on a follower",
      heldBy((hs) => !hs.includes("cp-1")),
      20,
    );
    measured.leaderHostDownMoved = away.seconds;
    expect(away.seconds).toBeLessThan(8);
    await lab.startHost("cp-1");
    // keepalived is enabled, so it starts at boot; without the API it stays below the followers.
    await new Promise((r) => setTimeout(r, 5000));
    expect(holders()).not.toContain("cp-1");
    expect((await ssh("cp-1", "pgrep -x keepalived >/dev/null && echo running")).stdout).toContain("running");
    await ssh("cp-1", HEALTHZ_STANDIN_START);
    const back = await waitFor("the VIP back on cp-1", onlyLeader, 20);
    measured.leaderRebootedReturned = back.seconds;
  });

  it("removes keepalived from a control plane that leaves, and the VIP stays up", async () => {
    const { host } = specOf(labConfig(lab, { "cp-1": ["control-plane"], "cp-2": ["control-plane"], "cp-3": ["control-plane"] }));
    const r = await ssh("cp-3", remoteScript(renderKeepalivedDeleteScript(host("cp-3")), "root"));
    expect(r.stderr).toContain("keepalived stopped and its configuration removed");
    expect((await lab.ssh("cp-3", "pgrep -x keepalived")).code).not.toBe(0);
    expect((await lab.ssh("cp-3", "test -e /etc/keepalived/keepalived.conf")).code).not.toBe(0);
    const again = await ssh("cp-3", remoteScript(renderKeepalivedDeleteScript(host("cp-3")), "root"));
    expect(again.stderr).toContain("nothing to undo");
    expect(holders()).toEqual(["cp-1"]);
  });
});
