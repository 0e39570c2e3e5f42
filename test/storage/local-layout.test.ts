import { describe, expect, it } from "vitest";
import { renderLocalStaticValues } from "../../components/storage/values-local-static";
import { loadStack } from "../harness";
import { specOf } from "./helpers";
import { talosLocalSeed } from "./seeds";

describe("local disks land where the provisioner looks", () => {
  for (const [name, cfg] of [
    ["the example lab", () => loadStack("dev")],
    ["Talos-style classes", talosLocalSeed],
  ] as const) {
    it(`${name}: every local disk is mounted (Filesystem) or linked (Block) directly inside its class's hostDir, named after the disk`, () => {
      const { spec } = specOf(cfg());
      const values = renderLocalStaticValues(spec) as {
        classes: { name: string; hostDir: string; mountDir: string; volumeMode: string }[];
      };
      const byName = new Map(values.classes.map((c) => [c.name, c]));
      let seen = 0;
      for (const h of spec.hosts) {
        for (const d of h.disks) {
          if (d.use !== "local") continue;
          seen++;
          const cls = byName.get(d.storageClass);
          expect(cls, `${h.name}/${d.name}`).toBeDefined();
          expect(cls?.volumeMode).toBe(d.volumeMode);
          // The provisioner discovers only direct entries of hostDir: a mountpoint for Filesystem, a symlink for Block.
          const published = d.volumeMode === "Block" ? d.linkPath : d.mountpoint;
          expect(published).toBe(`${cls?.hostDir}/${d.name}`);
          // The provisioner sees hostDir at the same path as the host and the kubelet.
          expect(cls?.mountDir).toBe(cls?.hostDir);
          if (d.volumeMode === "Block") expect(d.device.startsWith("/dev/disk/by-id/")).toBe(true);
        }
      }
      expect(seen).toBeGreaterThan(0);
    });
  }
});
