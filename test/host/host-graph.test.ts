import { describe, expect, it } from "vitest";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { clone, loadStack, runProgram, type ProgramRun } from "../harness";
import type { RecordedResource } from "../../plan/evaluate";

const HOST = "baremetal-k8s:host:Host";
const CMD = "command:remote:Command";

function stepsOf(run: ProgramRun, host: string): string[] {
  const h = run.get(host, HOST);
  return run
    .descendants(h.urn)
    .filter((r) => r.type === CMD)
    .map((r) => r.name)
    .sort();
}

/** The commands of Host components (other components' commands belong to their own tests). */
function hostCommands(run: ProgramRun): RecordedResource[] {
  return run.ofType(HOST).flatMap((h) => run.descendants(h.urn).filter((r) => r.type === CMD));
}

/** Outputs for the mock engine: inputs echoed, and a chosen stdout for the iSCSI steps. */
function withInitiatorNames(names: Record<string, string>) {
  return (args: MockResourceArgs, rec: RecordedResource) => {
    const host = rec.name.replace(/-iscsi$/, "");
    if (rec.type === CMD && rec.name.endsWith("-iscsi") && names[host] !== undefined) {
      return { ...(args.inputs as Record<string, unknown>), stdout: `${names[host]}\n`, stderr: "" };
    }
    return args.inputs as Record<string, unknown>;
  };
}

