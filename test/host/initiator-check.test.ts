import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { HostSpec } from "../../components/config/spec";
import { longhornNodesReady } from "../../components/host/initiator-check";
import { describeDuplicateInitiators, findDuplicateInitiators } from "../../components/host/render-iscsi";

describe("findDuplicateInitiators", () => {
  it("finds names reported by more than one host, naming every such host", () => {
    expect(
      findDuplicateInitiators([
        ["w-1", "iqn.a"],
        ["w-2", "iqn.cloned"],
        ["w-3", "iqn.cloned "],
        ["w-4", "iqn.b"],
        ["w-5", "iqn.cloned"],
      ]),
    ).toEqual([{ name: "iqn.cloned", hosts: ["w-2", "w-3", "w-5"] }]);
  });

  it("finds nothing among distinct names, and skips names not known yet", () => {
    expect(
      findDuplicateInitiators([
        ["w-1", "iqn.a"],
        ["w-2", "iqn.b"],
      ]),
    ).toEqual([]);
    expect(
      findDuplicateInitiators([
        ["w-1", undefined],
        ["w-2", ""],
        ["w-3", undefined],
      ]),
    ).toEqual([]);
  });

  it("reports several shared names, sorted by name", () => {
    const dups = findDuplicateInitiators([
      ["a", "iqn.z"],
      ["b", "iqn.y"],
      ["c", "iqn.z"],
      ["d", "iqn.y"],
    ]);
    expect(dups.map((d) => d.name)).toEqual(["iqn.y", "iqn.z"]);
  });

  it("says which hosts share a name and how to give one of them a new name", () => {
    const message = describeDuplicateInitiators([{ name: "iqn.cloned", hosts: ["w-2", "w-3"] }]);
    expect(message).toContain("hosts w-2 and w-3 share the iSCSI initiator name iqn.cloned");
    expect(message).toContain("GenerateName=yes");
    expect(message).toContain("--replace <urn of w-3-iscsi>");
  });
});

function fakeHost(name: string, initiator?: string) {
  return { spec: { name } as HostSpec, initiatorName: initiator === undefined ? undefined : pulumi.output(initiator) };
}

/** The settled value of an Output (Output.promise is internal but present). */
function settle<T>(o: pulumi.Output<T>): Promise<T> {
  // A rejected Output also rejects its isKnown/isSecret promises: observe them so they are not reported as unhandled.
  const internal = o as unknown as { promise(): Promise<T>; isKnown: Promise<boolean>; isSecret: Promise<boolean> };
  internal.isKnown.catch(() => undefined);
  internal.isSecret.catch(() => undefined);
  return internal.promise();
}

describe("longhornNodesReady", () => {
  it("resolves to the Longhorn hosts when their names differ, leaving out hosts without an iSCSI step", async () => {
    const hosts = [fakeHost("w-1", "iqn.a"), fakeHost("cp-1"), fakeHost("w-2", "iqn.b")];
    const ready = await settle(longhornNodesReady(hosts));
    expect(ready.map((h) => h.spec.name)).toEqual(["w-1", "w-2"]);
  });

  it("rejects naming both hosts when two report the same name", async () => {
    const hosts = [fakeHost("w-1", "iqn.a"), fakeHost("w-2", "iqn.cloned"), fakeHost("w-3", "iqn.cloned")];
    await expect(settle(longhornNodesReady(hosts))).rejects.toThrow(/hosts w-2 and w-3 share the iSCSI initiator name iqn\.cloned/);
  });
});
