import * as pulumi from "@pulumi/pulumi";
import type { Host } from "./host";
import { describeDuplicateInitiators, findDuplicateInitiators } from "./render-iscsi";

/**
 * The Longhorn hosts, once every one of them has reported its iSCSI initiator
 * name and no two names are equal. Resolves to the Host components (so a
 * `dependsOn` on it waits for their whole preparation: node prep, data-path
 * mounts, iSCSI); rejects with a message naming the hosts that share a name,
 * which fails the resource that depends on it and the update.
 */
export function longhornNodesReady(
  hosts: ReadonlyArray<Pick<Host, "spec" | "initiatorName">>,
  parent?: pulumi.Resource,
): pulumi.Output<Host[]> {
  const longhorn = hosts.filter((h) => h.initiatorName !== undefined);
  const names = longhorn.map((h) => h.initiatorName as pulumi.Output<string>);
  return pulumi.all(names).apply((values) => {
    const dups = findDuplicateInitiators(longhorn.map((h, i) => [h.spec.name, values[i]] as const));
    if (dups.length > 0) throw new pulumi.ResourceError(describeDuplicateInitiators(dups), parent, true);
    return longhorn as Host[];
  });
}
