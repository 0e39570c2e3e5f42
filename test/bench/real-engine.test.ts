import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { syntheticInventory } from "../../bench/inventory";
import { baseStack } from "../../bench/measure";
import { stackFileOf } from "../../bench/real-engine";
import { buildResults, renderRealEngine } from "../../bench/report";
import { readStackConfig } from "../../plan/stackfile";

describe("the real engine's figures in the bench", () => {
  it("writes an inventory as a stack file the program's own reader gives back unchanged", () => {
    const inv = syntheticInventory(baseStack(), 10);
    const dir = mkdtempSync(path.join(tmpdir(), "bench-stack-"));
    try {
      const file = path.join(dir, "Pulumi.bench10.yaml");
      writeFileSync(file, stackFileOf(inv));
      const { config } = readStackConfig(file);
      expect(JSON.parse(config["baremetal-k8s:hosts"] ?? "null")).toEqual(inv.hosts);
      expect(JSON.parse(config["baremetal-k8s:cluster"] ?? "null")).toEqual(inv.cluster);
      expect(JSON.parse(config["baremetal-k8s:storage"] ?? "null")).toEqual(inv.storage);
      expect(
        Object.keys(config).filter((k) => k.endsWith("sshPrivateKey")),
        "the key is set apart, as a secret",
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows the real preview and no-op up beside the mock evaluation of the same size, and says why when not measured", () => {
    const lines = renderRealEngine(
      [{ hosts: 50, resources: 900, previewS: 40, previewPeakMb: 700, noopUpS: 60, noopUpPeakMb: 800, standInPeakMb: 250 }],
      [
        { hosts: 10, resources: 200, wallMs: 900, peakRssMb: 250 },
        { hosts: 50, resources: 900, wallMs: 2000, peakRssMb: 300 },
      ],
      { engine: "pulumi v3.248.0" },
    ).join("\n");
    expect(lines).toMatch(/^50\s+900\s+2\.0\s+300\s+40\.0\s+700\s+60\.0\s+800\s+20\.0$/m);
    expect(lines).toContain("50 hosts 250 MB");
    expect(lines).toContain("engine: pulumi v3.248.0");
    expect(renderRealEngine([], [], { note: "not measured: pulumi not found" }).join("\n")).toContain("not measured: pulumi not found");
  });

  it("adds realEngine to the JSON figures only when the run measured or skipped it", () => {
    const base = {
      sizes: [],
      invariants: {
        hosts: 5,
        blastRadius: {
          addWorker: { changed: [], removed: [], added: [] },
          removeWorker: { changed: [], removed: [], added: [], removedHost: "w-1" },
          longhornReplicas: { changed: [], removed: [], added: [], from: 3, to: 2 },
        },
        noop: { identical: 1, resources: 1, differing: [] },
        sessions: { perRole: {}, perHost: [] },
        wallMs: 1,
      },
      lab: [],
      totalMs: 1,
    };
    const m = {
      date: "",
      cores: 2,
      cpuModel: "",
      memoryGb: 1,
      node: "",
      platform: "",
      loadAverage: 0,
      nodeFlags: [],
      commit: "",
      note: "",
    };
    expect(buildResults(base, m).figures).not.toHaveProperty("realEngine");
    const r = buildResults({ ...base, realEngine: { figures: [], note: "skipped (--no-real-engine)" } }, m);
    expect(r.figures.realEngine).toEqual([]);
    expect(r.details.realEngine).toEqual({ note: "skipped (--no-real-engine)" });
  });
});
