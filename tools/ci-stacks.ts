import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** The repository's list of stacks CI may run the Pulumi CLI on (`.github/pulumi-stacks.yml`). */
export interface StackManifest {
  stacks: Record<string, { autoDeploy: boolean }>;
}

export const MANIFEST = ".github/pulumi-stacks.yml";

/** Files whose change cannot alter any stack's preview: documentation and CI's own files. */
const INERT = [/^docs\//, /\.md$/, /^\.github\//, /^\.ci\//, /^esc\//, /^LICENSE$/];

export function readManifest(file: string): StackManifest {
  const doc = (parse(readFileSync(file, "utf8")) ?? {}) as { stacks?: unknown };
  const raw = doc.stacks ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error(`${file}: "stacks:" must be a map of stack name to {autoDeploy: true|false}`);
  const stacks: StackManifest["stacks"] = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const spec = v ?? {};
    const autoDeploy =
      typeof spec === "object" && !Array.isArray(spec) ? ((spec as { autoDeploy?: unknown }).autoDeploy ?? false) : undefined;
    if (typeof autoDeploy !== "boolean") throw new Error(`${file}: stacks.${name} must be {autoDeploy: true|false}`);
    stacks[name] = { autoDeploy };
  }
  return { stacks };
}

/** Stack names that have a Pulumi.<stack>.yaml in `dir`. */
export function stackFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * Which stacks a change touches: a changed stack file touches its stack; a
 * change to anything that is not documentation or CI touches every stack
 * (the program, Pulumi.yaml, dependencies, the policy pack).
 */
export function changedStacks(changedFiles: string[], stacks: string[]): string[] {
  const touched = new Set<string>();
  for (const f of changedFiles) {
    const m = /^Pulumi\.([^.]+)\.yaml$/.exec(f);
    if (m?.[1] !== undefined) {
      if (stacks.includes(m[1])) touched.add(m[1]);
    } else if (!INERT.some((re) => re.test(f))) {
      return [...stacks];
    }
  }
  return stacks.filter((s) => touched.has(s));
}

function main(argv: string[]): string {
  const [mode, base] = argv;
  const root = process.cwd();
  const manifest = existsSync(path.join(root, MANIFEST)) ? readManifest(path.join(root, MANIFEST)) : { stacks: {} };
  const all = stackFilesIn(root);
  switch (mode) {
    case "changed": {
      // Every stack file the PR touches (for the offline plan), and of those the ones in the manifest (for pulumi preview).
      if (!base) throw new Error("usage: ci-stacks changed <base-sha>");
      const files = execFileSync("git", ["diff", "--name-only", `${base}...HEAD`], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
      const plan = changedStacks(files, all);
      return JSON.stringify({ plan, preview: plan.filter((s) => s in manifest.stacks) });
    }
    case "deploy":
      return JSON.stringify(Object.keys(manifest.stacks).filter((s) => manifest.stacks[s]?.autoDeploy && all.includes(s)));
    default:
      throw new Error("usage: ci-stacks changed <base-sha> | ci-stacks deploy");
  }
}

if (require.main === module) {
  try {
    process.stdout.write(`${main(process.argv.slice(2))}\n`);
  } catch (e) {
    process.stderr.write(`ci-stacks: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
