import { describe, expect, it } from "vitest";
import { criticalPath, DependencyCycleError, type GraphNode } from "../../bench/graph";

const CMD = "command:remote:Command";
const COPY = "command:remote:CopyToRemote";
const COMPONENT = "baremetal-k8s:host:Host";

/** A hand-made node: `deps` and `parent` are names, turned into URNs. */
function node(name: string, type: string, deps: string[] = [], parent: string | null = null): GraphNode {
  return {
    urn: `urn:${name}`,
    type,
    name,
    custom: !type.startsWith("baremetal-k8s:"),
    parent: parent === null ? null : `urn:${parent}`,
    dependsOn: deps.map((d) => `urn:${d}`),
  };
}

describe("criticalPath", () => {
  it("counts every remote step of a straight chain, in order", () => {
    const g = [node("c", CMD, ["b"]), node("a", CMD), node("b", COPY, ["a"])];
    expect(criticalPath(g)).toEqual({ longestChain: 3, remoteCommands: 3, parallelism: 1, chain: ["a", "b", "c"] });
  });

  it("counts a fan-out once: workers that wait only for the leader add no length", () => {
    const g = [node("init", CMD), ...["w1", "w2", "w3", "w4", "w5"].map((w) => node(`${w}-join`, CMD, ["init"]))];
    const cp = criticalPath(g);
    expect(cp.longestChain).toBe(2);
    expect(cp.remoteCommands).toBe(6);
    expect(cp.parallelism).toBe(3);
    expect(cp.chain[0]).toBe("init");
  });

  it("makes a dependsOn on a component wait for all of its descendants, nested ones too", () => {
    const g = [
      node("h1", COMPONENT),
      node("h1-prep", CMD, [], "h1"),
      node("h1-disks", COMPONENT, [], "h1"),
      node("h1-disk-a", CMD, ["h1-prep"], "h1-disks"),
      node("h1-disk-b", CMD, ["h1-disk-a"], "h1-disks"),
      node("h1-join", CMD, ["h1"]),
    ];
    expect(criticalPath(g).chain).toEqual(["h1-prep", "h1-disk-a", "h1-disk-b", "h1-join"]);
  });

  it("lets resources that are not remote steps carry the order without adding length", () => {
    const g = [node("token", "random:index/randomPassword:RandomPassword", ["init"]), node("init", CMD), node("join", CMD, ["token"])];
    expect(criticalPath(g)).toMatchObject({ longestChain: 2, remoteCommands: 2, chain: ["init", "join"] });
  });

  it("does not count a command that only has a delete: it opens no session on bring-up", () => {
    const g = [
      node("init", CMD),
      { ...node("join", CMD, ["init"]), plainInputs: { create: "kubeadm join" } },
      { ...node("node", CMD, ["join"]), plainInputs: { delete: "kubectl drain" } },
    ];
    expect(criticalPath(g)).toMatchObject({ longestChain: 2, remoteCommands: 2, chain: ["init", "join"] });
  });

  it("makes a child wait for a custom parent but not for a component parent", () => {
    const custom = [node("parent-cmd", CMD), node("child-cmd", CMD, [], "parent-cmd")];
    expect(criticalPath(custom).longestChain).toBe(2);
    const component = [node("before", CMD), node("comp", COMPONENT, ["before"]), node("child", CMD, [], "comp")];
    expect(criticalPath(component).longestChain).toBe(1);
  });

  it("ignores a dependency on the resource's own ancestor component instead of reporting a cycle", () => {
    const g = [node("host", COMPONENT), node("a", CMD, [], "host"), node("b", CMD, ["host", "a"], "host")];
    expect(criticalPath(g).longestChain).toBe(2);
  });

  it("ignores dependencies on resources it was not given (e.g. providers outside the record)", () => {
    expect(criticalPath([node("a", CMD, ["missing"])]).longestChain).toBe(1);
  });

  it("names the resources on a cycle", () => {
    const g = [node("a", CMD, ["c"]), node("b", CMD, ["a"]), node("c", CMD, ["b"])];
    expect(() => criticalPath(g)).toThrow(DependencyCycleError);
    expect(() => criticalPath(g)).toThrow(/a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c/);
  });

  it("reports no parallelism for a graph without remote steps", () => {
    expect(criticalPath([node("c", COMPONENT)])).toEqual({ longestChain: 0, remoteCommands: 0, parallelism: null, chain: [] });
    expect(criticalPath([])).toEqual({ longestChain: 0, remoteCommands: 0, parallelism: null, chain: [] });
  });

  it("handles a long chain without running out of stack", () => {
    const g = Array.from({ length: 20_000 }, (_, i) => node(`s${i}`, CMD, i === 0 ? [] : [`s${i - 1}`]));
    expect(criticalPath(g).longestChain).toBe(20_000);
  });
});
