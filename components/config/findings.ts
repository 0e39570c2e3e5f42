/** A problem found in the stack config, reported to a person before anything runs. */
export interface Finding {
  severity: "error" | "warning";
  /** The config key at fault, e.g. `hosts[2].disks[1].mountpoint`. */
  path: string;
  /** What is wrong, then how to fix it. */
  message: string;
}

export type PathSegment = string | number;

/** `["hosts", 2, "disks", 1, "mountpoint"]` -> `hosts[2].disks[1].mountpoint`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += out === "" ? s : `.${s}`;
  }
  return out;
}

export function error(path: string, message: string): Finding {
  return { severity: "error", path, message };
}

export function warning(path: string, message: string): Finding {
  return { severity: "warning", path, message };
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}

/** One line per finding, errors first, for a terminal or a Pulumi error. */
export function formatFindings(findings: readonly Finding[]): string {
  return [...findings]
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1))
    .map((f) => `${f.severity}: ${f.path}: ${f.message}`)
    .join("\n");
}
