import type { RecordedResource } from "../plan/evaluate";

/**
 * The bring-up's critical path, from the dependency graph the program
 * registered. Pure: works on plain records (a `RecordedResource` fits).
 *
 * When a resource may start, as Pulumi runs it:
 * - after every resource in its `dependsOn` (explicit and implied by inputs);
 * - a `dependsOn` on a component means after all of the component's
 *   descendants (the SDK expands it the same way before it registers; a
 *   component that is an ancestor of the dependent is skipped, as the SDK
 *   skips it, since a resource cannot wait for itself);
 * - after its parent when the parent is a custom resource (the child cannot
 *   register before the parent's create has returned its URN). A component
 *   parent has no work of its own and gates nothing.
 *
 * The chain length counts weighted steps only (by default the remote
 * commands and copies: each is an SSH session, the slow part of a bring-up);
 * other resources are free but still carry the order.
 */

export type GraphNode = Pick<RecordedResource, "urn" | "type" | "name" | "custom" | "parent" | "dependsOn"> &
  Partial<Pick<RecordedResource, "plainInputs">>;

export const REMOTE_STEP_TYPES = ["command:remote:Command", "command:remote:CopyToRemote"] as const;

/**
 * A step that opens an SSH session on bring-up: a copy, or a command with a
 * `create` (one with only a `delete` runs nothing until it is removed).
 * Without recorded inputs every command counts.
 */
export function isRemoteStep(node: Pick<GraphNode, "type" | "plainInputs">): boolean {
  if (!(REMOTE_STEP_TYPES as readonly string[]).includes(node.type)) return false;
  return node.type !== "command:remote:Command" || node.plainInputs === undefined || node.plainInputs.create !== undefined;
}

export interface CriticalPath {
  /** Weighted steps on the longest dependency chain. */
  longestChain: number;
  /** Weighted steps in the whole graph. */
  remoteCommands: number;
  /** remoteCommands / longestChain: how many steps the graph lets run side by side on average (null without steps). */
  parallelism: number | null;
  /** Names of the weighted steps on one longest chain, first to last. */
  chain: string[];
}

export class DependencyCycleError extends Error {}

/** The components whose descendants `urn` may not wait for: its own ancestors. */
function ancestorsOf(urn: string, byUrn: Map<string, GraphNode>): Set<string> {
  const out = new Set<string>();
  let p = byUrn.get(urn)?.parent ?? null;
  while (p !== null && !out.has(p)) {
    out.add(p);
    p = byUrn.get(p)?.parent ?? null;
  }
  return out;
}

/**
 * The longest chain of weighted steps. Throws `DependencyCycleError` naming the
 * resources on a cycle (Pulumi would deadlock on one).
 */
export function criticalPath(
  nodes: readonly GraphNode[],
  weight: (n: GraphNode) => number = (n) => (isRemoteStep(n) ? 1 : 0),
): CriticalPath {
  const byUrn = new Map(nodes.map((n) => [n.urn, n]));
  const children = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.parent === null) continue;
    const list = children.get(n.parent) ?? [];
    list.push(n.urn);
    children.set(n.parent, list);
  }

  /** What a node waits for before it is done: for a custom resource its start conditions, for a component its children. */
  const predecessors = (n: GraphNode): string[] => {
    if (!n.custom) return children.get(n.urn) ?? [];
    const skip = ancestorsOf(n.urn, byUrn);
    const preds = n.dependsOn.filter((d) => byUrn.has(d) && !skip.has(d) && d !== n.urn);
    const parent = n.parent === null ? undefined : byUrn.get(n.parent);
    if (parent?.custom) preds.push(parent.urn);
    return preds;
  };

  // done[u]: weighted steps finished when u is done; via[u]: the predecessor that decided it.
  const done = new Map<string, number>();
  const via = new Map<string, string | null>();
  const onStack = new Set<string>();

  for (const root of nodes) {
    if (done.has(root.urn)) continue;
    const stack: { urn: string; preds: string[]; i: number }[] = [{ urn: root.urn, preds: predecessors(root), i: 0 }];
    onStack.add(root.urn);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.i < top.preds.length) {
        const next = top.preds[top.i++];
        if (done.has(next)) continue;
        if (onStack.has(next)) {
          const names = [...stack.slice(stack.findIndex((f) => f.urn === next)).map((f) => f.urn), next].map(
            (u) => byUrn.get(u)?.name ?? u,
          );
          throw new DependencyCycleError(`the dependency graph has a cycle, so the bring-up would never finish: ${names.join(" -> ")}`);
        }
        onStack.add(next);
        stack.push({ urn: next, preds: predecessors(byUrn.get(next) as GraphNode), i: 0 });
        continue;
      }
      let best = 0;
      let bestVia: string | null = null;
      for (const p of top.preds) {
        const d = done.get(p) as number;
        if (bestVia === null || d > best) {
          best = d;
          bestVia = p;
        }
      }
      const node = byUrn.get(top.urn) as GraphNode;
      done.set(top.urn, best + (node.custom ? weight(node) : 0));
      via.set(top.urn, bestVia);
      onStack.delete(top.urn);
      stack.pop();
    }
  }

  let end: string | null = null;
  let longest = 0;
  for (const n of nodes) {
    const d = done.get(n.urn) as number;
    if (end === null || d > longest) {
      longest = d;
      end = n.urn;
    }
  }
  const chain: string[] = [];
  for (let u = end; u !== null; u = via.get(u) ?? null) {
    const n = byUrn.get(u) as GraphNode;
    if (n.custom && weight(n) > 0) chain.push(n.name);
  }
  chain.reverse();

  const remoteCommands = nodes.reduce((s, n) => s + (n.custom ? weight(n) : 0), 0);
  return { longestChain: longest, remoteCommands, parallelism: longest > 0 ? remoteCommands / longest : null, chain };
}
