// Config text in disk scripts (issue 11, point 5): a newline in a mountpoint, Longhorn's dataPath or a
// localStatic hostDir once ended the script's header comment and became shell code. The renderers get
// hostile paths directly (as if validation had let them through): every script still parses, the value
// reaches the script only single-quoted (never in a comment, never bare), and fstab gets one field.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { DiskSpec, HostSpec } from "../../components/config";
import { diskSteps, fstabField } from "../../components/host/render-disks";
import { renderInitiatorName, renderInitiatorNameDelete } from "../../components/host/render-iscsi";
import { ALL_DISKS, host, specWith } from "./scripts";

const TOKEN = "PWNED";
const HOSTILE = [
  `/srv/x\n$(touch /tmp/${TOKEN}1)\n#`,
  `/srv/my backup/${TOKEN}2`,
  `/srv/a'$(touch /tmp/${TOKEN}3)'b`,
  `/srv/\`touch /tmp/${TOKEN}4\`\t"$HOME"\\n`,
];

/** The host of ALL_DISKS with every path a disk script writes replaced by `path` (+ a suffix per disk). */
function hostileHost(path: string): HostSpec {
  const h = host(specWith([{ name: "w-1", os: "debian", disks: ALL_DISKS }]), "w-1");
  const disks = h.disks.map((d): DiskSpec => {
    if ("mountpoint" in d) return { ...d, mountpoint: `${path}/${d.name}` };
    if ("linkPath" in d) return { ...d, linkPath: `${path}/${d.name}` };
    return d;
  });
  return { ...h, disks };
}

/**
 * The script with every single-quoted word that follows `=`, `note `, or an escaped quote blanked out:
 * what is left is code and comments. shQuote writes a value as such words ('...'\''...').
 */
function outsideQuotes(script: string): string {
  let s = script;
  for (;;) {
    const next = s.replace(/(=|note |\\')'[^']*'/g, "$1Q");
    if (next === s) return s;
    s = next;
  }
}

const bashN = (script: string) => spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });

describe("disk scripts with hostile paths in the config", () => {
  it.each(HOSTILE)("keep %j quoted: bash parses every script, no comment and no bare word carries it", (path) => {
    const h = hostileHost(path);
    const scripts = diskSteps(h).flatMap((s) => [
      [`${s.key} create`, s.create],
      [`${s.key} delete`, s.delete],
    ]);
    expect(scripts.length).toBe(12);
    for (const [what, script] of scripts) {
      const r = bashN(script);
      expect(r.status, `${what}: ${r.stderr}`).toBe(0);
      for (const line of script.split("\n").filter((l) => /^\s*#/.test(l)))
        expect(line.includes(TOKEN) || line.includes("touch"), `${what}: a comment carries config text: ${line}`).toBe(false);
      expect(outsideQuotes(script).includes(TOKEN), `${what}: the value appears outside single quotes`).toBe(false);
    }
  });

  it.each(HOSTILE)("assigns %j to MOUNTPOINT exactly, and as one fstab field", (path) => {
    const backup = diskSteps(hostileHost(path)).find((s) => s.key === "disk-backup") as { create: string };
    const assignments = backup.create
      .split(/\n(?=[A-Z_]+=')/)
      .map((chunk) => /^(MOUNTPOINT|MP_FSTAB)=('(?:[^']|'\\'')*')/.exec(chunk)?.[0])
      .filter((x): x is string => x !== undefined);
    expect(assignments.length).toBe(2);
    const r = spawnSync("/bin/bash", ["--norc", "-c", `${assignments.join("\n")}\nprintf '%s\\0%s' "$MOUNTPOINT" "$MP_FSTAB"`], {
      encoding: "utf8",
      env: { PATH: "" },
    });
    expect(r.status, r.stderr).toBe(0);
    const [mp, field] = r.stdout.split("\0");
    expect(mp).toBe(`${path}/backup`);
    expect(field).toBe(fstabField(`${path}/backup`));
    expect(field).not.toMatch(/\s/);
  });

  it("writes fstab's escapes for blanks and backslashes (fstab(5)), and leaves ordinary paths as they are", () => {
    expect(fstabField("/srv/my backup")).toBe("/srv/my\\040backup");
    expect(fstabField("/a\tb\nc\\d")).toBe("/a\\011b\\012c\\134d");
    expect(fstabField("/var/lib/longhorn")).toBe("/var/lib/longhorn");
  });

  it("puts no host name in the iSCSI scripts' comments", () => {
    const h = { ...host(specWith([{ name: "w-1", os: "debian", disks: ALL_DISKS }]), "w-1"), name: `w-1\n$(touch /tmp/${TOKEN})` };
    for (const script of [renderInitiatorName(h), renderInitiatorNameDelete(h)]) {
      expect(bashN(script).status).toBe(0);
      expect(outsideQuotes(script).includes(TOKEN)).toBe(false);
    }
  });
});
