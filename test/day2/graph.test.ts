// Day-two steps on the graph the program registers (issue 13, points 6 and 9): the etcd backup step on each control
// plane after its init/join, its removal with the key, the certificate renewal chained one control plane at a time,
// and that changing the renewal token changes nothing else.
import { describe, expect, it } from "vitest";
import { engineOp, ignoringChanges } from "../lab/executor";
import { clone, loadStack, runProgram, toPulumiConfig, type ProgramRun, type TestConfig } from "../harness";
import { runPlan } from "../../plan/plan";
import { renderMarkdown } from "../../plan/markdown";
import { renderDayTwo } from "../../plan/markdown-day2";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../harness";

const CMD = "command:remote:Command";
const BACKUP = { schedule: "*-*-* 02:30:00", keep: 3, path: "/var/backups/etcd" };

function withCluster(extra: Record<string, unknown>, base: TestConfig = loadStack("prod")): TestConfig {
  const cfg = clone(base);
  const cluster = { ...(cfg.cluster as Record<string, unknown>) };
  delete cluster.etcdBackup;
  cfg.cluster = { ...cluster, ...extra };
  return cfg;
}
const names = (run: ProgramRun, suffix: string) =>
  run.resources.filter((r) => r.type === CMD && r.name.endsWith(suffix)).map((r) => r.name);

/** The in-place update each of `before`'s steps gets when the program now registers `after` (as the engine decides). */
function changes(before: ProgramRun, after: ProgramRun): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of before.resources.filter((r) => r.type === CMD)) {
    const a = after.find(b.name);
    if (!a) {
      out.set(b.name, "delete");
      continue;
    }
    const op = engineOp(a, b.plainInputs, ignoringChanges(a.ignoreChanges, b.plainInputs, a.plainInputs));
    if (op !== "same") out.set(b.name, op);
  }
  for (const a of after.resources.filter((r) => r.type === CMD)) if (!before.find(a.name)) out.set(a.name, "create");
  return out;
}

describe("cluster.etcdBackup on the graph (prod: cp-1 leader, cp-2, cp-3)", () => {
  it("registers one etcd-backup step per control plane, each after that control plane's kubeadm init or join, and none without the key", async () => {
    const without = await runProgram(withCluster({}));
    expect(names(without, "-etcd-backup")).toEqual([]);
    expect(without.resources.some((r) => r.type === "baremetal-k8s:day2:DayTwo")).toBe(false);
    const run = await runProgram(withCluster({ etcdBackup: BACKUP }));
    expect(names(run, "-etcd-backup")).toEqual(["cp-1-etcd-backup", "cp-2-etcd-backup", "cp-3-etcd-backup"]);
    run.assertAfter("cp-1-etcd-backup", "cp-1-kubeadm-init");
    run.assertAfter("cp-2-etcd-backup", "cp-2-kubeadm-join");
    run.assertAfter("cp-3-etcd-backup", "cp-3-kubeadm-join");
    // never on a worker
    expect(names(run, "-etcd-backup").every((n) => n.startsWith("cp-"))).toBe(true);
    const step = run.get("cp-2-etcd-backup", CMD);
    // the one remote step factory and its trigger policy: triggers ignored, update = create, a delete that removes the timer
    expect(step.ignoreChanges).toContain("triggers");
    expect(step.plainInputs.update).toBe(step.plainInputs.create);
    expect(String(step.plainInputs.create)).toContain("OnCalendar=*-*-* 02:30:00");
    expect(String(step.plainInputs.delete)).toContain("systemctl disable --now baremetal-k8s-etcd-backup.timer");
  });

  it("adding the key creates only the backup steps; removing it deletes only them (their delete removes the timer); a new schedule updates them in place", async () => {
    const without = await runProgram(withCluster({}));
    const withIt = await runProgram(withCluster({ etcdBackup: BACKUP }));
    const added = changes(without, withIt);
    expect([...added.entries()]).toEqual([
      ["cp-1-etcd-backup", "create"],
      ["cp-2-etcd-backup", "create"],
      ["cp-3-etcd-backup", "create"],
    ]);
    expect([...changes(withIt, without).entries()]).toEqual([
      ["cp-1-etcd-backup", "delete"],
      ["cp-2-etcd-backup", "delete"],
      ["cp-3-etcd-backup", "delete"],
    ]);
    const other = await runProgram(withCluster({ etcdBackup: { ...BACKUP, schedule: "hourly" } }));
    expect([...changes(withIt, other).entries()]).toEqual([
      ["cp-1-etcd-backup", "update"],
      ["cp-2-etcd-backup", "update"],
      ["cp-3-etcd-backup", "update"],
    ]);
  });

  it("the offline plan lists the steps and its markdown names the backup of each control plane", async () => {
    const { plan, recorded, exitCode } = await runPlan({
      ...toPulumiConfig(withCluster({ etcdBackup: BACKUP })),
      file: "Pulumi.prod.yaml",
    });
    expect(exitCode).toBe(0);
    expect(plan.resources.filter((r) => r.name.endsWith("-etcd-backup")).map((r) => [r.name, r.host])).toEqual([
      ["cp-1-etcd-backup", "cp-1"],
      ["cp-2-etcd-backup", "cp-2"],
      ["cp-3-etcd-backup", "cp-3"],
    ]);
    const md = renderMarkdown(plan, recorded, "prod");
    for (const cp of ["cp-1", "cp-2", "cp-3"])
      expect(md).toContain(`- ${cp} (\`${cp}-etcd-backup\`): \`*-*-* 02:30:00\`, newest 3 kept in /var/backups/etcd`);
  });
});

