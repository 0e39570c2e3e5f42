import { STACK_OUTPUT_KEYS } from "../components/topology/removals";

const OUTPUT_KEYS: ReadonlySet<string> = new Set(STACK_OUTPUT_KEYS);

const EXPECTED =
  "expected the stack's previous outputs: the JSON of `pulumi stack output --json`, an earlier plan's JSON (`npm run plan -- --format json`), or that plan's `outputs` object";

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  return typeof v === "string" ? "a string" : `a ${typeof v}`;
}

/**
 * The previous stack outputs in a `--previous` document, or why the document is not one. Accepted: the
 * outputs themselves (`pulumi stack output --json`, or a plan's `outputs`; `{}` is a stack that was never
 * deployed), or a whole plan, whose `outputs` are taken. Anything else is refused rather than compared with
 * nothing: a wrong file would silently skip the checks it was given for.
 */
export function previousOutputsFrom(doc: unknown): { outputs: Record<string, unknown> } | { problem: string } {
  if (!isObject(doc)) return { problem: `${EXPECTED}; this file holds ${describe(doc)}` };
  if (Array.isArray(doc.findings) && Array.isArray(doc.resources)) {
    if (!isObject(doc.outputs))
      return {
        problem: `is a plan without outputs (made before plans had them): make it again, or ${EXPECTED.replace(/^expected/, "give")}`,
      };
    if (Object.keys(doc.outputs).length === 0)
      return {
        problem:
          "is a plan of a config with errors (exit 2), which has no outputs: give the plan of the config that was deployed, or `pulumi stack output --json`",
      };
    return { outputs: doc.outputs };
  }
  const keys = Object.keys(doc);
  if (keys.length > 0 && !keys.some((k) => OUTPUT_KEYS.has(k)))
    return { problem: `${EXPECTED}; this map has none of its keys (${[...OUTPUT_KEYS].join(", ")}), only ${keys.slice(0, 5).join(", ")}` };
  return { outputs: doc };
}
