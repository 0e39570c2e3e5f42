// The executor against real test hosts with a small program: SSH with pinned host keys, order,
// the engine's state between runs (no-op, update, replace, delete in reverse order), failures
// that name the host and stop dependents, and the rerun-all mode.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor, describeRun, type RunRecord } from "./executor";
import { labAvailable, startLab, type Lab } from "./lab";

const PREFIX = process.env.LAB_PREFIX ?? "bl";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.10";
const avail = labAvailable();

interface Shape {
  /** marker text each command writes; change it to make an update */
  text: string;
  trigger: string;
  withB: boolean;
  failOnH2?: boolean;
  hostKeyOf?: (h: string) => string;
  env?: Record<string, string>;
  /** a local file to copy to h1's /root/copied with CopyToRemote */
  copy?: string;
}

describe.skipIf(!avail.ok)(`executor on lab hosts${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  let exec: Executor;
  let shape: Shape;

  const program = () => {
    const conn = (h: string) => {
      const host = lab.host(h);
      return {
        host: host.address,
        user: "root",
        privateKey: pulumi.secret(lab.privateKey),
        hostKey: shape.hostKeyOf ? shape.hostKeyOf(h) : host.hostKey,
        dialErrorLimit: 2,
        perDialTimeout: 3,
      };
    };
    const a = new command.remote.Command("h1-a", {
      connection: conn("h1"),
      create: `read -r s; echo "$s" > /root/a; echo "a ${shape.text}" >> /root/log; echo made-a`,
      delete: `echo "delete a" >> /root/log; rm -f /root/a`,
      stdin: pulumi.secret("stdin-secret\n"),
      triggers: [shape.trigger],
      ...(shape.env ? { environment: shape.env } : {}),
    });
    const outs: Record<string, pulumi.Output<string>> = { a: a.stdout };
    if (shape.copy)
      new command.remote.CopyToRemote("h1-copy", {
        connection: conn("h1"),
        source: new pulumi.asset.FileAsset(shape.copy),
        remotePath: "/root/copied",
      });
    if (shape.withB) {
      const b = new command.remote.Command(
        "h2-b",
        {
          connection: conn("h2"),
          create: `${shape.failOnH2 ? "echo broken >&2; exit 7; " : ""}echo "b ${shape.text}" >> /root/log; echo made-b`,
          delete: `echo "delete b" >> /root/log`,
        },
        { dependsOn: [a] },
      ); // b after a: the order under test
      const c = new command.remote.Command("h1-c", {
        connection: conn("h1"),
        create: pulumi.interpolate`echo "c saw ${b.stdout}" >> /root/log`,
        delete: `echo "delete c" >> /root/log`,
      });
      outs.b = b.stdout;
      outs.c = c.stdout;
    }
    return outs;
  };

  const up = async (s: Partial<Shape> = {}, mode: "engine" | "rerun-all" = "engine"): Promise<RunRecord> => {
    shape = { text: "v1", trigger: "t1", withB: true, ...s };
    return exec.up({ mode });
  };
  const log = async (h: string) => (await lab.ssh(h, "cat /root/log 2>/dev/null || true")).stdout;

  beforeAll(async () => {
    lab = await startLab({ prefix: PREFIX, subnet: SUBNET, hosts: [{ name: "h1" }, { name: "h2" }] });
    exec = new Executor({ config: {}, program, hostNames: Object.fromEntries(lab.hosts.map((h) => [h.address, h.name])) });
  });
  afterAll(async () => {
    exec?.dispose();
    await lab?.down();
  });

  it("runs each command over SSH on the host its connection names, in dependency order, with stdin, and records it", async () => {
    const r = await up();
    expect(r.failure, describeRun(r)).toBeUndefined();
    expect(r.commands.map((c) => [c.name, c.host, c.op, c.code])).toEqual(
      expect.arrayContaining([
        ["h1-a", "h1", "create", 0],
        ["h2-b", "h2", "create", 0],
        ["h1-c", "h1", "create", 0],
      ]),
    );
    const by = Object.fromEntries(r.commands.map((c) => [c.name, c]));
    expect(by["h2-b"].start).toBeGreaterThanOrEqual(by["h1-a"].end);
    expect(by["h1-c"].start).toBeGreaterThanOrEqual(by["h2-b"].end);
    expect(r.outputs).toEqual({ a: "made-a", b: "made-b", c: "" }); // one trailing newline trimmed, as the provider does
    expect((await lab.ssh("h1", "cat /root/a")).stdout).toBe("stdin-secret\n");
    expect(await log("h1")).toBe("a v1\nc saw made-b\n");
  });

  it("runs nothing on a second run with the same program", async () => {
    const r = await up();
    expect(r.commands).toEqual([]);
    expect(r.unchanged.sort()).toEqual(["h1-a", "h1-c", "h2-b"]);
  });

  it("rerun-all runs every create again without state", async () => {
    const r = await up({}, "rerun-all");
    expect(r.commands.map((c) => c.name).sort()).toEqual(["h1-a", "h1-c", "h2-b"]);
    expect(r.commands.every((c) => c.op === "create" && c.code === 0)).toBe(true);
    // and the engine state is still the one of the real runs
    expect((await up()).commands).toEqual([]);
  });

  it("updates a changed command (create again), replaces on a changed trigger (create new, then delete old)", async () => {
    await lab.ssh("h1", ": > /root/log");
    const u = await up({ text: "v2" });
    expect(u.commands.map((c) => [c.name, c.op])).toEqual(
      expect.arrayContaining([
        ["h1-a", "update"],
        ["h2-b", "update"],
      ]),
    );
    expect(u.commands.find((c) => c.name === "h1-c")).toBeUndefined(); // b's stdout did not change
    await lab.ssh("h1", ": > /root/log");
    const rp = await up({ text: "v2", trigger: "t2" });
    expect(rp.commands.map((c) => [c.name, c.op])).toEqual([
      ["h1-a", "create"],
      ["h1-a", "delete"],
    ]);
    expect(await log("h1")).toBe("a v2\ndelete a\n");
  });

  it("runs the delete commands of resources gone from the program, dependents first", async () => {
    await lab.ssh("h1", ": > /root/log");
    await lab.ssh("h2", ": > /root/log");
    const r = await up({ text: "v2", trigger: "t2", withB: false });
    expect(r.failure, describeRun(r)).toBeUndefined();
    expect(r.commands.map((c) => [c.name, c.op])).toEqual([
      ["h1-c", "delete"],
      ["h2-b", "delete"],
    ]);
    expect(await log("h1")).toBe("delete c\n");
    expect(await log("h2")).toBe("delete b\n");
    expect((await up({ text: "v2", trigger: "t2", withB: false })).commands).toEqual([]);
  });

  it("fails a run naming the host when a command fails, and carries out nothing that depends on it", async () => {
    const r = await up({ text: "v2", trigger: "t2", failOnH2: true });
    expect(r.failure?.host).toBe("h2");
    expect(r.failure?.message).toMatch(/h2-b on host h2 \(.*\) failed: Process exited with status 7/);
    expect(r.failure?.message).toContain("broken");
    expect(r.skipped).toContain("h1-c");
    // the next good run creates what failed and what was skipped
    const ok = await up({ text: "v2", trigger: "t2" });
    expect(ok.failure, describeRun(ok)).toBeUndefined();
    expect(ok.commands.map((c) => c.name).sort()).toEqual(["h1-c", "h2-b"]);
  });

  it("fails naming the host when its sshd is gone, and when its host key is not the pinned one", async () => {
    await lab.stopSshd("h2");
    try {
      const r = await up({ text: "v3", trigger: "t2" });
      expect(r.failure?.host).toBe("h2");
      expect(r.failure?.message).toMatch(/dial .* \(h2\): .*(refused|Connection)/);
    } finally {
      await lab.startSshd("h2");
    }
    const wrong = await up({ text: "v4", trigger: "t2", hostKeyOf: () => lab.host("h2").hostKey });
    expect(wrong.failure?.host).toBe("h1");
    expect(wrong.failure?.message).toMatch(/Host key verification failed/);
    const ok = await up({ text: "v4", trigger: "t2" });
    expect(ok.failure, describeRun(ok)).toBeUndefined();
  });

  it("fails like the provider when sshd does not accept an environment variable", async () => {
    const r = await up({ text: "v4", trigger: "t2", env: { TOKEN: "x" } });
    expect(r.failure?.message).toMatch(/could not set environment variable "TOKEN"/);
    const ok = await up({ text: "v4", trigger: "t2", env: { LC_LAB: "x" } });
    expect(ok.failure, describeRun(ok)).toBeUndefined();
  });

  it("copies a file with CopyToRemote byte for byte, bytes above 0x7f included", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "executor-copy-")), "blob");
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0, 0x7f, 0x80, 0xc3, 0xff]), randomBytes(64 * 1024)]));
    const r = await up({ text: "v4", trigger: "t2", env: { LC_LAB: "x" }, copy: file });
    expect(r.failure, describeRun(r)).toBeUndefined();
    expect(
      r.commands.map((c) => [c.name, c.op]),
      describeRun(r),
    ).toEqual([["h1-copy", "copy"]]);
    const remote = (await lab.ssh("h1", "sha256sum /root/copied")).stdout.split(" ")[0];
    expect(remote).toBe(createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
