// Helpers of the end-to-end scenarios: bring a config up on lab hosts with the executor, and read
// back the state a user cares about (VIP, etcd voters, nodes, disks, iSCSI names) from the hosts.
import type { RecordedResource } from "../../plan/evaluate";
import { runProgram, type TestConfig } from "../harness";
import { COMMAND, Executor, describeRun, type RunRecord } from "./executor";
import type { Lab } from "./lab";
import { hostNames, type ConfigCluster, type ConfigHost } from "./stack";

/**
 * Kernel modules this test machine's kernel lacks but the program loads on Longhorn and Ceph hosts:
 * listed in the hosts' modules.builtin so `modprobe` succeeds doing nothing (a stand-in: iSCSI and
 * RBD are never used in the lab, only the scripts' steps around them).
 */
export const FAKE_MODULES = ["iscsi_tcp", "rbd"];

export const ETCDCTL_ON_CP =
  "ETCDCTL_API=3 etcdctl --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/apiserver-etcd-client.crt --key /etc/kubernetes/pki/apiserver-etcd-client.key --dial-timeout=2s --command-timeout=4s";

/**
 * Until the hosts component prepares nodes itself, the scenarios do what its node preparation
 * will do (kube packages from the apt-get stand-in, containerd and keepalived installed and
 * started) so that the control plane and storage steps can run for real. Used only when the
 * program registers no node-preparation command; the record says so.
 */
export async function nodePrepFallback(lab: Lab, resources: RecordedResource[]): Promise<boolean> {
  const hasNodePrep = resources.some(
    (r) =>
      r.type === COMMAND &&
      typeof r.plainInputs.create === "string" &&
      /containerd/.test(r.plainInputs.create) &&
      /apt-get|dnf/.test(r.plainInputs.create),
  );
  if (hasNodePrep) return false;
  await Promise.all(
    lab.hosts.map(async (h) => {
      const r = await lab.ssh(
        h.name,
        "apt-get install -y kubelet kubeadm kubectl containerd keepalived curl >/dev/null && systemctl enable --now containerd >/dev/null",
      );
      if (r.code !== 0) throw new Error(`node-prep fallback on ${h.name} failed: ${r.stderr}`);
    }),
  );
  return true;
}

export interface BringUp {
  exec: Executor;
  fallbackNodePrep: boolean;
  /** why the scenarios cannot run yet (a component not on this branch), or undefined */
  missing?: string;
}

/** Why the scenarios cannot run with this program yet (a component not on this branch), or undefined. No hosts touched. */
export async function missingComponents(cfg: TestConfig): Promise<string | undefined> {
  const plan = await runProgram(cfg);
  const hasControlPlane = plan.resources.some((r) => r.type === COMMAND && /-kubeadm-init$/.test(r.name));
  return hasControlPlane ? undefined : "the program has no control-plane steps yet (the controlplane branch is not merged here)";
}

/** Evaluates the program (no hosts touched) to learn what it registers, applies the fallback, returns an executor. */
export async function prepare(lab: Lab, cfg: TestConfig): Promise<BringUp> {
  const plan = await runProgram(cfg);
  const hasControlPlane = plan.resources.some((r) => r.type === COMMAND && /-kubeadm-init$/.test(r.name));
  const missing = hasControlPlane ? undefined : "the program has no control-plane steps yet (the controlplane branch is not merged here)";
  const fallbackNodePrep = missing ? false : await nodePrepFallback(lab, plan.resources);
  return { exec: new Executor({ config: cfg, hostNames: hostNames(lab) }), fallbackNodePrep, ...(missing ? { missing } : {}) };
}

export function assertClean(r: RunRecord): void {
  const bad = r.commands.filter((c) => c.code !== 0);
  if (r.failure || bad.length) throw new Error(`the run failed:\n${describeRun(r)}`);
}

export interface ClusterFacts {
  vipHolders: string[];
  vipAnswers: boolean;
  etcdMembers: { name: string; started: boolean }[];
  nodes: string[];
  kubeletActive: string[];
  disks: Record<string, string>;
  initiatorNames: Record<string, string>;
}

/** What a user would check on the hosts after a bring-up. */
export async function clusterFacts(lab: Lab, cfg: TestConfig): Promise<ClusterFacts> {
  const hosts = cfg.hosts as ConfigHost[];
  const vip = (cfg.cluster as ConfigCluster).endpoint.address;
  const port = (cfg.cluster as ConfigCluster).endpoint.port ?? 6443;
  const cps = hosts.filter((h) => h.roles.includes("control-plane")).map((h) => h.name);
  const facts: ClusterFacts = {
    vipHolders: [],
    vipAnswers: false,
    etcdMembers: [],
    nodes: [],
    kubeletActive: [],
    disks: {},
    initiatorNames: {},
  };
  await Promise.all(
    hosts.map(async (h) => {
      const r = await lab.ssh(
        h.name,
        `ip -4 -o addr show dev eth0 | grep -qw '${vip}/32' && echo VIP; systemctl is-active --quiet kubelet && echo KUBELET; sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi 2>/dev/null | sed 's/^/ISCSI /'`,
      );
      if (r.stdout.includes("VIP\n")) facts.vipHolders.push(h.name);
      if (r.stdout.includes("KUBELET\n")) facts.kubeletActive.push(h.name);
      const iscsi = /^ISCSI (.*)$/m.exec(r.stdout);
      if (iscsi) facts.initiatorNames[h.name] = iscsi[1];
      for (const d of h.disks ?? []) facts.disks[`${h.name}/${d.name}`] = await diskState(lab, h.name, d);
    }),
  );
  facts.vipHolders.sort();
  facts.kubeletActive.sort();
  const leader = cps[0];
  const answer = await lab.ssh(hosts[hosts.length - 1].name, `curl -sk --max-time 3 https://${vip}:${port}/healthz`);
  facts.vipAnswers = answer.stdout === "ok";
  const members = await lab.ssh(leader, `${ETCDCTL_ON_CP} --endpoints=https://127.0.0.1:2379 member list`);
  facts.etcdMembers = members.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(", "))
    .map((f) => ({ name: f[2], started: f[1] === "started" }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const nodes = await lab.ssh(leader, "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name");
  facts.nodes = nodes.stdout
    .split("\n")
    .filter(Boolean)
    .map((n) => n.replace(/^node\//, ""))
    .sort();
  return facts;
}

/** A disk's layout as one line: what is mounted where, or that it is raw, or its link. */
async function diskState(lab: Lab, host: string, d: NonNullable<ConfigHost["disks"]>[number]): Promise<string> {
  const dev = d.device;
  const r = await lab.ssh(
    host,
    `real=$(readlink -f ${dev}); fs=$(blkid -o value -s TYPE "$real" 2>/dev/null || true); mnt=$(findmnt -n -o TARGET --source "$real" 2>/dev/null | sort | tr '\\n' ' '); links=$(find /var/lib/disks -maxdepth 3 -type l -lname '*${dev.split("/").pop()}' 2>/dev/null | tr '\\n' ' '); echo "fs=\${fs:-none} mnt=\${mnt% } links=\${links% }"`,
  );
  return r.stdout.trim();
}

/** The quorum check: a write through etcd, from a control plane that is still up. */
export async function etcdWritable(lab: Lab, fromHost: string, endpoints: string[]): Promise<boolean> {
  const r = await lab.ssh(fromHost, `${ETCDCTL_ON_CP} --endpoints=${endpoints.join(",")} put /lab/probe "$(date +%s%N)"`, {
    timeoutMs: 20_000,
  });
  return r.code === 0 && r.stdout.trim() === "OK";
}
