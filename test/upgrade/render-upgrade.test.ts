import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { ClusterSpec } from "../../components/config/spec";
import { UPGRADING_MARKER, renderUpgradeScript, type UpgradeStepArgs } from "../../components/upgrade/render-upgrade";
import { specOf } from "../controlplane/fixtures";
import { HAS_SHELLCHECK, shellcheck } from "../host/scripts";

const { spec, host } = specOf();

function withStorage(s: ClusterSpec, longhorn: boolean, ceph: boolean, waitForStorage = true): ClusterSpec {
  return {
    ...s,
    cluster: { ...s.cluster, upgrade: { ...s.cluster.upgrade, waitForStorage } },
    storage: { ...s.storage, longhorn: { ...s.storage.longhorn, enabled: longhorn }, rookCeph: { ...s.storage.rookCeph, enabled: ceph } },
  };
}

const worker = (over: Partial<UpgradeStepArgs> = {}) =>
  renderUpgradeScript({
    spec: withStorage(spec, false, false),
    host: host("w-2"),
    hop: "1.34.3",
    role: "worker",
    drain: true,
    moveVip: false,
    ...over,
  });

describe("renderUpgradeScript", () => {
  it.skipIf(!HAS_SHELLCHECK)(
    "is shellcheck-clean for the leader, a control plane and a worker, with and without storage waits and VIP move",
    () => {
      const variants: UpgradeStepArgs[] = [
        { spec: withStorage(spec, true, true), host: host("cp-1"), hop: "1.34.3", role: "leader", drain: true, moveVip: true },
        { spec: withStorage(spec, false, true), host: host("cp-2"), hop: "1.34.3", role: "control-plane", drain: true, moveVip: true },
        { spec: withStorage(spec, true, false), host: host("w-2"), hop: "1.34.3", role: "worker", drain: true, moveVip: false },
        { spec: withStorage(spec, false, false), host: host("w-1"), hop: "1.34.3", role: "worker", drain: false, moveVip: false },
        { spec, host: { ...host("w-2"), os: "fedora" }, hop: "1.34.3", role: "worker", drain: true, moveVip: false },
        { spec, host: { ...host("cp-2"), packagesPreinstalled: true }, hop: "1.34.3", role: "control-plane", drain: true, moveVip: true },
        { spec, host: host("w-1"), hop: "1.34.3", role: "worker", drain: true, moveVip: false, witness: true },
      ];
      for (const v of variants) expect(shellcheck(renderUpgradeScript(v)), `${v.host.name} ${v.role}`).toBe("");
    },
  );

  it("waits for Longhorn and Ceph only when they are enabled and waitForStorage is on, and names what is unhealthy", () => {
    const both = renderUpgradeScript({
      spec: withStorage(spec, true, true),
      host: host("w-2"),
      hop: "1.34.3",
      role: "worker",
      drain: true,
      moveVip: false,
    });
    expect(both).toContain("volumes.longhorn.io");
    expect(both).toContain('$2 == "degraded" || $2 == "faulted" { printf " Longhorn volume %s is %s;", $1, $2 }');
    expect(both).toContain('[ "$health" != HEALTH_OK ]');
    expect(both).toContain("storage is not healthy after 900 s, so $NODE stays up:$bad");
    const lhOnly = renderUpgradeScript({
      spec: withStorage(spec, true, false),
      host: host("w-2"),
      hop: "1.34.3",
      role: "worker",
      drain: true,
      moveVip: false,
    });
    expect(lhOnly).not.toContain("HEALTH_OK");
    expect(worker()).not.toContain("storage is not healthy");
    const off = renderUpgradeScript({
      spec: withStorage(spec, true, true, false),
      host: host("w-2"),
      hop: "1.34.3",
      role: "worker",
      drain: true,
      moveVip: false,
    });
    expect(off).not.toContain("storage is not healthy");
  });

  it("moves the VIP off a control plane that holds it before the drain, and restores keepalived's priority on the way out", () => {
    const s = renderUpgradeScript({ spec, host: host("cp-1"), hop: "1.34.3", role: "leader", drain: true, moveVip: true });
    const vip = s.indexOf("if holds_vip; then");
    expect(vip).toBeGreaterThan(0);
    expect(vip).toBeLessThan(s.indexOf("k drain"));
    expect(s).toContain("trap 'restore_vip; rm -rf \"$work\"' EXIT");
    expect(s).toContain("until ! holds_vip && k get --raw /readyz");
    expect(s.indexOf('kubeadm upgrade plan "v$HOP"')).toBeLessThan(s.indexOf('kubeadm upgrade apply "v$HOP" --yes'));
  });

  it("installs the hop's packages with the family's package manager, and only verifies them on hosts that install nothing", () => {
    expect(worker()).toContain('kube_repo "$HOP"\n  kube_install "$HOP" kubeadm');
    expect(worker()).toContain('apt-get "${APT_SOURCES[@]}" -o DPkg::Lock::Timeout=300 install');
    const fedora = { ...host("w-2"), os: "fedora" as const };
    expect(worker({ host: fedora })).toContain("dnf install -y -q --setopt=disable_excludes=kubernetes");
    const baked = worker({ host: { ...host("w-2"), packagesPreinstalled: true } });
    expect(baked).not.toContain("kube_install");
    expect(baked).toContain("this host installs no packages (packagesPreinstalled or immutableRoot): put $p $HOP into its image");
  });
});

