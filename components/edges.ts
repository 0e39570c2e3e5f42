import type * as pulumi from "@pulumi/pulumi";

/**
 * Dependency edges with their reasons as data: each `dependsOn` entry is an
 * {@link Edge} written next to why it is there, so the plan and docs/BRING-UP.md
 * can say what a step waits for and why. The reasons are recorded per program
 * run; nothing of them reaches a resource's inputs or URN.
 */

/** One `dependsOn` entry: the resource waited for and why. */
export interface Edge {
  on: pulumi.Resource;
  why: string;
}

/** A reason attached to a dependent resource once it exists. */
export interface RecordedEdge extends Edge {
  dependent: pulumi.Resource;
}

export function after(on: pulumi.Resource, why: string): Edge {
  return { on, why };
}

const recorded: RecordedEdge[] = [];

/** The resources of these edges, for `dependsOn` (each once). */
export function resourcesOf(edges: readonly Edge[]): pulumi.Resource[] {
  return [...new Set(edges.map((e) => e.on))];
}

/** Remembers why `dependent` waits for each resource of `edges`; returns `dependent`. */
export function withReasons<T extends pulumi.Resource>(dependent: T, edges: readonly Edge[]): T {
  for (const e of edges) recorded.push({ dependent, on: e.on, why: e.why });
  return dependent;
}

/** The reasons recorded since the last {@link clearReasons}: for the plan, never for the engine. */
export function recordedReasons(): readonly RecordedEdge[] {
  return recorded;
}

export function clearReasons(): void {
  recorded.length = 0;
}