describe("Host children in the dev stack", () => {
  it("gives each host its node prep, one step per disk (ephemeral disks together) and an iSCSI step on every node once Longhorn is enabled, named from host and disk names", async () => {
    const run = await runProgram(loadStack("dev"));
    expect(stepsOf(run, "cp-1")).toEqual(["cp-1-disk-backup", "cp-1-iscsi", "cp-1-node-prep"]);
    expect(stepsOf(run, "cp-2")).toEqual(["cp-2-iscsi", "cp-2-node-prep"]);
    expect(stepsOf(run, "w-1")).toEqual(["w-1-disk-longhorn", "w-1-disk-ssd1", "w-1-iscsi", "w-1-node-prep"]);
    expect(stepsOf(run, "w-2")).toEqual(["w-2-disk-longhorn", "w-2-disk-osd0", "w-2-iscsi", "w-2-node-prep"]);
    expect(stepsOf(run, "w-3")).toEqual(["w-3-disk-longhorn", "w-3-disk-osd0", "w-3-disk-raw1", "w-3-iscsi", "w-3-node-prep"]);
    expect(stepsOf(run, "w-4")).toEqual(["w-4-disk-osd0", "w-4-ephemeral", "w-4-iscsi", "w-4-node-prep"]);
  });

  it("runs every disk and iSCSI step after the host's node prep, on that host's address", async () => {
    const run = await runProgram(loadStack("dev"));
    for (const h of run.ofType(HOST)) {
      const prep = run.get(`${h.name}-node-prep`);
      for (const r of run.descendants(h.urn).filter((x) => x.type === CMD && x !== prep)) {
        run.assertAfter(r, prep);
        expect(run.hostAddressOf(r)).toBe(run.hostAddressOf(prep));
      }
    }
    expect(run.hostAddressOf(run.get("w-3-disk-raw1"))).toBe("192.168.10.23");
  });

  it("puts the SSH key only in the connection (never in a script or trigger), pins the host key, and re-runs a changed script in place", async () => {
    const run = await runProgram(loadStack("dev"));
    const keyPaths = (v: unknown, p: string, out: string[]) => {
      if (typeof v === "string" && v.includes("test-key-not-real")) out.push(p);
      else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) keyPaths(x, p ? `${p}.${k}` : k, out);
      return out;
    };
    expect(hostCommands(run).length).toBe(22);
    for (const r of hostCommands(run)) {
      expect(run.isSecretInput(r, "connection")).toBe(true);
      expect(JSON.stringify(r.inputs)).not.toContain("test-key-not-real");
      expect(keyPaths(r.plainInputs, "", [])).toEqual(["connection.privateKey"]);
      expect((r.plainInputs.connection as { hostKey?: string }).hostKey).toMatch(/^ssh-ed25519 /);
      expect(r.inputs.triggers).toHaveLength(1);
      expect(r.inputs.update).toBe(r.inputs.create);
      expect(r.inputs.addPreviousOutputInEnv).toBe(false);
    }
  });

  it("wraps scripts in sudo -n for a non-root SSH user", async () => {
    const cfg = loadStack("dev");
    const cluster = clone(cfg.cluster) as { ssh: { user: string } };
    cluster.ssh.user = "admin";
    const run = await runProgram({ ...cfg, cluster });
    for (const r of hostCommands(run)) {
      expect(r.inputs.create).toMatch(/^sudo -n bash -c '/);
      expect(r.inputs.delete).toMatch(/^sudo -n bash -c '/);
    }
    const root = await runProgram(loadStack("dev"));
    expect(root.get("w-1-node-prep").inputs.create).toMatch(/^bash -c '/);
  });

  it("adding a host changes no input of any existing resource", async () => {
    const cfg = loadStack("dev");
    const before = await runProgram(cfg);
    const hosts = clone(cfg.hosts) as Record<string, unknown>[];
    hosts.push({
      name: "w-5",
      address: "192.168.10.25",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIKcVQ+sGoOPZXX2tSPaSPaPlR1IU9WVY3pt3uLVliJF",
      roles: ["worker"],
      disks: [{ name: "longhorn", device: "/dev/disk/by-id/nvme-W5", use: "longhorn" }],
    });
    const after = await runProgram({ ...cfg, hosts });
    for (const r of hostCommands(before)) {
      expect(after.get(r.name).inputs, r.name).toEqual(r.inputs);
    }
    expect(stepsOf(after, "w-5")).toEqual(["w-5-disk-longhorn", "w-5-iscsi", "w-5-node-prep"]);
  });

  it("removing a disk removes only that disk's step", async () => {
    const cfg = loadStack("dev");
    const before = await runProgram(cfg);
    const hosts = clone(cfg.hosts) as { name: string; disks?: { name: string }[] }[];
    const w3 = hosts.find((h) => h.name === "w-3") as { disks: { name: string }[] };
    w3.disks = w3.disks.filter((d) => d.name !== "raw1");
    const after = await runProgram({ ...cfg, hosts });
    const gone = hostCommands(before).filter((r) => !after.find(r.name));
    expect(gone.map((r) => r.name)).toEqual(["w-3-disk-raw1"]);
    for (const r of hostCommands(after)) expect(after.get(r.name).inputs, r.name).toEqual(before.get(r.name).inputs);
  });

  it("makes no iSCSI step when Longhorn is disabled", async () => {
    const cfg = loadStack("dev");
    const storage = clone(cfg.storage) as { longhorn: { enabled: boolean } };
    storage.longhorn.enabled = false;
    const run = await runProgram({ ...cfg, storage });
    expect(hostCommands(run).filter((r) => r.name.endsWith("-iscsi"))).toEqual([]);
    expect(run.get("w-1-node-prep").inputs.create).not.toContain("iscsi");
  });
});

describe("initiator names", () => {
  it("Longhorn waits for every node's iSCSI step and the storage hosts' data-path mounts", async () => {
    const names: Record<string, string> = {};
    for (const h of ["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4"]) names[h] = `iqn.2005-03.org.open-iscsi:${h}`;
    const run = await runProgram(loadStack("dev"), { handler: withInitiatorNames(names) });
    const longhorn = run.get("longhorn", "kubernetes:helm.sh/v3:Release");
    for (const h of Object.keys(names)) run.assertAfter(longhorn, `${h}-iscsi`);
    for (const h of ["w-1", "w-2", "w-3"]) run.assertAfter(longhorn, `${h}-disk-longhorn`);
  });
});
