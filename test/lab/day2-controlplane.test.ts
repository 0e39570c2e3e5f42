// Issue 13, points 6 and 9, against a REAL kubeadm control plane in a lab host (brought up as in
// real-controlplane.test.ts: the real kubeadm, kubelet, etcd 3.5 as a static pod under Debian's containerd): the
// product's etcd backup script takes, verifies, names and prunes real snapshots, and fails cleanly with etcd stopped;
// the product's certificate renewal script renews with the real kubeadm and restarts the real static pods.
// Stand-in, named: the lab host has no journald, so a small listener on /dev/log (python3, below) records what
// `logger` sends, as journald would receive it. The timer itself needs systemd, which the lab host lacks: the unit
// pair is checked with the real systemd-analyze in test/day2/render-etcd-backup.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EtcdBackupSpec } from "../../components/config/spec";
import { renderInitConfig } from "../../components/controlplane/render-kubeadm";
import * as s from "../../components/controlplane/render-kubeadm";
import { renderCertRenewalScript } from "../../components/day2/render-cert-renewal";
import { SNAPSHOT_NAME_RE, renderEtcdBackupScript } from "../../components/day2/render-etcd-backup";
import { remoteScript } from "../../components/host/remote-script";
import { TEST_SSH_KEY } from "../harness";
import { specOf } from "../controlplane/fixtures";
import { TOOLS_BIN } from "../controlplane/k8s-tools";
import { IMAGE_CACHE, buildKubeadmImages } from "./images/k8s-images";
import { LAB_CERT_KEY, LAB_TOKEN, kubeadmImageList } from "./images/kubeadm-list";
import { startLab, type Lab } from "./lab";
import { nestedNode, realControlPlaneUnavailable } from "./images/nested-node";

const PREFIX = process.env.LAB_PREFIX ?? "bk";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.85";
const BACKUP: EtcdBackupSpec = { schedule: "hourly", keep: 3, path: "/var/backups/etcd" };
const SCRIPT = "/usr/local/sbin/baremetal-k8s-etcd-backup";
const JOURNAL = "/var/log/journal-standin.log";

/** Stand-in for journald's syslog socket: every datagram on /dev/log, one per line. */
const JOURNAL_STANDIN = `import os, socket
try:
    os.unlink("/dev/log")
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open("${JOURNAL}", "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\\n") + b"\\n")
`;

const why = realControlPlaneUnavailable(["etcdctl", "etcdutl"]);

