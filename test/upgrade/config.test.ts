import { describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config";
import { loadStack } from "../harness";

const dev = loadStack("dev");
const withUpgrade = (upgrade: unknown) =>
  validateConfig({ cluster: { ...(dev.cluster as object), upgrade }, hosts: dev.hosts, storage: dev.storage, sshPrivateKeySet: true });

describe("cluster.upgrade", () => {
  it("defaults to one worker at a time, waiting for storage, the pinned intermediate versions", () => {
    expect(
      validateConfig({ cluster: dev.cluster, hosts: dev.hosts, storage: dev.storage, sshPrivateKeySet: true }).spec?.cluster.upgrade,
    ).toEqual({
      maxUnavailableWorkers: 1,
      waitForStorage: true,
      intermediateVersions: [],
    });
    expect(withUpgrade({ maxUnavailableWorkers: 3, waitForStorage: false }).spec?.cluster.upgrade).toMatchObject({
      maxUnavailableWorkers: 3,
      waitForStorage: false,
    });
  });

  it("refuses a maxUnavailableWorkers that is not an integer >= 1, and a waitForStorage that is not a boolean, naming the key", () => {
    const zero = withUpgrade({ maxUnavailableWorkers: 0 }).findings;
    expect(zero.map((f) => [f.severity, f.path])).toEqual([["error", "cluster.upgrade.maxUnavailableWorkers"]]);
    expect(zero[0].message).toContain("at least 1");
    const half = withUpgrade({ maxUnavailableWorkers: 1.5 }).findings;
    expect(half.map((f) => [f.severity, f.path])).toEqual([["error", "cluster.upgrade.maxUnavailableWorkers"]]);
    expect(half[0].message).toContain("whole number");
    expect(withUpgrade({ waitForStorage: "yes" }).findings).toEqual([expect.objectContaining({ path: "cluster.upgrade.waitForStorage" })]);
  });
});
