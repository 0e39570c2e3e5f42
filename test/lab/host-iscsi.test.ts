// The iSCSI initiator-name script with Debian's real open-iscsi tools (iscsi-iname, iscsid) on lab hosts.
// The lab hosts' /etc is a copy-on-write view of the test machine's, so they start with the same
// /etc/iscsi/initiatorname.iscsi: exactly the cloned-image case the program must catch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeDuplicateInitiators,
  findDuplicateInitiators,
  INITIATOR_FILE,
  renderInitiatorName,
} from "../../components/host/render-iscsi";
import { labAvailable, startLab, type Lab } from "./lab";
import { hostOf, labSpec, PREFIX, runScript, sh, SUBNET } from "./host-lab";

const avail = labAvailable();
/**
 * STAND-IN for iscsid: this kernel has no iSCSI transport (iscsid: "can not create NETLINK_ISCSI socket"),
 * so the real daemon exits at once. A drop-in runs this placeholder instead, so the script's unit handling
 * (enable, start, restart on a new name) runs against Debian's real iscsid.service with its real
 * ExecStartPre. Listed in test/lab/README.md.
 */
const ISCSID_STANDIN = `mkdir -p /usr/local/lib/lab /etc/systemd/system/iscsid.service.d
cat >/usr/local/lib/lab/iscsid-standin <<'END'
#!/bin/sh
# STAND-IN for iscsid (baremetal-k8s lab): the kernel lacks NETLINK_ISCSI; records its start and sleeps.
echo "$(date +%FT%T) iscsid-standin started with $(grep ^InitiatorName= /etc/iscsi/initiatorname.iscsi)" >>/var/log/standins.log
exec sleep infinity
END
chmod 755 /usr/local/lib/lab/iscsid-standin
printf '[Service]\\nType=simple\\nPIDFile=\\nExecStart=\\nExecStart=/usr/local/lib/lab/iscsid-standin\\n' >/etc/systemd/system/iscsid.service.d/lab-standin.conf
`;
const HOSTS = ["i-1", "i-2", "i-3"];

describe.skipIf(!avail.ok)(`iSCSI initiator names on lab hosts${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  const spec = labSpec(
    HOSTS.map((name, i) => ({
      name,
      address: `${SUBNET}.${11 + i}`,
      roles: i === 0 ? ["control-plane"] : ["worker"],
      os: "debian",
      disks: [{ name: "data", device: `/dev/disk/by-id/lab-${name}-vdb`, use: "longhorn" }],
    })),
    { longhorn: { enabled: true } },
  );
  const script = (host: string) => renderInitiatorName(hostOf(spec, host));
  const run = async (host: string) => {
    const r = await runScript(lab, host, script(host));
    expect(r.code, `${host}: ${r.stderr}`).toBe(0);
    return { name: r.stdout.trim(), log: r.stderr };
  };

  beforeAll(async () => {
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: HOSTS.map((name) => ({ name })),
      // a shortcut: no node preparation here; open-iscsi is baked in, with the test machine's name (cloned images)
      preinstalled: ["open-iscsi"],
    });
    for (const h of HOSTS) await sh(lab, h, ISCSID_STANDIN);
  });

  afterAll(async () => {
    await lab?.down();
  });

  it("keeps an existing name, so cloned hosts report the same one, and the check names both hosts", async () => {
    const shared = (await sh(lab, "i-1", `sed -n 's/^InitiatorName=//p' ${INITIATOR_FILE}`)).trim();
    expect(shared).toMatch(/^iqn\./);
    const a = await run("i-1");
    const b = await run("i-2");
    expect(a.name).toBe(shared);
    expect(b.name).toBe(shared);
    expect(a.log).toContain("exists: kept");
    const dups = findDuplicateInitiators([
      ["i-1", a.name],
      ["i-2", b.name],
    ]);
    expect(dups).toEqual([{ name: shared, hosts: ["i-1", "i-2"] }]);
    expect(describeDuplicateInitiators(dups)).toContain(`hosts i-1 and i-2 share the iSCSI initiator name ${shared}`);
  });

  it("generates a new name once where the file says GenerateName=yes or is missing, and keeps it on re-runs", async () => {
    await sh(lab, "i-2", `echo GenerateName=yes > ${INITIATOR_FILE}`);
    await sh(lab, "i-3", `rm -f ${INITIATOR_FILE}`);
    const shared = (await run("i-1")).name;
    const two = await run("i-2");
    const three = await run("i-3");
    expect(two.log).toContain("generated initiator name");
    expect(three.log).toContain("generated initiator name");
    expect(new Set([shared, two.name, three.name]).size).toBe(3);
    expect(
      findDuplicateInitiators([
        ["i-1", shared],
        ["i-2", two.name],
        ["i-3", three.name],
      ]),
    ).toEqual([]);
    // iscsi-iname's format, written where open-iscsi reads it
    expect(two.name).toMatch(/^iqn\.\d{4}-\d{2}\.[a-z0-9.-]+:[0-9a-f]+$/);
    expect(await sh(lab, "i-2", `grep '^InitiatorName=' ${INITIATOR_FILE}`)).toBe(`InitiatorName=${two.name}\n`);
    expect(await sh(lab, "i-2", `grep -c GenerateName ${INITIATOR_FILE} || true`)).toBe("0\n");

    const again = await run("i-2");
    expect(again.name).toBe(two.name);
    expect(again.log).toContain("exists: kept");
    expect(again.log).not.toContain("generated");
  });

  it("leaves iscsid enabled and running, restarted once with a newly generated name", async () => {
    await run("i-3");
    expect((await lab.ssh("i-3", "systemctl is-enabled --quiet iscsid")).code).toBe(0);
    expect((await lab.ssh("i-3", "systemctl is-active --quiet iscsid")).code).toBe(0);
    await sh(lab, "i-3", `echo GenerateName=yes > ${INITIATOR_FILE}`);
    const renewed = await run("i-3");
    expect(renewed.log).toContain("restarted iscsid with the new name");
    expect(await sh(lab, "i-3", "grep iscsid-standin /var/log/standins.log | tail -n 1")).toContain(`InitiatorName=${renewed.name}`);
    const quiet = await run("i-3");
    expect(quiet.log).not.toMatch(/restarted|started iscsid/);
  });
});
