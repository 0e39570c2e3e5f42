// cluster.etcdBackup rendered (issue 13, point 6): the timer pair systemd accepts, the backup script shellcheck
// accepts and the steps that install and remove them. The script's behaviour against real etcd: test/lab/etcd-backup.test.ts.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { EtcdBackupSpec } from "../../components/config/spec";
import {
  ETCD_BACKUP,
  SNAPSHOT_NAME_RE,
  etcdBackupScriptPath,
  renderEtcdBackupInstallScript,
  renderEtcdBackupRemoveScript,
  renderEtcdBackupScript,
  renderEtcdBackupService,
  renderEtcdBackupTimer,
} from "../../components/day2/render-etcd-backup";
import { renderWitnessMemberScript } from "../../components/controlplane/render-witness";
import { renderUpgradeScript } from "../../components/upgrade/render-upgrade";
import { specOf } from "../controlplane/fixtures";
import { have, shellcheck } from "../controlplane/shell";
import { loadStack } from "../harness";

const BACKUP: EtcdBackupSpec = { schedule: "Mon..Fri *-*-* 02:30:00", keep: 5, path: "/srv/etcd-backups" };
const { spec, host } = specOf(loadStack("dev"));
const cp = host("cp-1");

describe("the backup script", () => {
  const script = renderEtcdBackupScript(BACKUP);

  it.skipIf(!have("shellcheck"))("passes shellcheck", () => {
    expect(shellcheck(script)).toBe("");
    expect(shellcheck(renderEtcdBackupInstallScript(BACKUP, cp))).toBe("");
    expect(shellcheck(renderEtcdBackupRemoveScript(cp))).toBe("");
  });

  it("snapshots the local member with kubeadm's etcd client certificate into a .part file, verifies it with etcdutl, then names it", () => {
    expect(script).toContain("dir='/srv/etcd-backups'\nkeep=5\n");
    const save = script.indexOf('snapshot save "$part"');
    const verify = script.indexOf('"$etcdutl" snapshot status "$part"');
    const rename = script.indexOf('mv -f -- "$part" "$final"');
    expect(save).toBeGreaterThan(0);
    expect(verify).toBeGreaterThan(save);
    expect(rename).toBeGreaterThan(verify);
    expect(script).toContain("--endpoints=https://127.0.0.1:2379");
    expect(script).toContain('--cacert="$pki/ca.crt" --cert="$pki/healthcheck-client.crt" --key="$pki/healthcheck-client.key"');
    // a member that is down fails in seconds: health first (snapshot save would wait out its 600 s timeout)
    expect(script.indexOf("--command-timeout=15s endpoint health")).toBeLessThan(save);
    expect(script).toContain("pki=/etc/kubernetes/pki/etcd\n");
    expect(script).toContain("ts=$(date -u +%Y%m%dT%H%M%SZ)");
    expect(script).toContain("final=$dir/etcd-snapshot-$ts.db\npart=$final.part\n");
    // etcdctl only where etcdutl is absent, and it says so in the journal
    expect(script).toContain('log warning "there is no etcdutl here (etcd before 3.5): verifying with etcdctl snapshot status instead"');
    // the journal, under the tag the status command and operators look for
    expect(script).toContain('logger -t "$tag" -p "daemon.$level"');
    expect(script).toContain(`tag=${ETCD_BACKUP.tag}\n`);
  });

  it("takes etcdctl and etcdutl out of the etcd image the member runs, with the one function the witness and the upgrade use", () => {
    const fn = /^etcd_from_image\(\) \{$/m;
    expect(script).toMatch(fn);
    expect(script).toContain('etcd_from_image "$image" "$version" "$bin"');
    expect(script).toContain("for tool in etcd etcdctl etcdutl; do");
    const witness = renderWitnessMemberScript(spec, host("w-1"), [cp, host("cp-2")]);
    expect(witness).toMatch(fn);
    expect(witness).toContain('etcd_from_image "$image" "$version" "$dir"');
    const upgrade = renderUpgradeScript({
      spec,
      host: host("w-1"),
      hop: "1.33.7",
      role: "worker",
      drain: true,
      moveVip: false,
      witness: true,
    });
    expect(upgrade).toMatch(fn);
    expect(upgrade).toContain('etcd_from_image "$etcd_image" "$etcd_version" "$dir"');
    // ONE copy: the mount of the image appears once in each script
    for (const s of [script, witness, upgrade]) expect(s.split("ctr -n k8s.io images mount").length).toBe(2);
  });

  it("keeps the newest `keep` snapshots by name, which sorts by time, and nothing it did not write", () => {
    expect(script).toContain(
      "-name 'etcd-snapshot-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.db' -printf '%f\\n' | sort -r)",
    );
    expect(script).toContain('for old in "${snaps[@]:keep}"; do');
    expect(SNAPSHOT_NAME_RE.test("etcd-snapshot-20261205T021500Z.db")).toBe(true);
    expect(SNAPSHOT_NAME_RE.test("etcd-snapshot-20261205T021500Z.db.part")).toBe(false);
  });

  it("never leaves a .part behind: removed on any exit before the rename", () => {
    expect(script).toContain(`trap 'if [[ -n $part ]]; then rm -f -- "$part" "$part.part"; fi' EXIT`);
    expect(script).toContain("trap 'fail \"exit $? at line $LINENO: $BASH_COMMAND\"' ERR");
  });
});

describe("the timer pair", () => {
  it("is a oneshot service and a persistent timer on the schedule", () => {
    const service = renderEtcdBackupService(cp);
    expect(service).toContain("Type=oneshot\n");
    expect(service).toContain(`ExecStart=${etcdBackupScriptPath(cp)}\n`);
    expect(service).toContain(`SyslogIdentifier=${ETCD_BACKUP.tag}\n`);
    const timer = renderEtcdBackupTimer(BACKUP);
    expect(timer).toContain("OnCalendar=Mon..Fri *-*-* 02:30:00\nPersistent=true\n");
    expect(timer).toContain("WantedBy=timers.target");
    expect(etcdBackupScriptPath(cp)).toBe("/usr/local/sbin/baremetal-k8s-etcd-backup");
    expect(etcdBackupScriptPath({ ...cp, immutableRoot: true })).toMatch(/^\/var\/lib\//);
  });

  const real = have("systemd-analyze");
  it.skipIf(!real)(`passes systemd-analyze verify${real ? "" : " (skipped: no systemd-analyze here)"}`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), "d2-units-"));
    try {
      // verify checks that ExecStart is executable: the rendered script, written here, stands at its place.
      const exec = path.join(dir, "baremetal-k8s-etcd-backup");
      writeFileSync(exec, renderEtcdBackupScript(BACKUP));
      chmodSync(exec, 0o700);
      writeFileSync(path.join(dir, ETCD_BACKUP.service), renderEtcdBackupService(cp).replace(/^ExecStart=.*$/m, `ExecStart=${exec}`));
      writeFileSync(path.join(dir, ETCD_BACKUP.timer), renderEtcdBackupTimer(BACKUP));
      const verify = (t: string) =>
        spawnSync("systemd-analyze", ["verify", "--man=no", path.join(dir, t), path.join(dir, ETCD_BACKUP.service)], { encoding: "utf8" });
      const ok = verify(ETCD_BACKUP.timer);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stderr).toBe("");
      // and it would catch a bad calendar: the same pair with one systemd refuses
      writeFileSync(path.join(dir, "bad.timer"), renderEtcdBackupTimer({ ...BACKUP, schedule: "every day" }));
      writeFileSync(path.join(dir, "bad.service"), renderEtcdBackupService(cp).replace(/^ExecStart=.*$/m, `ExecStart=${exec}`));
      const bad = spawnSync("systemd-analyze", ["verify", "--man=no", path.join(dir, "bad.timer"), path.join(dir, "bad.service")], {
        encoding: "utf8",
      });
      expect(bad.stderr).toContain("Failed to parse calendar specification");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the install and remove steps", () => {
  it("install checks the schedule with the host's systemd first, writes the three files, enables and starts the timer", () => {
    const s = renderEtcdBackupInstallScript(BACKUP, cp);
    const check = s.indexOf('systemd-analyze calendar "$SCHEDULE"');
    expect(check).toBeGreaterThan(0);
    expect(s.indexOf("write_file /usr/local/sbin/baremetal-k8s-etcd-backup 0700")).toBeGreaterThan(check);
    expect(s).toContain(`write_file ${ETCD_BACKUP.servicePath} 0644`);
    expect(s).toContain(`write_file ${ETCD_BACKUP.timerPath} 0644`);
    expect(s).toContain(`systemctl enable ${ETCD_BACKUP.timer}`);
    expect(s).toContain(`systemctl restart ${ETCD_BACKUP.timer}`);
    expect(s).toContain("fail \"cluster.etcdBackup.schedule: this host's systemd refuses");
    expect(s).toContain("install -d -m 0700 '/srv/etcd-backups'");
  });

  it("remove disables and deletes the timer, service and script, and never the snapshots", () => {
    const s = renderEtcdBackupRemoveScript(cp);
    expect(s).toContain(`systemctl disable --now ${ETCD_BACKUP.timer}`);
    expect(s).toContain(`rm -f ${ETCD_BACKUP.timerPath} ${ETCD_BACKUP.servicePath} /usr/local/sbin/baremetal-k8s-etcd-backup\n`);
    expect(s).not.toMatch(/rm [^\n]*etcd-snapshot/);
    expect(s).not.toContain("/srv/etcd-backups");
  });
});
