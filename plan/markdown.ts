import type { RecordedResource } from "./evaluate";
import { renderDayTwo } from "./markdown-day2";
import type { Plan, PlanResource } from "./plan";
import type { Wait } from "./reasons";
import type { Finding } from "../components/config";
import type { StorageDisk, StorageTopology } from "../components/topology";

/** Resources in an order the dependency graph allows, ties broken by registration order. */
export function topologicalOrder(resources: readonly PlanResource[], seqOf: (urn: string) => number): PlanResource[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const done = new Set<string>();
  const out: PlanResource[] = [];
  const visit = (r: PlanResource, stack: Set<string>) => {
    if (done.has(r.urn) || stack.has(r.urn)) return;
    stack.add(r.urn);
    for (const d of [...r.dependsOn].sort((a, b) => seqOf(a) - seqOf(b))) {
      const dep = byUrn.get(d);
      if (dep) visit(dep, stack);
    }
    done.add(r.urn);
    out.push(r);
  };
  for (const r of [...resources].sort((a, b) => seqOf(a.urn) - seqOf(b.urn))) visit(r, new Set());
  return out;
}

/** Readable Mermaid node ids: the component's type and name (`Host_cp_1`), numbered when two would collide. */
function mermaidIds(components: readonly PlanResource[]): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const c of components) {
    const base = `${c.type.split(":").pop() ?? "c"}_${c.name}`.replace(/[^A-Za-z0-9_]/g, "_");
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(c.urn, id);
  }
  return ids;
}

/** The host a step is for: the longest host name its resource name starts with (`cp-2-upload-certs` is for cp-2, run on cp-1). */
export function stepFor(name: string, hosts: readonly string[]): string | undefined {
  return hosts.filter((h) => name.startsWith(`${h}-`)).sort((a, b) => b.length - a.length)[0];
}

/**
 * Each step's wave: 1 for a step that waits for nothing, else one more than the latest wave it waits for.
 * A wait on a component (a Host) is a wait on every step under it. Steps of one wave run in parallel.
 */
export function waves(resources: readonly PlanResource[], isStep: (urn: string) => boolean): Map<string, number> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const children = new Map<string, string[]>();
  for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
  const stepsUnder = (urn: string): string[] => (isStep(urn) ? [urn] : (children.get(urn) ?? []).flatMap((c) => stepsUnder(c)));
  const wave = new Map<string, number>();
  const visit = (urn: string, stack: Set<string>): number => {
    const known = wave.get(urn);
    if (known !== undefined) return known;
    if (stack.has(urn)) return 0;
    stack.add(urn);
    const deps = (byUrn.get(urn)?.dependsOn ?? []).flatMap(stepsUnder);
    const w = 1 + Math.max(0, ...deps.map((d) => visit(d, stack)));
    wave.set(urn, w);
    return w;
  };
  for (const r of resources) if (isStep(r.urn)) visit(r.urn, new Set());
  return wave;
}

/**
 * Per host, the steps in order: those that run on it and those run for it on another host, each with its wave
 * and what it waits for and why; then the waves, the steps that run in parallel.
 */
