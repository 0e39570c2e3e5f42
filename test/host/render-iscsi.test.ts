import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { needsCephPrereqs, needsLonghornPrereqs, needsRbd, renderInitiatorName, renderInitiatorNameDelete } from "../../components/host/render-iscsi";
import { ALL_DISKS, HAS_SHELLCHECK, host, shellcheck, specWith } from "./scripts";

const spec = specWith([
  { name: "w-1", os: "ubuntu", disks: ALL_DISKS },
  { name: "w-2", os: "debian" },
]);

describe("Longhorn's iSCSI initiator-name step", () => {
  it("renders deterministically (snapshot) and shellcheck-clean", () => {
    const s = renderInitiatorName(host(spec, "w-1"));
    expect(s).toBe(renderInitiatorName(host(spec, "w-1")));
    expect(s).toMatchSnapshot();
    if (HAS_SHELLCHECK) {
      expect(shellcheck(s)).toBe("");
      expect(shellcheck(renderInitiatorNameDelete(host(spec, "w-1")))).toBe("");
    }
  });

  it("applies to every Kubernetes node when Longhorn is enabled (any node may attach a volume), not to an etcd-only witness; Ceph's to hosts with ceph disks", () => {
    expect(needsLonghornPrereqs(host(spec, "w-1"), spec)).toBe(true);
    expect(needsLonghornPrereqs(host(spec, "w-2"), spec)).toBe(true);
    const witness = { ...host(spec, "w-2"), roles: ["etcd" as const] };
    expect(needsLonghornPrereqs(witness, spec)).toBe(false);
    expect(needsCephPrereqs(host(spec, "w-1"), spec)).toBe(true);
    expect(needsCephPrereqs(host(spec, "w-2"), spec)).toBe(false);
    // The rbd module goes wherever a Ceph block volume may be mapped: every node.
    expect(needsRbd(host(spec, "w-2"), spec)).toBe(true);
    expect(needsRbd({ ...host(spec, "w-2"), roles: ["etcd" as const] }, spec)).toBe(false);
    const off = { ...spec, storage: { ...spec.storage, longhorn: { ...spec.storage.longhorn, enabled: false } } };
    expect(needsLonghornPrereqs(host(off, "w-1"), off)).toBe(false);
  });

  it("prints only the name on stdout (messages on stderr), so the program can read it back", () => {
    // Run it against a scratch copy: /etc/iscsi is replaced by a temp dir, iscsi-iname and systemctl by functions.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk8s-iscsi-"));
    try {
      const script = renderInitiatorName(host(spec, "w-1")).replace(
        "file='/etc/iscsi/initiatorname.iscsi'",
        `file='${dir}/initiatorname.iscsi'`,
      );
      const shim = `iscsi-iname() { echo iqn.2005-03.org.open-iscsi:0123abcd; }\nsystemctl() { return 0; }\nexport -f iscsi-iname systemctl\n`;
      const run = () => spawnSync("bash", ["-c", `${shim}bash -c "$1"`, "_", script], { encoding: "utf8" });
      fs.writeFileSync(path.join(dir, "initiatorname.iscsi"), "## comment\nGenerateName=yes\n");
      const first = run();
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toBe("iqn.2005-03.org.open-iscsi:0123abcd\n");
      expect(first.stderr).toContain("generated initiator name");
      fs.writeFileSync(path.join(dir, "initiatorname.iscsi"), "InitiatorName=iqn.1993-08.org.debian:01:kept\n");
      const kept = run();
      expect(kept.stdout).toBe("iqn.1993-08.org.debian:01:kept\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
