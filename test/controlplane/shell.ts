import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

export function have(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** shellcheck's findings for a script ("" when clean). */
export function shellcheck(script: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "cp-sc-"));
  try {
    const file = path.join(dir, "script.sh");
    writeFileSync(file, script);
    const r = spawnSync("shellcheck", ["-s", "bash", file], { encoding: "utf8" });
    return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