export function renderBringUp(plan: Plan, recorded: readonly RecordedResource[], waits: readonly Wait[]): string[] {
  const seq = new Map(recorded.map((r) => [r.urn, r.seq]));
  const seqOf = (u: string) => seq.get(u) ?? 0;
  const custom = new Set(recorded.filter((r) => r.custom).map((r) => r.urn));
  const isStep = (urn: string) => custom.has(urn);
  const ordered = topologicalOrder(plan.resources, seqOf).filter((r) => isStep(r.urn));
  const wave = waves(plan.resources, isStep);
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  // a command with only a delete (a worker's drain on the leader) opens no session on bring-up
  const onlyOnRemoval = new Set(
    recorded.filter((r) => r.type === "command:remote:Command" && r.plainInputs.create === undefined).map((r) => r.urn),
  );
  const whyOf = new Map<string, Map<string, string>>();
  for (const w of waits) whyOf.set(w.dependent, (whyOf.get(w.dependent) ?? new Map<string, string>()).set(w.on, w.why));
  const hosts = [...new Set(plan.resources.map((r) => r.host).filter((h): h is string => h !== null))];
  const forHost = (r: PlanResource) => stepFor(r.name, hosts) ?? r.host;
  /** The reason `dependent` waits for `dep`: recorded for it, or for a component `dep` lies under (a wait on a Host). */
  const reasonFor = (dependent: string, dep: string): string | undefined => {
    const reasons = whyOf.get(dependent);
    for (let cur = byUrn.get(dep); cur && reasons; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
      const why = reasons.get(cur.urn);
      if (why !== undefined) return why;
    }
    return undefined;
  };
  const stepLines = (r: PlanResource, i: number): string[] => {
    const where = r.host === null ? " through the Kubernetes API" : r.host !== forHost(r) ? ` on **${r.host}**` : "";
    const removal = onlyOnRemoval.has(r.urn) ? "; runs nothing now, only when removed" : "";
    const deps = r.dependsOn.filter((d) => isStep(d));
    const grouped = new Map<string, string[]>();
    const plain: string[] = [];
    for (const d of deps) {
      const why = reasonFor(r.urn, d);
      const name = `\`${byUrn.get(d)?.name ?? d}\``;
      if (why === undefined) plain.push(name);
      else grouped.set(why.replace(/\.$/, ""), [...(grouped.get(why.replace(/\.$/, "")) ?? []), name]);
    }
    return [
      `${i + 1}. \`${r.name}\`${where} (wave ${wave.get(r.urn) ?? "?"}${removal})${deps.length ? ", after:" : ""}`,
      ...[...grouped].map(([why, names]) => `   - ${names.join(", ")}: ${why}`),
      ...(plain.length ? [`   - ${plain.join(", ")}: its inputs come from ${plain.length === 1 ? "it" : "them"}`] : []),
    ];
  };
  const lines: string[] = [
    "## Bring-up per host, in order",
    "",
    "Each host's steps, including those run for it on another host; a step's wave is one more than the latest wave it waits for, and the steps of one wave run in parallel.",
    "",
  ];
  for (const h of hosts) {
    const steps = ordered.filter((r) => forHost(r) === h);
    lines.push(`### ${h}`, "");
    if (steps.length === 0) lines.push("(no steps)");
    steps.forEach((r, i) => lines.push(...stepLines(r, i)));
    lines.push("");
  }
  const clusterSide = ordered.filter((r) => r.host === null && stepFor(r.name, hosts) === undefined);
  if (clusterSide.length) {
    lines.push("### cluster side", "");
    clusterSide.forEach((r, i) => lines.push(...stepLines(r, i)));
    lines.push("");
  }
  lines.push("## Waves: what runs in parallel", "");
  const byWave = new Map<number, string[]>();
  for (const r of ordered) byWave.set(wave.get(r.urn) ?? 0, [...(byWave.get(wave.get(r.urn) ?? 0) ?? []), r.name]);
  for (const w of [...byWave.keys()].sort((a, b) => a - b)) lines.push(`${w}. ${(byWave.get(w) ?? []).map((n) => `\`${n}\``).join(", ")}`);
  lines.push("");
  return lines;
}

function failures(n: number, what: string): string {
  return `**${n}** ${what} failure${n === 1 ? "" : "s"}`;
}

function diskTable(disks: readonly StorageDisk[], pathHeader?: string): string[] {
  if (disks.length === 0) return ["(no disk)", ""];
  if (!pathHeader)
    return ["| host | disk | device |", "|---|---|---|", ...disks.map((d) => `| ${d.host} | ${d.disk} | \`${d.device}\` |`), ""];
  return [
    `| host | disk | device | ${pathHeader} |`,
    "|---|---|---|---|",
    ...disks.map((d) => `| ${d.host} | ${d.disk} | \`${d.device}\` | \`${d.path}\` |`),
    "",
  ];
}

