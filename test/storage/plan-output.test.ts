import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../plan/markdown";
import { clone, loadStack } from "../harness";
import { planOf, storageOf } from "./helpers";
import { cephControlPlanesSeed } from "./seeds";

describe("the plan's storage section", () => {
  it("lists, per storage system of the example lab, each host and disk it uses and what it survives", async () => {
    const { plan, recorded } = await planOf(loadStack("dev"));
    const md = renderMarkdown(plan, recorded, "dev");
    const section = md.slice(md.indexOf("## Storage"), md.indexOf("## Bring-up"));
    expect(section).toContain("### Longhorn");
    expect(section).toContain("3 replicas per volume on different nodes: survives **2** node failures");
    expect(section).toContain("| w-1 | longhorn | `/dev/disk/by-id/nvme-Samsung_SSD_970_EVO_1TB_W1LONGHORN` | `/var/lib/longhorn` |");
    expect(section).toContain("### Rook-Ceph");
    expect(section).toContain("3 mons, block pool size 3 with failure domain host: survives **1** host failure.");
    expect(section).toContain("| w-4 | osd0 | `/dev/disk/by-id/ata-ST4000VN008-2DR166_W4CEPH0` |");
    expect(section).toContain("### Local class raw-block");
    expect(section).toContain("| w-3 | raw1 | `/dev/disk/by-id/ata-Samsung_SSD_870_EVO_500GB_W3BLOCK` | `/var/lib/disks/block/raw1` |");
  });

  it("claims no tolerance for a system whose keys have an error: the numbers it would rest on are invalid", async () => {
    const cfg = clone(loadStack("dev"));
    storageOf(cfg).longhorn = { ...storageOf(cfg).longhorn, replicaCount: 9 };
    const { plan, recorded, exitCode } = await planOf(cfg);
    expect(exitCode).toBe(2);
    const md = renderMarkdown(plan, recorded, "dev");
    const longhorn = md.slice(md.indexOf("### Longhorn"), md.indexOf("### Rook-Ceph"));
    expect(longhorn).toContain(
      "9 replicas per volume on different nodes: what it survives is not known until `storage.longhorn.replicaCount` is fixed",
    );
    expect(longhorn).not.toContain("survives **");
    // the other systems keep theirs
    expect(md).toContain("failure domain host: survives **1** host failure.");
  });

  it("says what a two-host Ceph pool tolerates", async () => {
    const { plan, recorded } = await planOf(cephControlPlanesSeed());
    const md = renderMarkdown(plan, recorded, "seed");
    expect(md).toContain("OSD hosts cp-1, cp-2 (2 OSDs); 3 mons, block pool size 2 with failure domain host: survives **1** host failure.");
    expect(md).not.toContain("### Longhorn");
  });

  it("keeps the JSON contract: the same top-level keys and resource fields, storage details inside topology", async () => {
    const { plan } = await planOf(loadStack("dev"));
    const json = JSON.parse(JSON.stringify(plan)) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(["findings", "outputs", "resources", "topology"]);
    const resources = json.resources as Record<string, unknown>[];
    for (const r of resources) expect(Object.keys(r).sort()).toEqual(["dependsOn", "host", "inputs", "name", "parent", "type", "urn"]);
    const releases = resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.name);
    // One per storage chart, beside the control plane's CNI and the network's MetalLB and Traefik.
    expect(releases.sort()).toEqual([
      "cni-cilium",
      "local-static-provisioner",
      "longhorn",
      "metallb",
      "rook-ceph",
      "rook-ceph-cluster",
      "traefik",
    ]);
    const topology = json.topology as { storage: { rookCeph: { disks: unknown[] } } };
    expect(topology.storage.rookCeph.disks).toHaveLength(3);
  });
});
