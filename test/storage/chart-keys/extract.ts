/**
 * Regenerates a chart-keys file from a chart's published values.yaml:
 *
 *   npx tsx test/storage/chart-keys/extract.ts <values.yaml> <out.json> <chart> <version> <source-url>
 *
 * `keys` lists every key path of values.yaml (`a.b`, list items as `a[]`,
 * keys with dots quoted as `["csi.storage.k8s.io/fstype"]`); `open` lists the
 * paths whose value there is empty (null, [] or {}), which take any content.
 * `documented` (kept from the existing file) holds keys the chart documents
 * only in comments or in the CRD it passes values to, each with its source.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";
import { segment } from "./keys";

const [valuesFile, outFile, chart, version, source] = process.argv.slice(2);
if (!valuesFile || !outFile || !chart || !version || !source) {
  process.stderr.write("usage: extract.ts <values.yaml> <out.json> <chart> <version> <source-url>\n");
  process.exit(2);
}

const keys = new Set<string>();
const open = new Set<string>();
const walk = (v: unknown, path: string) => {
  if (Array.isArray(v)) {
    if (v.length === 0) open.add(path);
    for (const item of v) if (item !== null && typeof item === "object") walk(item, `${path}[]`);
    if (v.length) keys.add(`${path}[]`);
    return;
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    if (entries.length === 0) open.add(path);
    for (const [k, x] of entries) {
      const p = path + segment(k, path === "");
      keys.add(p);
      walk(x, p);
    }
    return;
  }
  if (v === null) open.add(path);
};
walk(parse(readFileSync(valuesFile, "utf8")), "");

const previous = existsSync(outFile)
  ? (JSON.parse(readFileSync(outFile, "utf8")) as { documented?: Record<string, string>; documentedOpen?: string[] })
  : {};
const out = {
  chart,
  version,
  source,
  documented: previous.documented ?? {},
  documentedOpen: previous.documentedOpen ?? [],
  open: [...open].sort(),
  keys: [...keys].sort(),
};
writeFileSync(outFile, `${JSON.stringify(out, null, 1)}\n`);