/** The error findings on a storage system's keys, as one sentence that replaces its tolerance claim. */
function refused(findings: readonly Finding[], key: string): string | undefined {
  const keys = [...new Set(findings.filter((f) => f.severity === "error" && f.path.startsWith(key)).map((f) => `\`${f.path}\``))];
  return keys.length
    ? `what it survives is not known until ${keys.join(", ")} ${keys.length === 1 ? "is" : "are"} fixed (see the findings)`
    : undefined;
}

/**
 * Per storage system: the hosts and disks it will use, and what failures its volumes survive. A system
 * whose keys have an error finding gets no tolerance claim: the numbers it would rest on are the invalid ones.
 */
export function renderStorage(s: StorageTopology, findings: readonly Finding[] = []): string[] {
  if (!s.longhorn && !s.rookCeph && !s.localStatic) return [];
  const lines: string[] = ["## Storage", ""];
  if (s.longhorn) {
    const l = s.longhorn;
    lines.push("### Longhorn", "");
    const copies = `Storage nodes ${l.hosts.join(", ") || "(none)"}; ${l.replicaCount} replica${l.replicaCount === 1 ? "" : "s"} per volume on different nodes`;
    lines.push(`${copies}: ${refused(findings, "storage.longhorn") ?? `survives ${failures(l.survives, "node")}`}.`, "");
    lines.push(...diskTable(l.disks, "Longhorn disk path"));
  }
  if (s.rookCeph) {
    const r = s.rookCeph;
    lines.push("### Rook-Ceph", "");
    const layout = `OSD hosts ${r.hosts.join(", ") || "(none)"} (${r.osds} OSD${r.osds === 1 ? "" : "s"}); ${r.monCount} mon${r.monCount === 1 ? "" : "s"}, block pool size ${r.poolSize} with failure domain host`;
    lines.push(`${layout}: ${refused(findings, "storage.rookCeph") ?? `survives ${failures(r.survives, "host")}`}.`, "");
    lines.push(...diskTable(r.disks));
  }
  if (s.localStatic) {
    for (const c of s.localStatic.classes) {
      lines.push(`### Local class ${c.name}`, "");
      lines.push(
        `${c.disks} disk${c.disks === 1 ? "" : "s"} on ${c.hosts.join(", ") || "(none)"}; one copy per volume: survives ${failures(0, "node")} (a volume lives and dies with its disk).`,
        "",
      );
      lines.push(...diskTable(c.volumes, "published at"));
    }
  }
  return lines;
}

/**
 * The upgrade's order as the graph has it: the upgrade steps (`<host>-upgrade-<hop>`) of one stage share
 * their dependencies (the previous stage), so steps grouped by dependencies are the stages, in order.
 */
export function renderUpgrade(plan: Plan): string[] {
  const u = plan.upgrade;
  if (!u) return [];
  const lines = ["## Upgrade", "", `From **${u.from}** to **${u.to}**, through ${u.hops.map((h) => `${h}`).join(" then ")}.`, ""];
  const steps = plan.resources.filter((r) => r.type === "command:remote:Command" && /-upgrade-\d+\.\d+\.\d+$/.test(r.name));
  if (steps.length === 0) return lines;
  const stages = new Map<string, PlanResource[]>();
  for (const s of steps) {
    const key = [...s.dependsOn].sort().join(" ");
    stages.set(key, [...(stages.get(key) ?? []), s]);
  }
  const t = plan.topology;
  const role = (h: string | null) =>
    h === t?.leader
      ? "leader: `kubeadm upgrade plan` and `apply`"
      : t?.controlPlanes.includes(h ?? "")
        ? "control plane: `kubeadm upgrade node`"
        : "";
  lines.push(
    "Each step: wait for healthy storage, move the VIP away if held, drain, kubeadm, kubelet and kubectl of the hop, restart the kubelet, wait Ready, uncordon. One stage at a time:",
    "",
  );
  let hop = "";
  let n = 0;
  for (const group of stages.values()) {
    const h = /-upgrade-(\d+\.\d+\.\d+)$/.exec(group[0].name)?.[1] ?? "";
    if (h !== hop) {
      lines.push(...(hop ? [""] : []), `### Hop to ${h}`, "");
      hop = h;
    }
    const hosts = group.map((g) => g.host ?? g.name);
    const r = role(group[0].host);
    lines.push(`${++n}. ${r ? `${hosts.join(", ")} (${r})` : `workers ${hosts.join(", ")} (batch of ${hosts.length})`}`);
  }
  lines.push("");
  return lines;
}