describe.skipIf(why !== undefined)(
  `etcd backups and certificate renewal on a real kubeadm control plane${why ? ` (skipped: ${why})` : ""}`,
  () => {
    let lab: Lab;
    let initDone = 0;
    const measured: Record<string, number> = {};
    const cfg = () =>
      specOf({
        cluster: {
          name: "lab",
          kubernetesVersion: "1.33.4",
          endpoint: { address: lab.hosts[0].address, port: 6443, keepalived: { enabled: false } },
          networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", cni: "none" },
          faultTolerance: 0,
          etcdBackup: BACKUP,
          certificates: { renew: "first" },
        },
        hosts: lab.hosts.map((h) => ({ name: h.name, address: h.address, hostKey: h.hostKey, roles: ["control-plane"] })),
        sshPrivateKey: TEST_SSH_KEY,
      });
    const sh = async (script: string, timeoutMs = 120_000) => {
      const r = await lab.ssh("cp-1", script, { timeoutMs });
      if (r.code !== 0) throw new Error(`cp-1: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    const kubectl = (args: string) => sh(`kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);
    const backup = () => lab.ssh("cp-1", SCRIPT, { timeoutMs: 180_000 });
    const files = async () => (await sh(`ls -1A ${BACKUP.path} | grep -v '^.lock$' || true`)).split("\n").filter((l) => l !== "");
    const listening = async (port: number) => (await sh(`ss -Hltn '( sport = :${port} )'`)).trim() !== "";
    const waitFor = async (what: string, ok: () => Promise<boolean>, seconds: number) => {
      const until = Date.now() + seconds * 1000;
      while (!(await ok())) {
        if (Date.now() > until) throw new Error(`${what}: not within ${seconds} s`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    const apiAnswers = async () =>
      (await lab.ssh("cp-1", "kubectl --kubeconfig /etc/kubernetes/admin.conf get --raw /healthz", { timeoutMs: 20_000 })).stdout === "ok";
    /** `kubeadm certs check-expiration`: certificate or kubeconfig name -> expiry (ms). */
    const expiries = async () => {
      const out = await sh("kubeadm certs check-expiration");
      const m = new Map<string, number>();
      for (const line of out.split("\n")) {
        // the second table lists the CAs, which kubeadm certs renew does not renew (they last ten years)
        if (line.startsWith("CERTIFICATE AUTHORITY")) break;
        const x = /^(\S+)\s+([A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC)\s/.exec(line);
        if (x) m.set(x[1], Date.parse(x[2]));
      }
      return m;
    };
    const servedNotAfter = () => sh("openssl s_client -connect 127.0.0.1:6443 </dev/null 2>/dev/null | openssl x509 -noout -enddate");

    beforeAll(async () => {
      let t = Date.now();
      lab = await startLab({ prefix: PREFIX, subnet: SUBNET, hosts: [{ name: "cp-1" }], preinstalled: ["curl", "containerd"] });
      const { spec, host } = cfg();
      const images = buildKubeadmImages(kubeadmImageList(renderInitConfig(spec, host("cp-1"))), TOOLS_BIN, IMAGE_CACHE);
      await sh(nestedNode(images.map((i) => i.tarPath)), 300_000);
      measured["lab, images, nested node"] = (Date.now() - t) / 1000;
      t = Date.now();
      const init = await lab.ssh("cp-1", remoteScript(s.renderInitScript(spec, host("cp-1")), "root"), {
        stdin: `${LAB_TOKEN}\n${LAB_CERT_KEY}\n`,
        timeoutMs: 480_000,
      });
      expect(init.code, `${init.stderr}\n${await sh("tail -n 40 /var/log/baremetal-k8s/kubeadm-init.log || true")}`).toBe(0);
      initDone = Date.now();
      measured["kubeadm init"] = (initDone - t) / 1000;
      await lab.ssh("cp-1", "install -D -m 0700 /dev/stdin /root/journal-standin.py", { stdin: JOURNAL_STANDIN });
      await sh("setsid -f /usr/bin/python3 /root/journal-standin.py >/dev/null 2>&1 </dev/null");
      await waitFor("the journal stand-in", async () => (await lab.ssh("cp-1", "test -S /dev/log")).code === 0, 10);
      await lab.ssh("cp-1", `install -D -m 0700 /dev/stdin ${SCRIPT}`, { stdin: renderEtcdBackupScript(BACKUP) });
    }, 900_000);

    afterAll(async () => {
      console.log("day two on a real control plane, seconds:", JSON.stringify(measured));
      await lab?.down();
    }, 300_000);

    it("the backup script takes a snapshot of the real etcd with tools from its image, verified and named as the status command reads it", async () => {
      await kubectl("create configmap bk-probe --from-literal=k=v -n default");
      const t = Date.now();
      const r = await backup();
      measured["first backup (tools from the image)"] = (Date.now() - t) / 1000;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("took etcdctl and etcdutl of etcd 3.5.21 from the image registry.k8s.io/etcd:3.5.21-0");
      const names = await files();
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(SNAPSHOT_NAME_RE);
      // the real etcdutl accepts it, and it holds the cluster (more than a handful of keys, the probe's revision)
      const status = JSON.parse(await sh(`${TOOLS_BIN}/etcdutl snapshot status ${BACKUP.path}/${names[0]} -w json`)) as {
        revision: number;
        totalKey: number;
      };
      expect(status.totalKey).toBeGreaterThan(50);
      expect(status.revision).toBeGreaterThan(0);
      expect(await sh(`stat -c '%a %U' ${BACKUP.path} ${BACKUP.path}/${names[0]}`)).toBe("700 root\n600 root\n");
      // in the journal: priority daemon.info (<30>), under the tag
      const journal = await sh(`cat ${JOURNAL}`);
      expect(journal).toMatch(new RegExp(`^<30>.*baremetal-k8s-etcd-backup: snapshot ${BACKUP.path}/${names[0]} taken and verified`, "m"));
    }, 300_000);

    it(`run keep+2 (${BACKUP.keep + 2}) times in all, it leaves exactly the newest keep (${BACKUP.keep}) snapshots and no .part`, async () => {
      const t = Date.now();
      for (let i = 0; i < BACKUP.keep + 1; i++) {
        const r = await backup();
        expect(r.code, r.stderr).toBe(0);
      }
      measured["backup (tools cached), each"] = (Date.now() - t) / 1000 / (BACKUP.keep + 1);
      const names = await files();
      expect(names).toHaveLength(BACKUP.keep);
      for (const n of names) expect(n).toMatch(SNAPSHOT_NAME_RE);
      const journal = await sh(`grep -c 'taken and verified' ${JOURNAL}`);
      expect(journal.trim()).toBe(String(BACKUP.keep + 2));
      // the newest are kept: the last run's snapshot is among them and the first run's is gone
      expect(await sh(`grep -o '${BACKUP.keep} kept, 1 older removed' ${JOURNAL} | wc -l`)).toBe("2\n");
    }, 600_000);

    it("with etcd stopped, it exits non-zero, leaves no .part and no new snapshot, and logs the failure", async () => {
      const before = await files();
      await sh("mv /etc/kubernetes/manifests/etcd.yaml /root/etcd.yaml");
      try {
        await waitFor("etcd stopped", async () => !(await listening(2379)), 120);
        const t = Date.now();
        const r = await backup();
        measured["failing backup (etcd down)"] = (Date.now() - t) / 1000;
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("FAILED: etcd at https://127.0.0.1:2379 is not healthy, no snapshot taken");
        expect(await files()).toEqual(before);
        expect(await sh(`find ${BACKUP.path} -name '*.part*' | wc -l`)).toBe("0\n");
        expect(await sh(`cat ${JOURNAL}`)).toMatch(/^<27>.*baremetal-k8s-etcd-backup: FAILED: etcd at/m);
      } finally {
        await sh("mv /root/etcd.yaml /etc/kubernetes/manifests/etcd.yaml");
        await waitFor("the API server answers again", apiAnswers, 240);
      }
    }, 400_000);

    it("certificate renewal: the first run on a fresh cluster only records the value; nothing restarts", async () => {
      const { spec, host } = cfg();
      const before = await expiries();
      const served = await servedNotAfter();
      const r = await lab.ssh("cp-1", remoteScript(renderCertRenewalScript(spec, host("cp-1"), "first"), "root"), { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("less than a day ago: nothing to renew; cluster.certificates.renew=first recorded");
      expect(await expiries()).toEqual(before);
      expect(await servedNotAfter()).toBe(served);
    }, 120_000);

    it("a new value renews with the real kubeadm: expiry dates move forward, the API server serves the new certificate and answers", async () => {
      const { spec, host } = cfg();
      // kubeadm prints expiry to the minute: renew at least a minute after kubeadm init made the certificates
      const wait = initDone + 65_000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const before = await expiries();
      expect(before.size).toBeGreaterThan(8);
      const served = await servedNotAfter();
      const t = Date.now();
      const r = await lab.ssh("cp-1", remoteScript(renderCertRenewalScript(spec, host("cp-1"), "second"), "root"), { timeoutMs: 600_000 });
      measured["certificate renewal step"] = (Date.now() - t) / 1000;
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const healthy = /API server and etcd healthy after (\d+) s/.exec(r.stdout);
      expect(healthy, r.stdout).not.toBeNull();
      measured["static pods: manifests back -> /healthz and etcd healthy"] = Number(healthy?.[1]);
      const after = await expiries();
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [name, at] of before) expect(after.get(name), name).toBeGreaterThan(at);
      // the running API server was restarted: it serves the renewed certificate
      expect(await servedNotAfter()).not.toBe(served);
      expect(await apiAnswers()).toBe(true);
      expect(await kubectl("get cm bk-probe -n default -o name")).toBe("configmap/bk-probe\n");
      const again = await lab.ssh("cp-1", remoteScript(renderCertRenewalScript(spec, host("cp-1"), "second"), "root"), {
        timeoutMs: 60_000,
      });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain("renewed for cluster.certificates.renew=second already; nothing to do");
      expect(await expiries()).toEqual(after);
    }, 900_000);
  },
);
