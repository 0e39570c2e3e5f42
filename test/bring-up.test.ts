import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { BRING_UP_FILE, renderBringUpDoc } from "../tools/bring-up";

/** The `a --> b` edges of a Mermaid flowchart (`a & b --> c["label"]` included), node ids only. */
function mermaidEdges(block: string): Set<string> {
  const edges = new Set<string>();
  for (const line of block.split("\n")) {
    const parts = line.replace(/\[[^\]]*\]|\(\([^)]*\)\)/g, "").split(/\s*-->\s*/);
    for (let i = 1; i < parts.length; i++) {
      for (const a of (parts[i - 1] ?? "").trim().split(/\s*&\s*/)) {
        for (const b of (parts[i] ?? "").trim().split(/\s*&\s*/)) if (a && b) edges.add(`${a} --> ${b}`);
      }
    }
  }
  return edges;
}

/** Which node reaches which: two diagrams agree when they order the same phases the same way. */
function closure(edges: Set<string>, nodes: Set<string>): string[] {
  const succ = new Map<string, string[]>();
  for (const e of edges) {
    const [a = "", b = ""] = e.split(" --> ");
    succ.set(a, [...(succ.get(a) ?? []), b]);
  }
  const out: string[] = [];
  for (const a of nodes) {
    const seen = new Set<string>();
    const stack = [...(succ.get(a) ?? [])];
    while (stack.length) {
      const x = stack.pop() ?? "";
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...(succ.get(x) ?? []));
    }
    for (const b of seen) if (nodes.has(b)) out.push(`${a} --> ${b}`);
  }
  return out.sort();
}

function mermaidBlockAfter(text: string, marker: string): string {
  const from = text.indexOf(marker);
  const start = text.indexOf("```mermaid", from);
  return text.slice(start, text.indexOf("```", start + 3));
}

describe("docs/BRING-UP.md", () => {
  it("is what npm run docs:bring-up generates from the dev stack (run it after changing a step or a dependsOn edge)", async () => {
    expect(readFileSync(BRING_UP_FILE, "utf8")).toBe(await renderBringUpDoc());
  });

  it("shows cp-2's steps in order, its certificate upload run on cp-1, and the reason of each wait", async () => {
    const text = await renderBringUpDoc();
    const cp2 = text.slice(text.indexOf("### cp-2"), text.indexOf("### ", text.indexOf("### cp-2") + 4));
    expect(cp2).toMatch(/`cp-2-upload-certs` on \*\*cp-1\*\* \(wave \d+\)/);
    expect(cp2.indexOf("cp-2-upload-certs")).toBeLessThan(cp2.indexOf("`cp-2-kubeadm-join`"));
    expect(cp2).toContain("`cp-1-kubeadm-init`: the previous follower has joined (serial etcd membership changes)");
    expect(cp2).toContain("`cp-2-upload-certs`: the token is valid, the control-plane certificates freshly uploaded, the CA hash known");
  });

  it("agrees with the README's bring-up diagram: the same phases in the same order", () => {
    const readme = readFileSync(path.resolve(__dirname, "../README.md"), "utf8");
    const doc = readFileSync(BRING_UP_FILE, "utf8");
    const generated = mermaidEdges(mermaidBlockAfter(doc, "## Phases"));
    const drawn = new Set([...mermaidEdges(mermaidBlockAfter(readme, "Bring-up order.")).values()].filter((e) => !e.startsWith("check ")));
    const nodes = new Set([...generated].flatMap((e) => e.split(" --> ")));
    expect(closure(drawn, nodes)).toEqual(closure(generated, nodes));
    // the witness joins after the last control plane, not right after kubeadm init
    expect(generated).toContain("joincp --> witness");
  });
});