/** The plan for people: findings, topology, bring-up steps per host, and a Mermaid graph of the components. */
export function renderMarkdown(plan: Plan, recorded: readonly RecordedResource[], title: string, waits: readonly Wait[] = []): string {
  const lines: string[] = [`# Plan: ${title}`, ""];
  lines.push("## Findings", "");
  if (plan.findings.length === 0) lines.push("No findings: the config is consistent.", "");
  else {
    lines.push("| severity | key | message |", "|---|---|---|");
    for (const f of plan.findings) lines.push(`| ${f.severity} | \`${f.path}\` | ${f.message.replace(/\|/g, "\\|")} |`);
    lines.push("");
  }
  const t = plan.topology;
  if (t) {
    lines.push("## Topology", "");
    lines.push(`- Leader (kubeadm init): ${t.leader ? `**${t.leader}**` : "(none: no host has role control-plane)"}`);
    lines.push(`- Control planes: ${t.controlPlanes.join(", ") || "(none)"}`);
    // A control plane with role worker runs workloads too (no control-plane taint): it is a worker as well.
    const workers = [...t.workers, ...t.controlPlaneWorkers.map((h) => `${h} (also control plane)`)];
    lines.push(`- Workers: ${workers.join(", ") || "(none)"}`);
    lines.push(
      `- etcd voters: ${t.etcdVoters.join(", ")} (${t.etcdVoters.length}), survives **${t.faultTolerance}** failure${t.faultTolerance === 1 ? "" : "s"}`,
    );
    if (t.witnesses.length) lines.push(`- Witness etcd members: ${t.witnesses.join(", ")}`);
    lines.push("");
    lines.push(...renderStorage(t.storage, plan.findings));
  }
  lines.push(...renderUpgrade(plan));
  lines.push(...renderDayTwo(plan));
  if (plan.resources.length === 0) return lines.join("\n");

  lines.push(...renderBringUp(plan, recorded, waits));
  const custom = new Set(recorded.filter((r) => r.custom).map((r) => r.urn));

  // Component graph: a child's dependency becomes an edge between the components that own them.
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const components = plan.resources.filter((r) => !custom.has(r.urn) && r.parent !== null);
  const componentSet = new Set(components.map((c) => c.urn));
  const ids = mermaidIds(components);
  const mermaidId = (urn: string) => ids.get(urn) ?? urn;
  const ownerOf = (urn: string): string | undefined => {
    for (let cur = byUrn.get(urn); cur; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
      if (componentSet.has(cur.urn)) return cur.urn;
    }
    return undefined;
  };
  const edges = new Set<string>();
  for (const r of plan.resources) {
    const from = ownerOf(r.urn);
    for (const d of r.dependsOn) {
      const to = ownerOf(d);
      if (from && to && from !== to) edges.add(`${mermaidId(to)} --> ${mermaidId(from)}`);
    }
  }
  lines.push("## Component graph", "", "```mermaid", "flowchart LR");
  for (const c of components) lines.push(`  ${mermaidId(c.urn)}["${c.name}<br/><small>${c.type.replace(/^baremetal-k8s:/, "")}</small>"]`);
  for (const e of [...edges].sort()) lines.push(`  ${e}`);
  lines.push("```", "");
  return lines.join("\n");
}
