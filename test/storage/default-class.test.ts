import { describe, expect, it } from "vitest";
import { defaultStorageClass } from "../../components/storage/default-class";
import { loadStack, runProgram, type TestConfig } from "../harness";
import { type MutableStorage, planOf, specOf, storageOf, valuesOf } from "./helpers";

/** Which StorageClasses the rendered releases mark default, read from each chart's own switch. */
async function defaultsMarked(cfg: TestConfig): Promise<Record<string, boolean>> {
  const run = await runProgram(cfg);
  const out: Record<string, boolean> = {};
  if (run.find("rook-ceph-cluster")) {
    const v = valuesOf(run, "rook-ceph-cluster") as { cephBlockPools: { storageClass: { name: string; isDefault: boolean } }[] };
    for (const p of v.cephBlockPools) out[p.storageClass.name] = p.storageClass.isDefault;
  }
  if (run.find("longhorn"))
    out.longhorn = (valuesOf(run, "longhorn") as { persistence: { defaultClass: boolean } }).persistence.defaultClass;
  if (run.find("local-static-provisioner")) {
    const v = valuesOf(run, "local-static-provisioner") as { classes: { name: string; storageClass: { isDefaultClass: boolean } }[] };
    for (const c of v.classes) out[c.name] = c.storageClass.isDefaultClass;
  }
  return out;
}

function withStorage(mutate: (s: MutableStorage) => void): TestConfig {
  const cfg = loadStack("dev");
  mutate(storageOf(cfg));
  return cfg;
}

describe("exactly one default StorageClass", () => {
  it("is Ceph block when everything is enabled and the config names none", async () => {
    const cfg = withStorage((s) => delete s.defaultClass);
    expect(defaultStorageClass(specOf(cfg).spec)).toBe("ceph-block");
    expect(await defaultsMarked(cfg)).toEqual({ "ceph-block": true, longhorn: false, "fast-ssd": false, "raw-block": false });
  });

  it("is Longhorn without Ceph", async () => {
    const cfg = withStorage((s) => {
      delete s.defaultClass;
      s.rookCeph.enabled = false;
    });
    expect(await defaultsMarked(cfg)).toEqual({ longhorn: true, "fast-ssd": false, "raw-block": false });
  });

  it("is the first local class when only local volumes exist", async () => {
    const cfg = withStorage((s) => {
      delete s.defaultClass;
      s.rookCeph.enabled = false;
      s.longhorn.enabled = false;
    });
    expect(await defaultsMarked(cfg)).toEqual({ "fast-ssd": true, "raw-block": false });
  });

  it("is the class storage.defaultClass names, all others explicitly not default", async () => {
    for (const name of ["longhorn", "raw-block", "ceph-block"]) {
      const cfg = withStorage((s) => (s.defaultClass = name));
      const marked = await defaultsMarked(cfg);
      expect(
        Object.entries(marked)
          .filter(([, d]) => d)
          .map(([n]) => n),
      ).toEqual([name]);
      expect(Object.keys(marked)).toHaveLength(4);
    }
  });

  it("refuses a defaultClass that no enabled system creates", async () => {
    const cfg = withStorage((s) => {
      s.defaultClass = "longhorn";
      s.longhorn.enabled = false;
    });
    const { plan, exitCode } = await planOf(cfg);
    expect(exitCode).toBe(2);
    expect(plan.findings).toContainEqual(expect.objectContaining({ severity: "error", path: "storage.defaultClass" }));
  });
});
