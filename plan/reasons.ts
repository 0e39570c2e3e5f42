import type * as pulumi from "@pulumi/pulumi";
import type { RecordedEdge } from "../components/edges";
import type { RecordedResource } from "./evaluate";

/** Why one resource waits for another, by the engine's URNs (what the plan's `dependsOn` holds). */
export interface Wait {
  dependent: string;
  on: string;
  why: string;
}

function urnOf(r: pulumi.Resource): Promise<string> {
  return new Promise((resolve) => {
    r.urn.apply((u) => {
      resolve(u);
      return u;
    });
  });
}

/**
 * The recorded reasons with engine URNs. The program sees the SDK mock's URNs, whose type names only the
 * parent's last type; a resource is found by its own type and name, which are unique in this program.
 */
export async function resolveWaits(edges: readonly RecordedEdge[], recorded: readonly RecordedResource[]): Promise<Wait[]> {
  const byTypeName = new Map(recorded.map((r) => [`${r.type}::${r.name}`, r.urn]));
  const engineUrn = (mockUrn: string): string | undefined => {
    const [, , qualifiedType = "", name = ""] = mockUrn.split("::");
    return byTypeName.get(`${qualifiedType.split("$").pop()}::${name}`);
  };
  const out: Wait[] = [];
  for (const e of edges) {
    const [d, o] = await Promise.all([urnOf(e.dependent), urnOf(e.on)]);
    const dependent = engineUrn(d);
    const on = engineUrn(o);
    if (dependent && on) out.push({ dependent, on, why: e.why });
  }
  return out;
}
