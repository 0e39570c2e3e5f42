import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { type Document, isPair, isScalar, parseDocument, visit } from "yaml";
import { OFFLINE_SECRET_PLACEHOLDER } from "../components/config/ssh-key";
import { CONFIG_NAMESPACE } from "../components/main";

/** What the SDK's config store wants: `project:key` -> string, plus which keys are secret. */
export interface StackConfig {
  config: Record<string, string>;
  secretKeys: string[];
  /** The file the stack's values came from. */
  file: string;
}

/** Stands in for a `secure:` value, which only the Pulumi CLI can decrypt. */
export const SECRET_PLACEHOLDER = OFFLINE_SECRET_PLACEHOLDER;

export class StackFileError extends Error {}

/** `{secure: <ciphertext>}`; `{secure: ""}` holds nothing to decrypt and stays a plain map, which validation refuses. */
function isSecure(v: unknown): boolean {
  if (v === null || typeof v !== "object" || Array.isArray(v) || Object.keys(v).length !== 1 || !("secure" in v)) return false;
  const ciphertext = v.secure;
  return typeof ciphertext === "string" && ciphertext !== "";
}

/** Replaces nested `{secure: ...}` values with the placeholder; reports whether any was found. */
function replaceSecure(v: unknown): { value: unknown; secret: boolean } {
  if (isSecure(v)) return { value: SECRET_PLACEHOLDER, secret: true };
  if (Array.isArray(v)) {
    let secret = false;
    const value = v.map((x) => {
      const r = replaceSecure(x);
      secret ||= r.secret;
      return r.value;
    });
    return { value, secret };
  }
  if (v !== null && typeof v === "object") {
    let secret = false;
    const value: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = replaceSecure(x);
      secret ||= r.secret;
      value[k] = r.value;
    }
    return { value, secret };
  }
  return { value: v, secret: false };
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new StackFileError(`cannot read ${file}: ${(e as Error).message}`);
  }
  // parseDocument, not parse: parse prints the library's warnings (an unknown tag) on stderr and carries on.
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new StackFileError(`${file} is not valid YAML: ${doc.errors[0].message}`);
  const tagged = unknownTag(doc, text);
  if (tagged) {
    throw new StackFileError(
      `${file}: ${tagged.key}: the YAML tag ${tagged.tag} (line ${tagged.line}) is not supported: stack files hold plain YAML values (strings, numbers, lists, maps, and secure: for secrets). Remove the tag`,
    );
  }
  if (doc.warnings.length > 0) throw new StackFileError(`${file}: ${doc.warnings[0].message}`);
  return doc.toJS() as unknown;
}

/** The first node with a tag the YAML schema does not know (`!!python/object`, `!custom`), and the key it sits under. */
function unknownTag(doc: Document, source: string): { tag: string; key: string; line: number } | undefined {
  let found: { tag: string; key: string; line: number } | undefined;
  visit(doc, {
    Node(_key, node, path) {
      if (!node.tag || doc.schema.tags.some((t) => t.tag === node.tag)) return undefined;
      const keys = path.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : "?"));
      const line = node.range ? source.slice(0, node.range[0]).split("\n").length : 0;
      found = {
        tag: node.tag.replace(/^tag:yaml\.org,2002:/, "!!"),
        key: (keys[0] === "config" ? keys.slice(1) : keys).join(".") || "(top level)",
        line,
      };
      return visit.BREAK;
    },
  });
  return found;
}

function fullKey(key: string): string {
  return key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`;
}

/**
 * Reads a stack file the way `pulumi` does: project-level defaults from
 * Pulumi.yaml beside it (`config: {key: {default|value: ...}}`), then the
 * stack's own values, which replace a default key as a whole.
 */
export function readStackConfig(stackFile: string): StackConfig {
  const doc = readYaml(stackFile);
  if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) {
    throw new StackFileError(`${stackFile} must be a map with a top-level "config:" key`);
  }
  const values: Record<string, unknown> = {};
  const projectFile = path.join(path.dirname(stackFile), "Pulumi.yaml");
  if (existsSync(projectFile)) {
    const project = readYaml(projectFile) as { config?: Record<string, unknown> } | null;
    for (const [k, v] of Object.entries(project?.config ?? {})) {
      if (v !== null && typeof v === "object" && !Array.isArray(v) && ("value" in v || "default" in v)) {
        const spec = v as { value?: unknown; default?: unknown };
        values[fullKey(k)] = spec.value ?? spec.default;
      }
    }
  }
  const stackValues = ((doc ?? {}) as { config?: unknown }).config ?? {};
  if (typeof stackValues !== "object" || stackValues === null || Array.isArray(stackValues)) {
    throw new StackFileError(`${stackFile}: "config:" must be a map of keys`);
  }
  for (const [k, v] of Object.entries(stackValues)) values[fullKey(k)] = v;

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const { value, secret } = replaceSecure(v);
    if (secret) secretKeys.push(k);
    config[k] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys, file: stackFile };
}

export function stackFileFor(stack: string, dir = process.cwd()): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/**
 * Where the user ran `npm run SCRIPT`: npm starts scripts in the package root and passes the caller's directory
 * as INIT_CWD. Only trusted for that script: INIT_CWD is inherited by every process npm starts.
 */
export function callerDir(script: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return env.npm_lifecycle_event === script && env.INIT_CWD ? env.INIT_CWD : cwd;
}

/** The stack names of the `Pulumi.<stack>.yaml` files in DIR, sorted. */
export function stacksIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The stack file a command's `--stack NAME` (in PROJECT_DIR) or `--stack-file PATH` (read from FROM) names;
 * a StackFileError, for people, when it is not exactly one of them or the file is not there.
 */
export function resolveStackFile(opts: { stack?: string; stackFile?: string; from: string; projectDir: string }): string {
  if (!opts.stack === !opts.stackFile) throw new StackFileError("give exactly one of --stack or --stack-file");
  if (opts.stackFile) {
    const file = path.resolve(opts.from, opts.stackFile);
    if (!existsSync(file))
      throw new StackFileError(`--stack-file ${opts.stackFile}: there is no such file (${file}, read from ${opts.from})`);
    return file;
  }
  const file = stackFileFor(opts.stack as string, opts.projectDir);
  if (!existsSync(file)) {
    const stacks = stacksIn(opts.projectDir);
    throw new StackFileError(
      `there is no stack "${opts.stack}": ${opts.projectDir} has no ${path.basename(file)}. ${stacks.length ? `The stacks there: ${stacks.join(", ")}` : "It has no stack file (Pulumi.<stack>.yaml)"}; --stack-file PATH reads a stack file elsewhere`,
    );
  }
  return file;
}
