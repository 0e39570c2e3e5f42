/**
 * Blast radius and no-op: which resources' inputs differ between two
 * evaluations of the program. Pure: works on plain records (a
 * `RecordedResource` fits). Inputs are compared with secrets unwrapped
 * (`plainInputs`, keys sorted by the recorder), so a secret that changes
 * between runs counts as a change too.
 */

export interface InputsRecord {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  plainInputs: Record<string, unknown>;
}

export interface Difference {
  /** In both, with different inputs (Pulumi would update or replace them). */
  changed: string[];
  /** In `before` only (Pulumi would delete them). */
  removed: string[];
  /** In `after` only (Pulumi would create them). */
  added: string[];
}

function inputsText(r: InputsRecord): string {
  return JSON.stringify(r.plainInputs);
}

/** Names (URNs when names repeat) of the resources that differ; `ignore` leaves out resources of `before` that are expected to go. */
export function difference(
  before: readonly InputsRecord[],
  after: readonly InputsRecord[],
  ignore: (r: InputsRecord) => boolean = () => false,
): Difference {
  const afterByUrn = new Map(after.map((r) => [r.urn, r]));
  const beforeUrns = new Set(before.map((r) => r.urn));
  const out: Difference = { changed: [], removed: [], added: [] };
  for (const b of before) {
    if (ignore(b)) continue;
    const a = afterByUrn.get(b.urn);
    if (a === undefined) out.removed.push(b.name);
    else if (inputsText(a) !== inputsText(b)) out.changed.push(b.name);
  }
  for (const a of after) if (!beforeUrns.has(a.urn)) out.added.push(a.name);
  for (const list of [out.changed, out.removed, out.added]) list.sort();
  return out;
}

/** Existing resources the change touches: changed plus removed. */
export function touched(d: Difference): number {
  return d.changed.length + d.removed.length;
}

/** The fraction of resources (union of both runs, by URN) whose inputs are byte-identical in both runs. */
export function identicalFraction(first: readonly InputsRecord[], second: readonly InputsRecord[]): number {
  const secondByUrn = new Map(second.map((r) => [r.urn, r]));
  const all = new Set([...first.map((r) => r.urn), ...second.map((r) => r.urn)]);
  if (all.size === 0) return 1;
  let same = 0;
  for (const r of first) {
    const s = secondByUrn.get(r.urn);
    if (s !== undefined && inputsText(s) === inputsText(r)) same++;
  }
  return same / all.size;
}

/** The SSH target of a resource, when it has a `connection` input. */
export function connectionHost(r: Pick<InputsRecord, "plainInputs">): string | undefined {
  const c = r.plainInputs.connection;
  if (c !== null && typeof c === "object" && typeof (c as { host?: unknown }).host === "string") return (c as { host: string }).host;
  return undefined;
}

/**
 * The resources that belong to one host: its Host component's descendants,
 * resources named after it (`<host>` or `<host>-...`, the naming rule of the
 * house) and commands that connect to its address.
 */
export function hostResources(resources: readonly InputsRecord[], host: { name: string; address: string }): Set<string> {
  const out = new Set<string>();
  for (const r of resources) {
    if (r.name === host.name || r.name.startsWith(`${host.name}-`) || connectionHost(r) === host.address) out.add(r.urn);
  }
  // Descendants of anything already claimed (the Host component's children keep their own names).
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of resources) {
      if (!out.has(r.urn) && r.parent !== null && out.has(r.parent)) {
        out.add(r.urn);
        grew = true;
      }
    }
  }
  return out;
}
