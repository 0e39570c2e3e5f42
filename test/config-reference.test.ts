import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REFERENCE_FILE, renderConfigReference } from "../tools/config-reference";

describe("docs/CONFIG-REFERENCE.md", () => {
  it("is what npm run docs:config generates from the schema (run it after changing components/config/schema.ts)", async () => {
    expect(readFileSync(REFERENCE_FILE, "utf8")).toBe(await renderConfigReference());
  });

  it("describes every key: a field added to the schema without .meta({ description }) fails here", async () => {
    const rows = (await renderConfigReference()).split("\n").filter((l) => l.startsWith("| `"));
    expect(rows.length).toBeGreaterThan(50);
    const cells = (l: string) => l.split(/(?<!\\)\|/);
    const undocumented = rows.filter((l) => cells(l)[5]?.trim() === "").map((l) => cells(l)[1]?.trim());
    expect(undocumented).toEqual([]);
  });

  it("states the defaults the schema applies", async () => {
    const text = await renderConfigReference();
    expect(text).toMatch(/\| `cluster.endpoint.port` +\| integer 1–65535 +\| +\| `6443` +\|/);
    expect(text).toMatch(/\| `cluster.kubelet.rootDir` +\| string +\| +\| `\/var\/lib\/kubelet` +\|/);
  });
});
