import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { z } from "zod";
import { clusterSchema, hostsSchema, ingressSchema, storageSchema } from "../components/config/schema";

/**
 * Writes docs/CONFIG-REFERENCE.md from the zod schema (descriptions, examples,
 * defaults, types and ranges all come from components/config/schema.ts), so
 * the reference cannot drift from what the program accepts. A unit test fails
 * when the committed file differs from what this generates.
 */

export const REFERENCE_FILE = path.resolve(__dirname, "../docs/CONFIG-REFERENCE.md");

interface JsonSchema {
  type?: string | string[];
  description?: string;
  examples?: unknown[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

interface Row {
  key: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

function code(v: unknown): string {
  return `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map(code).join(" \\| ");
  if (s.const !== undefined) return code(s.const);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.every((a) => a.properties?.use?.const !== undefined)) return "map (by `use`, below)";
  if (alternatives) return alternatives.map(typeOf).join(" or ");
  switch (s.type) {
    case "integer":
    case "number": {
      const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
      const range =
        s.minimum !== undefined && max !== undefined ? ` ${s.minimum}–${max}` : s.minimum !== undefined ? ` ≥ ${s.minimum}` : "";
      return `${s.type}${range}`;
    }
    case "array":
      return `list of ${s.items ? typeOf(s.items) : "values"}${s.minItems ? ` (at least ${s.minItems})` : ""}`;
    case "object":
      return s.properties ? "map" : `map of ${typeof s.additionalProperties === "object" ? typeOf(s.additionalProperties) : "values"}`;
    default:
      return typeof s.type === "string" ? s.type : "value";
  }
}

function describe(s: JsonSchema): string {
  const examples = s.examples?.length ? ` E.g. ${s.examples.map(code).join(", ")}.` : "";
  // Outside code spans, <address> would be read as an HTML tag and vanish.
  const text = (s.description ?? "").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `${text}${examples}`.trim();
}

function walk(s: JsonSchema, key: string, required: boolean, rows: Row[], extra = ""): void {
  const variants = s.oneOf?.filter((v) => v.properties?.use?.const !== undefined);
  if (variants?.length) {
    rows.push({
      key,
      type: `one of, by \`use\`: ${variants.map((v) => code(v.properties?.use?.const)).join(", ")}`,
      required,
      description: describe(s) || "One entry: the fields every use has, then those of its use.",
    });
    const first = variants[0]?.properties ?? {};
    const common = Object.keys(first).filter(
      (p) => p !== "use" && variants.every((v) => JSON.stringify(v.properties?.[p]) === JSON.stringify(first[p])),
    );
    for (const p of common) walk(first[p], `${key}.${p}`, variants[0]?.required?.includes(p) ?? false, rows, "any use");
    for (const v of variants) {
      const use = v.properties?.use?.const;
      rows.push({ key: `${key}.use`, type: code(use), required: true, description: describe(v) });
      for (const [p, ps] of Object.entries(v.properties ?? {})) {
        if (p === "use" || common.includes(p)) continue;
        walk(ps, `${key}.${p}`, v.required?.includes(p) ?? false, rows, `use: ${String(use)}`);
      }
    }
    return;
  }
  const type = typeOf(s);
  rows.push({
    key,
    type: extra ? `${type} (${extra})` : type,
    required: required && s.default === undefined,
    ...(s.default !== undefined &&
    !(typeof s.default === "object" && s.default !== null && Object.keys(s.default).length === 0 && s.properties)
      ? { default: s.default }
      : {}),
    description: describe(s),
  });
  if (s.type === "object" && s.properties) {
    for (const [p, ps] of Object.entries(s.properties)) walk(ps, `${key}.${p}`, s.required?.includes(p) ?? false, rows, extra);
  }
  if (s.type === "array" && s.items?.properties) {
    for (const [p, ps] of Object.entries(s.items.properties))
      walk(ps, `${key}[].${p}`, s.items.required?.includes(p) ?? false, rows, extra);
  }
  if (s.type === "array" && s.items?.oneOf) walk(s.items, `${key}[]`, true, rows, extra);
}

function table(rows: Row[]): string {
  const esc = (t: string) => t.replace(/\|(?<!\\\|)/g, "\\|").replace(/\n/g, " ");
  const lines = ["| Key | Type | Required | Default | Description |", "| --- | --- | --- | --- | --- |"];
  for (const r of rows) {
    lines.push(
      `| \`${r.key}\` | ${r.type} | ${r.required ? "yes" : ""} | ${r.default === undefined ? "" : esc(code(r.default))} | ${esc(r.description)} |`,
    );
  }
  return lines.join("\n");
}

function jsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

export async function renderConfigReference(): Promise<string> {
  const sections: [string, string, z.ZodType][] = [
    ["baremetal-k8s:cluster", "The cluster as a whole: name, version, API endpoint, networks, SSH access. Required.", clusterSchema],
    ["baremetal-k8s:hosts", "The machines. Required, at least one control-plane host.", hostsSchema],
    ["baremetal-k8s:storage", "In-cluster storage. Optional: absent means none.", storageSchema],
    ["baremetal-k8s:ingress", "Ingress controller. Optional: absent means none.", ingressSchema],
  ];
  const parts = [
    "# Stack config reference",
    "",
    "<!-- Generated by `npm run docs:config` from components/config/schema.ts; do not edit by hand. -->",
    "",
    "Every key lives in the `baremetal-k8s` namespace of a stack file (`Pulumi.<stack>.yaml`) or of `Pulumi.yaml` (project-wide, replaced as a whole by a stack that sets the same key). " +
      "Fields left out take the default shown. Rules that span fields (duplicates, overlapping networks, quorum, replica counts) are checked by `npm run plan` and `pulumi preview`, which name the offending key and the fix.",
    "",
    "## `baremetal-k8s:sshPrivateKey`",
    "",
    "The private key the controller uses to log in to every host (OpenSSH or PEM text). Required, and always a secret: " +
      "`pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`. It reaches hosts only through the SSH connection, never a command line.",
  ];
  for (const [key, intro, schema] of sections) {
    const rows: Row[] = [];
    const js = jsonSchema(schema);
    if (js.type === "array" && js.items) {
      rows.push({ key: key.split(":")[1], type: typeOf(js), required: true, description: describe(js) });
      for (const [p, ps] of Object.entries(js.items.properties ?? {}))
        walk(ps, `${key.split(":")[1]}[].${p}`, js.items.required?.includes(p) ?? false, rows);
    } else {
      for (const [p, ps] of Object.entries(js.properties ?? {}))
        walk(ps, `${key.split(":")[1]}.${p}`, js.required?.includes(p) ?? false, rows);
    }
    parts.push("", `## \`${key}\``, "", intro, "", table(rows));
  }
  const text = `${parts.join("\n")}\n`;
  const options = (await prettier.resolveConfig(REFERENCE_FILE)) ?? {};
  return prettier.format(text, { ...options, parser: "markdown" });
}

if (require.main === module) {
  void renderConfigReference().then((text) => {
    const before = (() => {
      try {
        return readFileSync(REFERENCE_FILE, "utf8");
      } catch {
        return "";
      }
    })();
    writeFileSync(REFERENCE_FILE, text);
    process.stdout.write(`${path.relative(process.cwd(), REFERENCE_FILE)} ${before === text ? "unchanged" : "written"}\n`);
  });
}
