import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CHECK_WEIGHT, FOLLOWER_PRIORITY, LEADER_PRIORITY, VRRP_PASSWORD_PLACEHOLDER, renderCheckApiserver, renderKeepalivedConf } from "../../components/controlplane/render-keepalived";
import { specOf } from "./fixtures";
import { have, shellcheck } from "./shell";

const { spec, host } = specOf();
const dir = mkdtempSync(path.join(tmpdir(), "cp-keepalived-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Debian's keepalived checks the file: exit 0 when valid (it also checks the track script exists and is safe). */
function configTest(conf: string): { status: number | null; output: string } {
  const check = path.join(dir, "check_apiserver.sh");
  writeFileSync(check, renderCheckApiserver(spec));
  chmodSync(check, 0o755);
  const file = path.join(dir, "keepalived.conf");
  writeFileSync(file, conf);
  const r = spawnSync("keepalived", ["--config-test", "-f", file], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("keepalived.conf", () => {
  const leader = renderKeepalivedConf(spec, { host: host("cp-1"), leader: true });
  const follower = renderKeepalivedConf(spec, { host: host("cp-2"), leader: false });

  it("makes the leader MASTER with the highest priority and followers BACKUP (snapshot)", () => {
    expect(leader).toMatchSnapshot();
    expect(leader).toMatch(/state MASTER\n/);
    expect(leader).toContain(`priority ${LEADER_PRIORITY}\n`);
    expect(follower).toMatch(/state BACKUP\n/);
    expect(follower).toContain(`priority ${FOLLOWER_PRIORITY}\n`);
    expect(LEADER_PRIORITY).toBeGreaterThan(FOLLOWER_PRIORITY);
  });

  it("drops an unhealthy node below every healthy one, so the VIP leaves a dead API server", () => {
    expect(LEADER_PRIORITY + CHECK_WEIGHT).toBeLessThan(FOLLOWER_PRIORITY);
    expect(leader).toContain(`weight ${CHECK_WEIGHT}`);
    expect(leader).toMatch(/track_script \{\n\s+check_apiserver\n/);
    expect(leader).toMatch(/virtual_ipaddress \{\n\s+192\.168\.10\.10\n/);
    expect(leader).toMatch(/interface eth0\n/);
    expect(leader).toMatch(/virtual_router_id 51\n/);
  });

  it("renders the password only as a placeholder unless given one", () => {
    expect(leader).toContain(`auth_pass ${VRRP_PASSWORD_PLACEHOLDER}`);
    expect(renderKeepalivedConf(spec, { host: host("cp-1"), leader: true }, { authPass: "Zx9Qw2Lm" })).toContain("auth_pass Zx9Qw2Lm");
  });

  it.skipIf(!have("keepalived"))("passes Debian's keepalived --config-test, which rejects a broken one", () => {
    for (const [h, isLeader] of [["cp-1", true], ["cp-2", false]] as const) {
      const conf = renderKeepalivedConf(spec, { host: host(h), leader: isLeader }, { authPass: "Zx9Qw2Lm", checkScript: path.join(dir, "check_apiserver.sh") });
      const r = configTest(conf);
      expect(r.output).toBe("");
      expect(r.status).toBe(0);
    }
    const broken = configTest(renderKeepalivedConf(spec, { host: host("cp-1"), leader: true }, { authPass: "Zx9Qw2Lm", checkScript: path.join(dir, "check_apiserver.sh") }).replace("advert_int", "advert_intt"));
    expect(broken.status).not.toBe(0);
    expect(broken.output).toContain("advert_intt");
  });

  it.skipIf(!have("shellcheck"))("has a shellcheck-clean check_apiserver.sh that asks the local API server's /healthz", () => {
    const check = renderCheckApiserver(spec);
    expect(shellcheck(check)).toBe("");
    expect(check).toContain("https://127.0.0.1:6443/healthz");
  });
});
