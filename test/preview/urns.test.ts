/**
 * The offline plan names resources as the real engine does (found by the real preview in real-preview.test.ts, which
 * needs the built tools; this runs everywhere): a resource's URN type is its parent's whole qualified type chain plus its
 * own, so a resource two components deep is `Cluster$ControlPlane$random:...`, not the SDK mock's `ControlPlane$random:...`.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runPlan } from "../../plan/plan";
import { readStackConfig } from "../../plan/stackfile";
import { REPO_ROOT } from "../harness";

const STACKS = readdirSync(REPO_ROOT)
  .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .sort();

const typeChain = (urn: string): string => urn.split("::")[2];

describe("offline plan URNs are the engine's", () => {
  for (const stack of STACKS) {
    it(`${stack}: every URN's type is its parent's qualified type, then its own`, async () => {
      const { plan } = await runPlan(readStackConfig(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`)));
      expect(plan.resources.length).toBeGreaterThan(0);
      const urns = new Set(plan.resources.map((r) => r.urn));
      for (const r of plan.resources) {
        expect(typeChain(r.urn), r.urn).toBe(r.parent === null ? r.type : `${typeChain(r.parent)}$${r.type}`);
        if (r.parent !== null) expect(urns.has(r.parent), `${r.urn}: parent ${r.parent}`).toBe(true);
        for (const d of r.dependsOn) expect(urns.has(d), `${r.urn}: dependsOn ${d}`).toBe(true);
      }
      expect(typeChain(plan.resources.find((r) => r.name === "certificate-key")?.urn ?? "")).toBe(
        "baremetal-k8s:cluster:Cluster$baremetal-k8s:controlplane:ControlPlane$random:index/randomBytes:RandomBytes",
      );
    });
  }
});
