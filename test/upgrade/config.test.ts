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
    expect(withUpgrade({ maxUnavailableWorkers: 0 }).findings).toEqual([
      expect.objectContaining({
        severity: "error",
        path: "cluster.upgrade.maxUnavailableWorkers",
        message: expect.stringContaining("at least 1"),
      }),
    ]);
    expect(withUpgrade({ maxUnavailableWorkers: 1.5 }).findings).toEqual([
      expect.objectContaining({ path: "cluster.upgrade.maxUnavailableWorkers", message: expect.stringContaining("whole number") }),
    ]);
    expect(withUpgrade({ waitForStorage: "yes" }).findings).toEqual([expect.objectContaining({ path: "cluster.upgrade.waitForStorage" })]);
  });
});
