import { readFileSync } from "node:fs";
import * as path from "node:path";

/** One key as a path segment: `.name`, or `["a.b"]` when the key holds a dot or bracket. */
export function segment(key: string, first = false): string {
  if (/[.[\]"]/.test(key)) return `[${JSON.stringify(key)}]`;
  return first ? key : `.${key}`;
}

/** The key paths a chart accepts, made from its published values.yaml and documentation. */
export interface ChartKeys {
  chart: string;
  version: string;
  source: string;
  /** Keys documented outside values.yaml (comments, the CRD behind a pass-through value), with where. */
  documented: Record<string, string>;
  /** Documented keys that take any content (a list of Tolerations). */
  documentedOpen: string[];
  /** Paths whose value takes any content (empty in values.yaml: tolerations, maps). */
  open: string[];
  keys: string[];
}

export function loadChartKeys(name: string): ChartKeys {
  return JSON.parse(readFileSync(path.join(__dirname, `${name}.json`), "utf8")) as ChartKeys;
}

/** Every leaf path of rendered values (list items as `[]`). */
export function leafPaths(v: unknown, p = ""): string[] {
  if (Array.isArray(v)) {
    const items = v.flatMap((x) => leafPaths(x, `${p}[]`));
    return items.length ? items : [p];
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    if (entries.length === 0) return [p];
    return entries.flatMap(([k, x]) => leafPaths(x, p + segment(k, p === "")));
  }
  return [p];
}

/**
 * The leaf paths of `values` the chart does not know: neither a key of its
 * values.yaml or documentation, nor inside a value that takes any content.
 */
export function unknownPaths(values: unknown, chart: ChartKeys): string[] {
  const known = new Set([...chart.keys, ...Object.keys(chart.documented)]);
  const open = [...chart.open, ...chart.documentedOpen];
  return [...new Set(leafPaths(values))].filter((p) => {
    if (known.has(p)) return false;
    return !open.some((o) => p.startsWith(`${o}.`) || p.startsWith(`${o}[`));
  });
}
