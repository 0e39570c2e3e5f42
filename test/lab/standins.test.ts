// The kubeadm/kubelet/kubectl/apt-get stand-ins on lab hosts: what the real tools would leave
// behind (files, a real TLS etcd, members added and removed), and the preflight refusals that
// make the program's guards matter.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labAvailable, startLab, type Lab } from "./lab";

const PREFIX = process.env.LAB_PREFIX ?? "bl";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.10";
const avail = labAvailable();
const KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN = "abcdef.0123456789abcdef";

const initConfig = (ip: string) => `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - groups:
      - system:bootstrappers:kubeadm:default-node-token
    token: ${TOKEN}
    ttl: 24h0m0s
certificateKey: ${KEY}
localAPIEndpoint:
  advertiseAddress: ${ip}
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///var/run/containerd/containerd.sock
  name: cp-1
  taints: []
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
controlPlaneEndpoint: ${SUBNET}.11:6443
apiServer:
  certSANs:
    - ${SUBNET}.10
    - cp-1
kubernetesVersion: v1.33.4
`;
const ETCDCTL =
  "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/apiserver-etcd-client.crt --key /etc/kubernetes/pki/apiserver-etcd-client.key";

describe.skipIf(!avail.ok)(`kubeadm & co. stand-ins${avail.ok ? "" : ` (skipped: ${avail.reason})`}`, () => {
  let lab: Lab;
  const sh = async (h: string, script: string, stdin?: string) => {
    const r = await lab.ssh(h, script, { stdin, timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`${h}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: [{ name: "cp-1" }, { name: "cp-2" }, { name: "w-1" }],
      // a shortcut: this file tests the stand-ins, not node preparation, so the curl and gpg it uses are there from the start
      preinstalled: ["curl", "gpg"],
    });
    await Promise.all(
      lab.hosts.map((h) =>
        sh(
          h.name,
          "apt-get update -q && apt-get install -y kubelet=1.33.4-1.1 kubeadm=1.33.4-1.1 kubectl=1.33.4-1.1 containerd >/dev/null && apt-mark hold kubelet kubeadm kubectl >/dev/null",
        ),
      ),
    );
  });
  afterAll(async () => {
    await lab?.down();
  });

  it("installs the pkgs.k8s.io packages as stand-ins registered with dpkg, and the repository key", async () => {
    const out = await sh(
      "w-1",
      "dpkg-query -W -f='${Version}\\n' kubeadm; apt-mark showhold | sort | tr '\\n' ' '; echo; kubeadm version -o short; curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release.key | gpg --dearmor | head -c 1 | wc -c",
    );
    expect(out).toBe("1.33.4-1.1\nkubeadm kubectl kubelet \nv1.33.4\n1\n");
    const r = await lab.ssh("w-1", "apt-get install -y no-such-package");
    expect(r.code).toBe(100);
    expect(r.stderr).toContain("Unable to locate package no-such-package");
  });

  it("refuses kubeadm init without a running container runtime, as the real preflight does", async () => {
    const r = await lab.ssh("cp-1", "cat > /root/init.yaml && kubeadm init --config /root/init.yaml", {
      stdin: initConfig(lab.host("cp-1").address),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[ERROR CRI]");
  });

  it("kubeadm init writes the real files and runs a real TLS etcd and an API server answering /healthz", async () => {
    await Promise.all(lab.hosts.map((h) => sh(h.name, "systemctl enable --now containerd >/dev/null")));
    const out = await sh("cp-1", "kubeadm init --config /root/init.yaml --upload-certs");
    expect(out).toContain("Your Kubernetes control-plane has initialized successfully!");
    const files = await sh(
      "cp-1",
      "cd /etc/kubernetes && ls admin.conf super-admin.conf kubelet.conf manifests/kube-apiserver.yaml manifests/etcd.yaml pki/ca.crt pki/etcd/ca.key && openssl verify -CAfile pki/ca.crt pki/apiserver.crt && openssl x509 -noout -ext subjectAltName -in pki/apiserver.crt",
    );
    expect(files).toContain("pki/apiserver.crt: OK");
    expect(files).toContain(`IP Address:${SUBNET}.10`);
    expect(await sh("cp-1", `${ETCDCTL} member list`)).toMatch(/started, cp-1, https:\/\/[\d.]+:2380/);
    expect(await sh("cp-1", "curl -sf --cacert /etc/kubernetes/pki/ca.crt https://cp-1:6443/healthz")).toBe("ok");
    expect(await sh("cp-1", "grep -c 'kubeadm init' /var/log/standins.log")).toBe("2\n"); // the refused one and this one
    const again = await lab.ssh("cp-1", "kubeadm init --config /root/init.yaml");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]");
  });

  it("joins a control plane (certs fetched with the certificate key, a real etcd member added) and a worker", async () => {
    const hash = (
      await sh(
        "cp-1",
        "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
      )
    ).trim();
    const bad = await lab.ssh(
      "w-1",
      `kubeadm join ${SUBNET}.11:6443 --token ${TOKEN} --discovery-token-ca-cert-hash sha256:${"0".repeat(64)}`,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("are pinned");
    const wrongKey = await lab.ssh(
      "cp-2",
      `kubeadm join ${SUBNET}.11:6443 --token ${TOKEN} --discovery-token-ca-cert-hash sha256:${hash} --control-plane --certificate-key ${"1".repeat(64)}`,
    );
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain("does not decrypt");
    await sh("cp-2", "kubeadm reset -f >/dev/null");
    await sh(
      "cp-2",
      `kubeadm join ${SUBNET}.11:6443 --token ${TOKEN} --discovery-token-ca-cert-hash sha256:${hash} --control-plane --certificate-key ${KEY}`,
    );
    await sh("w-1", `kubeadm join ${SUBNET}.11:6443 --token ${TOKEN} --discovery-token-ca-cert-hash sha256:${hash}`);
    const members = await sh("cp-1", `${ETCDCTL} member list`);
    expect(members.match(/, started, /g)).toHaveLength(2);
    expect(await sh("cp-2", "kubectl get nodes -o name")).toBe("node/cp-1\nnode/cp-2\nnode/w-1\n");
    expect(await sh("w-1", "test -f /etc/kubernetes/kubelet.conf && systemctl is-active kubelet")).toBe("active\n");
  });

  it("kubectl drain/delete and kubeadm reset undo a join; reset of a control plane removes its etcd member", async () => {
    await sh("cp-1", "kubectl drain w-1 --ignore-daemonsets --delete-emptydir-data && kubectl delete node w-1");
    await sh("w-1", "kubeadm reset -f");
    await sh("cp-2", "kubeadm reset phase remove-etcd-member --kubeconfig /etc/kubernetes/admin.conf && kubeadm reset -f");
    expect((await sh("cp-1", `${ETCDCTL} member list`)).trim().split("\n")).toHaveLength(1);
    expect(await sh("cp-1", "kubectl get nodes -o name")).toBe("node/cp-1\nnode/cp-2\n");
    expect(await sh("w-1", "ls /etc/kubernetes/kubelet.conf 2>/dev/null || echo gone")).toBe("gone\n");
    expect(await sh("cp-1", "grep -E '^[0-9T:-]+ (kubeadm|kubectl) ' /var/log/standins.log | wc -l")).not.toBe("0\n");
  });
});
