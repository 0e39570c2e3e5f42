// The control-plane scripts in bring-up order on three lab hosts, with the lab's recording stand-ins
// for kubeadm, kubelet, kube-apiserver and kubectl (test/lab/README.md) over real etcd, containerd and
// keepalived: leader keepalived -> kubeadm init -> token, certificate upload and CA hash -> control-plane
// join -> follower keepalived; join token -> worker join -> Node check; then a worker leaves.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as keepalived from "../../components/controlplane/render-keepalived";
import * as kubeadm from "../../components/controlplane/render-kubeadm";
import * as dialect from "../../components/controlplane/render-scripts";
import * as witness from "../../components/controlplane/render-witness";
import { remoteScript } from "../../components/host/remote-script";
import { specOf } from "../controlplane/fixtures";
import { PREFIX, SUBNET, VIP, labConfig } from "./controlplane-fixtures";
import { labAvailable, startLab, type Lab } from "./lab";

/** The control plane's host scripts, each rendered next to its data. */
const s = { ...dialect, ...keepalived, ...kubeadm, ...witness };

const avail = labAvailable();
const TOKEN = "lab123.0123456789abcdef";
const CERT_KEY = "fedcba9876543210".repeat(4);
const VRRP = "Lab7pass";
/** What node preparation (the hosts issue) does before these steps, reduced to what the stand-ins need. */
const NODE_PREP =
  "set -euo pipefail; apt-get install -y kubelet kubeadm kubectl >/dev/null; systemctl enable --now containerd; systemctl enable kubelet >/dev/null";