/** Runs a worker's upgrade script with stand-in kubelet/kubectl/kubeadm on PATH; the marker in a temporary directory. */
function runWorker(opts: { kubelet: string; marker?: string; drainOutput?: string }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk8s-upgrade-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "calls.log");
  const stub = (name: string, body: string) =>
    fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>${log}\n${body}\n`, { mode: 0o755 });
  stub("kubelet", `[ "$1" = --version ] && echo "Kubernetes v${opts.kubelet}"`);
  stub("kubectl", `for a in "$@"; do if [ "$a" = drain ]; then printf '%s\\n' ${JSON.stringify(opts.drainOutput ?? "")}; exit 1; fi; done`);
  // every test stops at the drain; should one get further, nothing reaches this machine's packages
  for (const tool of ["kubeadm", "curl", "gpg", "apt-get", "apt-mark", "dpkg-query", "dnf", "rpm", "systemctl"]) stub(tool, "exit 99");
  const marker = path.join(dir, "upgrading");
  if (opts.marker) fs.writeFileSync(marker, `${opts.marker}\n`);
  const script = worker().replace(`MARKER='${UPGRADING_MARKER}'`, `MARKER='${marker}'`);
  const r = spawnSync("bash", ["-c", script], {
    input: "apiVersion: v1\nkind: Config\n",
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
  const markerAfter = fs.existsSync(marker) ? fs.readFileSync(marker, "utf8") : undefined;
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls, markerAfter };
}

describe("a worker's upgrade step, run (stand-ins for kubelet, kubectl, kubeadm)", () => {
  it("exits at once on a node that already runs the hop, or a newer one: a resumed up does not touch finished nodes", () => {
    for (const v of ["1.34.3", "1.35.0"]) {
      const r = runWorker({ kubelet: v });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`already runs Kubernetes ${v} (>= 1.34.3) and is not cordoned by an upgrade: nothing to do`);
      expect(r.calls).toBe(`kubelet --version\n`);
    }
  });

  it("upgrades a node with an older kubelet: marks it, drains it, and on a blocked eviction fails naming the pod", () => {
    const r = runWorker({
      kubelet: "1.33.4",
      drainOutput:
        'evicting pod default/web-0\nerror when evicting pods/"web-0" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("cannot drain w-2 within 600 s: the pod default/web-0 could not be evicted");
    expect(r.calls).toMatch(/kubectl .*drain w-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s/);
    // the marker stays: the next run resumes this node even if its kubelet is already new
    expect(r.markerAfter).toBe("1.34.3\n");
  });

  it("resumes a node whose marker says its upgrade did not finish, even when its kubelet already runs the hop", () => {
    const r = runWorker({ kubelet: "1.34.3", marker: "1.34.3", drainOutput: "error: timed out" });
    expect(r.stdout).not.toContain("nothing to do");
    expect(r.stdout).toContain("resuming the upgrade to 1.34.3");
    expect(r.calls).toContain("drain w-2");
  });
});

describe("a witness host's upgrade step: the witness etcd member follows the control planes' etcd", () => {
  it("takes etcd of the control planes' version from their image, restarts on it, and is done when it already runs it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bk8s-witness-"));
    const bin = path.join(dir, "bin");
    const etcdDir = path.join(dir, "etcd-witness");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(etcdDir, "v3.5.16"), { recursive: true });
    const log = path.join(dir, "calls.log");
    const write = (file: string, body: string) =>
      fs.writeFileSync(file, `#!/usr/bin/env bash\necho "$(basename "$0") $*" >>${log}\n${body}\n`, { mode: 0o755 });
    const etcdOf = (v: string) => `[ "$1" = --version ] && echo "etcd Version: ${v}"; exit 0`;
    write(path.join(etcdDir, "v3.5.16", "etcd"), etcdOf("3.5.16"));
    write(path.join(etcdDir, "v3.5.16", "etcdctl"), "exit 0");
    fs.symlinkSync(path.join(etcdDir, "v3.5.16", "etcd"), path.join(etcdDir, "etcd"));
    fs.symlinkSync(path.join(etcdDir, "v3.5.16", "etcdctl"), path.join(etcdDir, "etcdctl"));
    write(path.join(bin, "kubelet"), 'echo "Kubernetes v1.34.3"');
    write(path.join(bin, "kubectl"), 'for a in "$@"; do [ "$a" = pods ] && echo "registry.k8s.io/etcd:3.5.21-0"; done; exit 0');
    write(path.join(bin, "crictl"), "exit 0");
    write(path.join(bin, "systemctl"), "exit 0");
    write(
      path.join(bin, "ctr"),
      `case "$3 $4" in
  "images ls") echo registry.k8s.io/etcd:3.5.21-0 ;;
  "images mount") mkdir -p "$6/usr/local/bin"; printf '#!/usr/bin/env bash\\n[ "$1" = --version ] && echo "etcd Version: 3.5.21"; exit 0\\n' >"$6/usr/local/bin/etcd"; printf '#!/usr/bin/env bash\\nexit 0\\n' >"$6/usr/local/bin/etcdctl"; chmod 0755 "$6/usr/local/bin/"* ;;
esac`,
    );
    for (const tool of ["kubeadm", "curl", "gpg", "apt-get", "dpkg-query", "dnf"]) write(path.join(bin, tool), "exit 99");
    const script = renderUpgradeScript({
      spec,
      host: host("w-1"),
      hop: "1.34.3",
      role: "worker",
      drain: true,
      moveVip: false,
      witness: true,
    })
      .replaceAll("/usr/local/lib/etcd-witness", etcdDir)
      .replace(`MARKER='${UPGRADING_MARKER}'`, `MARKER='${path.join(dir, "upgrading")}'`);
    const run = () => spawnSync("bash", ["-c", script], { input: "kubeconfig\n", encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain("the witness etcd member runs etcd 3.5.21 (was 3.5.16), like the control planes");
    expect(fs.readlinkSync(path.join(etcdDir, "etcd"))).toBe(path.join(etcdDir, "v3.5.21", "etcd"));
    expect(fs.readFileSync(log, "utf8")).toContain("systemctl restart etcd-witness.service");
    fs.writeFileSync(log, "");
    const again = run();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).not.toContain("the witness etcd member runs");
    expect(again.stdout).toContain("nothing to do");
    expect(fs.readFileSync(log, "utf8")).not.toContain("restart");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