describe("the README's Day two: etcd backups", () => {
  it("shows the markdown the plan of Pulumi.prod.yaml prints for its etcdBackup", async () => {
    const { plan } = await runPlan({ ...toPulumiConfig(loadStack("prod")), file: "Pulumi.prod.yaml" });
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const shown = /## Day two: etcd backups[\s\S]*?```markdown\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(shown).toBe(`${renderDayTwo(plan).join("\n").trimEnd()}\n`);
  });
});

describe("cluster.certificates.renew on the graph", () => {
  it("chains the renewal one control plane at a time, leader first, each after its own join", async () => {
    const run = await runProgram(withCluster({ certificates: { renew: "2027-01" } }));
    expect(names(run, "-certs-renew")).toEqual(["cp-1-certs-renew", "cp-2-certs-renew", "cp-3-certs-renew"]);
    run.assertAfter("cp-2-certs-renew", "cp-1-certs-renew");
    run.assertAfter("cp-3-certs-renew", "cp-2-certs-renew");
    run.assertAfter("cp-1-certs-renew", "cp-1-kubeadm-init");
    run.assertAfter("cp-3-certs-renew", "cp-3-kubeadm-join");
    const s = run.get("cp-2-certs-renew", CMD);
    expect(s.plainInputs.update).toBe(s.plainInputs.create);
    expect(s.plainInputs.delete).toBeUndefined();
    expect(s.ignoreChanges).toContain("triggers");
  });

  it("a new token updates exactly the renewal steps, and nothing else re-runs", async () => {
    const a = await runProgram(withCluster({ certificates: { renew: "2027-01" } }));
    const b = await runProgram(withCluster({ certificates: { renew: "2028-01" } }));
    expect([...changes(a, b).entries()]).toEqual([
      ["cp-1-certs-renew", "update"],
      ["cp-2-certs-renew", "update"],
      ["cp-3-certs-renew", "update"],
    ]);
    const same = await runProgram(withCluster({ certificates: { renew: "2027-01" } }));
    expect([...changes(a, same).entries()]).toEqual([]);
  });

  it("during an upgrade of the same update, the first renewal waits for the last upgrade step", async () => {
    const base = withCluster({ certificates: { renew: "2027-01" } }, loadStack("dev"));
    (base.cluster as { kubernetesVersion: string }).kubernetesVersion = "1.33.4";
    const before = await runProgram(base);
    const raised = clone(base);
    (raised.cluster as { kubernetesVersion: string }).kubernetesVersion = "1.33.7";
    const run = await runProgram({ ...raised, previousTopology: { ...before.outputs, kubeconfig: "[secret]" } });
    const upgrades = run.resources.filter((r) => r.type === CMD && /-upgrade-/.test(r.name));
    expect(upgrades.length).toBeGreaterThan(0);
    for (const u of upgrades) run.assertAfter("cp-1-certs-renew", u);
  });
});
