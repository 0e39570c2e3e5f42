import { describe, expect, it } from "vitest";
import { difference, hostResources, identicalFraction, touched, type InputsRecord } from "../../bench/compare";
import { maxSessionsByRole, roleOf, sessionsPerHost } from "../../bench/sessions";

function rec(
  name: string,
  inputs: Record<string, unknown> = {},
  parent: string | null = null,
  type = "command:remote:Command",
): InputsRecord {
  return { urn: `urn:${name}`, type, name, parent: parent === null ? null : `urn:${parent}`, plainInputs: inputs };
}

describe("difference and identicalFraction", () => {
  it("sees changed, removed and added resources by URN", () => {
    const before = [rec("a", { x: 1 }), rec("b", { x: 1 }), rec("c")];
    const after = [rec("a", { x: 1 }), rec("b", { x: 2 }), rec("d")];
    const d = difference(before, after);
    expect(d).toEqual({ changed: ["b"], removed: ["c"], added: ["d"] });
    expect(touched(d)).toBe(2);
    expect(identicalFraction(before, after)).toBe(1 / 4);
  });

  it("leaves out resources the caller expects to go", () => {
    const d = difference([rec("a"), rec("w-2-join")], [rec("a")], (r) => r.name.startsWith("w-2"));
    expect(touched(d)).toBe(0);
  });

  it("counts two identical runs as fully identical, secrets included", () => {
    const run = () => [rec("a", { stdin: "token", connection: { host: "10.0.0.1" } })];
    expect(identicalFraction(run(), run())).toBe(1);
    expect(identicalFraction([rec("a", { stdin: "t1" })], [rec("a", { stdin: "t2" })])).toBe(0);
    expect(identicalFraction([], [])).toBe(1);
  });
});

describe("hostResources", () => {
  it("claims a host's named resources, its commands by address and their descendants, and not a host with a longer name", () => {
    const rs = [
      rec("w-1", {}, null, "baremetal-k8s:host:Host"),
      rec("prep", {}, "w-1"),
      rec("w-1-join", {}),
      rec("drain-helper", { connection: { host: "10.0.0.21" } }),
      rec("w-10-join", {}),
      rec("cp-1-init", { connection: { host: "10.0.0.11" } }),
    ];
    const own = hostResources(rs, { name: "w-1", address: "10.0.0.21" });
    expect([...own].sort()).toEqual(["urn:drain-helper", "urn:prep", "urn:w-1", "urn:w-1-join"]);
  });
});

describe("SSH sessions per host", () => {
  const t = { leader: "cp-1", controlPlanes: ["cp-1", "cp-2"], witnesses: ["w-1"], workers: ["w-1", "w-2"] };
  const hosts = [
    { name: "cp-1", address: "10.0.0.11" },
    { name: "cp-2", address: "10.0.0.12" },
    { name: "w-1", address: "10.0.0.21" },
    { name: "w-2", address: "10.0.0.22" },
  ];

  it("gives every host one role, a worker with a witness member counting as witness", () => {
    expect(hosts.map((h) => roleOf(h.name, t))).toEqual(["leader", "follower", "witness", "worker"]);
  });

  it("counts remote commands and copies per host by address, else by name, and ignores other resources", () => {
    const rs = [
      rec("cp-1-init", { connection: { host: "10.0.0.11" }, create: "init" }),
      rec("cp-2-upload-certs", { connection: { host: "10.0.0.11" }, create: "upload" }),
      rec("cp-2-join", { connection: { host: "10.0.0.12" }, create: "join" }),
      rec("w-2-files", {}, null, "command:remote:CopyToRemote"),
      rec("w-2-join", { connection: { host: "10.0.0.22" }, create: "join" }),
      rec("w-2-token", {}, null, "random:index/randomPassword:RandomPassword"),
      // a command with only a delete opens no session on bring-up
      rec("w-2-node", { connection: { host: "10.0.0.11" }, delete: "drain" }),
    ];
    const per = sessionsPerHost(rs, hosts, t);
    expect(per).toEqual([
      { host: "cp-1", role: "leader", sessions: 2 },
      { host: "cp-2", role: "follower", sessions: 1 },
      { host: "w-1", role: "witness", sessions: 0 },
      { host: "w-2", role: "worker", sessions: 2 },
    ]);
    expect(maxSessionsByRole(per)).toEqual({ leader: 2, follower: 1, witness: 0, worker: 2 });
  });
});