describe.skipIf(!avail.ok)(
  `kubeadm bring-up through the rendered scripts (lab stand-ins)${avail.ok ? "" : ` (skipped: ${avail.reason})`}`,
  () => {
    let lab: Lab;
    let caHash = "";
    const measured: Record<string, number> = {};
    const run = async (host: string, script: string, stdin?: string) => {
      const t = Date.now();
      const r = await lab.ssh(host, remoteScript(script, "root"), { stdin, timeoutMs: 240_000 });
      measured[`${host}:${script.split("\n")[1]?.slice(2, 40)}`] = (Date.now() - t) / 1000;
      if (r.code !== 0) throw new Error(`${host}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      for (const secret of [TOKEN, TOKEN.split(".")[1], CERT_KEY, VRRP])
        expect(`${r.stderr}`, `${host} printed a secret`).not.toContain(secret);
      return r;
    };
    const cfg = () => specOf(labConfig(lab, { "cp-1": ["control-plane"], "cp-2": ["control-plane"], "w-1": ["worker", "etcd"] }));

    beforeAll(async () => {
      lab = await startLab({
        prefix: PREFIX,
        subnet: SUBNET,
        hosts: [{ name: "cp-1" }, { name: "cp-2" }, { name: "w-1" }],
        // a shortcut, with NODE_PREP below: what node preparation installs from the distribution is there from the start
        preinstalled: ["keepalived", "curl", "containerd"],
      });
      await Promise.all(lab.hosts.map((h) => lab.ssh(h.name, NODE_PREP)));
    });
    afterAll(async () => {
      console.log("kubeadm bring-up, seconds:", JSON.stringify(measured));
      await lab?.down();
    });

    it("initialises the leader behind its VIP and returns the admin kubeconfig on stdout only", async () => {
      const { spec, host } = cfg();
      await run("cp-1", s.renderKeepalivedScript(spec, { host: host("cp-1"), leader: true }), `${VRRP}\n`);
      const init = await run("cp-1", s.renderInitScript(spec, host("cp-1")), `${TOKEN}\n${CERT_KEY}\n`);
      expect(init.stdout).toMatch(new RegExp(`^apiVersion: v1\n[\\s\\S]*server: https://${VIP.replace(/\./g, "\\.")}:6443`));
      expect(init.stderr).toContain("kubeadm init finished");
      const args = await lab.ssh("cp-1", "grep -h 'kubeadm init' /var/log/standins.log | head -1; stat -c %a /var/log/baremetal-k8s");
      expect(args.stdout).toContain("--upload-certs");
      expect(args.stdout.trim().split("\n").pop()).toBe("700");
      const leaked = await lab.ssh("cp-1", "grep -E '0123456789abcdef|fedcba9876543210' /var/log/baremetal-k8s/kubeadm-init.log || true");
      expect(leaked.stdout).toBe("");
      expect((await lab.ssh("cp-1", `ip -4 -o addr show dev eth0`)).stdout).toContain(` ${VIP}/`);
      const again = await run("cp-1", s.renderInitScript(spec, host("cp-1")), `${TOKEN}\n${CERT_KEY}\n`);
      expect(again.stderr).toContain("already initialised");
      expect(again.stdout).toBe(init.stdout);
    });

    it("re-uploads the certificates, joins cp-2 as a control plane, then starts its keepalived", async () => {
      const { spec, host } = cfg();
      const upload = await run("cp-1", s.renderUploadCertsScript(spec, host("cp-1"), host("cp-2")), `${TOKEN}\n${CERT_KEY}\n`);
      caHash = upload.stdout.trim();
      expect(caHash).toMatch(/^sha256:[a-f0-9]{64}$/);
      const join = await run("cp-2", s.renderJoinScript(spec, host("cp-2")), `${TOKEN}\n${caHash}\n${CERT_KEY}\n`);
      expect(join.stderr).toContain("joined the cluster as a control plane");
      await run("cp-2", s.renderKeepalivedScript(spec, { host: host("cp-2"), leader: false }), `${VRRP}\n`);
      const again = await run("cp-2", s.renderJoinScript(spec, host("cp-2")), `${TOKEN}\n${caHash}\n${CERT_KEY}\n`);
      expect(again.stderr).toContain("already joined");
      const members = await lab.ssh(
        "cp-1",
        "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key member list",
      );
      expect(members.stderr).toBe("");
      expect(members.stdout).toMatch(/started, cp-1,/);
      expect(members.stdout).toMatch(/started, cp-2,/);
    });

    it("joins a worker, which waits for its own Node with its kubelet credentials; the leader sees the Node", async () => {
      const { spec, host } = cfg();
      const token = await run("cp-1", s.renderJoinTokenScript(host("cp-1"), host("w-1")), `${TOKEN}\n`);
      expect(token.stdout.trim()).toBe(caHash);
      const join = await run("w-1", s.renderJoinScript(spec, host("w-1")), `${TOKEN}\n${caHash}\n`);
      expect(join.stderr).toMatch(/joined the cluster as a worker\n(.*\n)*w-1: Node w-1 is registered\n$/);
      expect(
        (await lab.ssh("w-1", "grep -c 'kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node w-1' /var/log/standins.log")).stdout,
      ).not.toBe("0\n");
      expect((await lab.ssh("cp-1", "kubectl get node w-1 -o name")).stdout).toBe("node/w-1\n");
      const again = await run("w-1", s.renderJoinScript(spec, host("w-1")), `${TOKEN}\n${caHash}\n`);
      expect(again.stderr).toMatch(/already joined.*\n(.*\n)*w-1: Node w-1 is registered\n$/);
    });

    it("refuses a join with a wrong CA hash, saying what to do, without printing the token", async () => {
      const { spec, host } = cfg();
      await lab.ssh("w-1", "kubeadm reset -f >/dev/null 2>&1 || true");
      const r = await lab.ssh("w-1", remoteScript(s.renderJoinScript(spec, host("w-1")), "root"), {
        stdin: `${TOKEN}\nsha256:${"0".repeat(64)}\n`,
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("kubeadm join failed");
      expect(r.stderr).not.toContain(TOKEN.split(".")[1]);
      await run("w-1", s.renderJoinScript(spec, host("w-1")), `${TOKEN}\n${caHash}\n`);
    });

    it("drains and deletes a leaving worker's Node on the leader, then resets the worker", async () => {
      const { host } = cfg();
      const drain = await run("cp-1", s.renderNodeDeleteScript(host("cp-1"), host("w-1")));
      expect(drain.stderr).toContain("Node w-1 drained and deleted");
      const reset = await run("w-1", s.renderJoinDeleteScript(host("w-1")));
      expect(reset.stderr).toContain("kubeadm reset done");
      expect((await lab.ssh("w-1", "test -e /etc/kubernetes/kubelet.conf")).code).not.toBe(0);
      const nodes = await lab.ssh("cp-1", "kubectl get nodes -o name");
      expect(nodes.stdout).not.toContain("w-1");
    });
  },
);
