import { describe, expect, it } from "vitest";
import { standInProvider } from "./standin-providers/provider";

const CMD = "urn:pulumi:s::baremetal-k8s::baremetal-k8s:host:Host$command:remote:Command::cp-1-prepare";
const PW = "urn:pulumi:s::baremetal-k8s::random:index/randomPassword:RandomPassword::vrrp";

describe("the stand-in providers (not the real ones: see provider.ts)", () => {
  it("refuse to create, update or delete unless record-only mode is asked for, so an up against them cannot pass for real", async () => {
    const p = standInProvider("command", {});
    await expect(p.create?.(CMD, { create: "true" })).rejects.toThrow(/test stand-in that serves previews only/);
    await expect(p.delete?.("id", CMD, {})).rejects.toThrow(/stand-in/);
  });

  it("in record-only mode (the bench alone) create returns the inputs with empty stdout and touches nothing", async () => {
    const p = standInProvider("command", { BMK8S_STANDIN_RECORD_ONLY: "1" });
    const r = await p.create?.(CMD, { create: "mkfs /dev/vdb", connection: { host: "10.0.0.1" } });
    expect(r?.outs).toEqual({ create: "mkfs /dev/vdb", connection: { host: "10.0.0.1" }, stdout: "", stderr: "" });
    expect(p.diff, "the engine diffs the inputs itself").toBeUndefined();
    const pw = await standInProvider("random", { BMK8S_STANDIN_RECORD_ONLY: "1" }).create?.(PW, { length: 12 });
    expect((pw?.outs as { result: string }).result).toHaveLength(12);
  });
});
