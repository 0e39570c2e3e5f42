import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runtimeServices, scriptFooter, scriptHeader, TRACK_CHANGES } from "../../components/host/shell";
import { HAS_SHELLCHECK, shellcheck } from "./scripts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs the runtime-services part of a script against a stand-in systemctl (no
 * systemd here): `enabled` and `active` name the units it reports so; every
 * call it gets is logged. Returns the calls, what the script said and `changed`.
 */
function run(runtime: "containerd" | "crio", restart: 0 | 1, state: { enabled: string[]; active: string[] }) {
  const dir = mkdtempSync(path.join(tmpdir(), "ensure-service-"));
  dirs.push(dir);
  const log = path.join(dir, "calls");
  writeFileSync(
    path.join(dir, "systemctl"),
    [
      "#!/usr/bin/env bash",
      `echo "$*" >>${log}`,
      "unit=${!#}",
      `case $1 in is-enabled) [[ " ${state.enabled.join(" ")} " == *" $unit "* ]] ;; is-active) [[ " ${state.active.join(" ")} " == *" $unit "* ]] ;; esac`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  writeFileSync(log, "");
  const script = `${scriptHeader("test", "h")}${TRACK_CHANGES}${runtime}_restart=${restart}\n${runtimeServices(runtime, `${runtime}_restart`)}echo "changed=$changed"\n`;
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
  expect(r.status, r.stderr).toBe(0);
  const calls = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("is-"));
  return { calls, stdout: r.stdout };
}

describe("runtimeServices (ensure_service NAME RESTART, ensure_enabled kubelet)", () => {
  it("enables and starts a stopped runtime and enables the kubelet without starting it", () => {
    const r = run("crio", 0, { enabled: [], active: [] });
    expect(r.calls).toEqual(["enable crio", "start crio", "enable kubelet"]);
    expect(r.stdout).toContain("h: started crio");
    expect(r.stdout).toContain("changed=1");
  });

  it("restarts a running runtime only when its configuration changed", () => {
    const running = { enabled: ["containerd", "kubelet"], active: ["containerd"] };
    const same = run("containerd", 0, running);
    expect(same.calls).toEqual([]);
    expect(same.stdout).toContain("changed=0");
    const changed = run("containerd", 1, running);
    expect(changed.calls).toEqual(["restart containerd"]);
    expect(changed.stdout).toContain("h: restarted containerd");
  });

  it.skipIf(!HAS_SHELLCHECK)("passes shellcheck", () => {
    const script = `${scriptHeader("test", "h")}${TRACK_CHANGES}crio_restart=0\n${runtimeServices("crio", "crio_restart")}${scriptFooter("test")}`;
    expect(shellcheck(script)).toBe("");
  });
});
