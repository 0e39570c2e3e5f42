// Smoke test of the lab itself: two hosts, real SSH with pinned host keys, loop disks seen by both
// names, private mounts, and a down() that leaves nothing behind.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labAvailable, startLab, type Lab } from "./lab";

const PREFIX = process.env.LAB_PREFIX ?? "bl";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.10";
const avail = labAvailable();

const sh = (cmd: string) => spawnSync("sh", ["-c", cmd], { encoding: "utf8" }).stdout;

/** What this lab could have left on the machine: namespaces, links, loops, mounts, processes. */
function leftovers(base: string): string[] {
  const found: string[] = [];
  for (const ns of sh("ip netns list").split("\n")) if (ns.startsWith(`${PREFIX}-`)) found.push(`netns ${ns}`);
  if (sh(`ip -o link show ${PREFIX}-gw 2>/dev/null`).trim()) found.push(`link ${PREFIX}-gw`);
  for (const l of sh("losetup -l -n -O NAME,BACK-FILE").split("\n")) if (l.includes(base)) found.push(`loop ${l}`);
  // a mount (an overlay, a disk mounted in a host) left in any mount namespace, and so any process of a host
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let mi: string;
    try {
      mi = fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    if (mi.includes(`${base}/`)) found.push(`process ${pid} with a lab mount: ${sh(`cat /proc/${pid}/cmdline | tr '\\0' ' '`)}`);
  }
  if (fs.existsSync(base)) found.push(`dir ${base}`);
  return found;
}

describe.skipIf(!avail.ok)(`test-host lab${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  let tmp: string;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: [
        { name: "cp-1", disks: [{ name: "vdb", size: "256M" }] },
        { name: "w-1", disks: [{ name: "vdb", size: "256M" }] },
      ],
    });
    timings.upS = (Date.now() - t0) / 1000;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lab-test-"));
  });

  afterAll(async () => {
    await lab?.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** ssh as the program does: our own known_hosts holding only the pinned key, strict checking. */
  function pinnedSsh(address: string, hostKey: string, cmd: string) {
    const key = path.join(tmp, "id");
    fs.writeFileSync(key, lab.privateKey, { mode: 0o600 });
    const known = path.join(tmp, `known-${address}`);
    fs.writeFileSync(known, `${address} ${hostKey}\n`);
    return spawnSync(
      "ssh",
      [
        "-i",
        key,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        `UserKnownHostsFile=${known}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        `root@${address}`,
        cmd,
      ],
      { encoding: "utf8" },
    );
  }

  it("gives each host its address in order, its own ed25519 host key, and real sshd with key auth", () => {
    expect(lab.hosts.map((h) => [h.name, h.address])).toEqual([
      ["cp-1", `${SUBNET}.11`],
      ["w-1", `${SUBNET}.12`],
    ]);
    expect(lab.gateway).toBe(`${SUBNET}.1`);
    expect(lab.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    const [a, b] = lab.hosts as [Lab["hosts"][0], Lab["hosts"][0]];
    expect(a.hostKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
    expect(a.hostKey).not.toBe(b.hostKey);
    const ok = pinnedSsh(a.address, a.hostKey, "hostname");
    expect(ok.stderr).toBe("");
    expect(ok.stdout.trim()).toBe("cp-1");
    // the other host's key pinned for this address: refused
    const wrong = pinnedSsh(a.address, b.hostKey, "hostname");
    expect(wrong.status).toBe(255);
    expect(wrong.stderr).toMatch(/host key/i);
  });

  it("runs scripts with stdin and exit codes over lab.ssh", async () => {
    const r = await lab.ssh("w-1", 'set -e; read -r x; echo "got $x on $(hostname)"; echo err >&2; exit 3', { stdin: "secret\n" });
    expect(r).toEqual({ code: 3, stdout: "got secret on w-1\n", stderr: "err\n" });
  });

  it("shows each disk as /dev/vdX and /dev/disk/by-id/lab-HOST-vdX, and built-in modules to modprobe", async () => {
    const d = lab.host("cp-1").disks.vdb;
    expect(d).toEqual({ device: "/dev/vdb", byId: "/dev/disk/by-id/lab-cp-1-vdb" });
    const r = await lab.ssh(
      "cp-1",
      `test -b ${d.device} && readlink -f ${d.byId} && blockdev --getsize64 ${d.byId} && modprobe br_netfilter && echo modprobe-ok`,
    );
    expect(r.stdout).toBe(`/dev/vdb\n${256 * 1024 * 1024}\nmodprobe-ok\n`);
  });

  it("keeps a filesystem made and mounted inside one host invisible to the other host and to this machine", async () => {
    const mk = await lab.ssh(
      "cp-1",
      "mkfs.ext4 -q -L labtest /dev/vdb && mkdir -p /mnt/data && mount /dev/disk/by-id/lab-cp-1-vdb /mnt/data && echo hi > /mnt/data/f && findmnt -n -o SOURCE /mnt/data",
    );
    expect(mk.stderr).toBe("");
    expect(mk.code).toBe(0);
    const other = await lab.ssh("w-1", "findmnt -n /mnt/data || echo none; ls /mnt/data 2>&1 || true; blkid /dev/vdb || echo no-fs");
    expect(other.stdout).toContain("none");
    expect(other.stdout).toContain("no-fs");
    expect(fs.existsSync("/mnt/data/f")).toBe(false);
    expect(sh("findmnt -n -o TARGET /mnt/data || true").trim()).toBe("");
    // a host's writes to /etc stay in that host
    await lab.ssh("cp-1", "echo only-cp-1 > /etc/lab-marker");
    expect((await lab.ssh("w-1", "cat /etc/lab-marker 2>/dev/null || echo absent")).stdout).toBe("absent\n");
    expect(fs.existsSync("/etc/lab-marker")).toBe(false);
  });

  it("starts a unit's real daemon through the systemctl stand-in, and again after a power cycle", async () => {
    const unit = `[Service]\nEnvironmentFile=-/etc/default/labsleep\nExecStart=/bin/sleep $NAP\n[Install]\nWantedBy=multi-user.target\n`;
    const r = await lab.ssh(
      "w-1",
      `printf '%s' "$(cat)" > /etc/systemd/system/labsleep.service && echo NAP=4242 > /etc/default/labsleep && systemctl daemon-reload && systemctl enable --now labsleep && systemctl is-active labsleep && pgrep -af 'sleep 4242'`,
      { stdin: unit },
    );
    expect(r.stdout).toMatch(/active\n\d+ \/bin\/sleep 4242\n$/);
    const t0 = Date.now();
    await lab.stopHost("w-1");
    timings.stopS = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    await lab.startHost("w-1");
    timings.startS = (Date.now() - t1) / 1000;
    const again = await lab.ssh(
      "w-1",
      "systemctl is-active labsleep && grep -c 'systemctl' /var/log/standins.log >/dev/null && echo logged",
    );
    expect(again.stdout).toBe("active\nlogged\n");
    // a service started by a script does not inherit the script's open files (a held flock)
    await lab.ssh("w-1", "exec 9>/run/lock/lab.lock; flock 9; systemctl restart labsleep");
    expect((await lab.ssh("w-1", "flock -w 2 /run/lock/lab.lock echo free")).stdout).toBe("free\n");
  });

  it("down() removes namespaces, links, loop devices, mounts, processes and files", async () => {
    const base = lab.base;
    const t0 = Date.now();
    await lab.down();
    timings.downS = (Date.now() - t0) / 1000;
    expect(leftovers(base)).toEqual([]);
    console.log(`[lab timings] ${JSON.stringify(timings)}`);
  });
});
