import { type Finding, warning } from "./findings";
import { isWitness } from "./predicates";
import type { ContainerRuntime } from "./schema";
import type { HostSpec } from "./spec";

/**
 * What changes with `containerRuntime: crio`, said before anything runs:
 * the steps built around containerd's tools and paths that work differently.
 */
export function runtimeFindings(runtime: ContainerRuntime, hosts: readonly HostSpec[]): Finding[] {
  if (runtime !== "crio") return [];
  const out: Finding[] = [];
  hosts.forEach((h, i) => {
    if (isWitness(h)) {
      out.push(
        warning(
          `hosts[${i}].roles`,
          `${h.name} runs a witness etcd member, which takes its etcd binaries from the control planes' etcd image with containerd's ctr; CRI-O has no ctr and no way to mount an image. With containerRuntime: crio, install etcd of the cluster's etcd minor on ${h.name} yourself (the witness step uses an installed etcd of that minor and fails naming the version otherwise), and the leader hands the witness the image by tag, not by digest`,
        ),
      );
    }
    const e = h.disks.findIndex((d) => d.use === "ephemeral");
    if (e >= 0) {
      out.push(
        warning(
          `hosts[${i}].disks[${e}].use`,
          "ephemeral disks are bind-mounted at /var/lib/kubelet and /var/lib/containerd; CRI-O keeps its images and containers in /var/lib/containers/storage, which stays on the root disk. Give /var enough room, or use containerRuntime: containerd on this cluster",
        ),
      );
    }
  });
  return out;
}
