// Issue 12, rung 5: a REAL control plane in a lab host. The program's own keepalived and init scripts run on cp-1 with
// the real kubeadm, kubelet and kubectl (tools/engines/build-kubernetes.sh), Debian's real containerd and runc, and the
// registry.k8s.io images kubeadm names built here from the real binaries (test/lab/images/): kubeadm init brings up
// real etcd, kube-apiserver, kube-controller-manager and kube-scheduler as static pods, and kubectl answers through
// the keepalived VIP. What the lab host lacks next to a real node (no systemd, a nested cgroup v1 tree, no
// CAP_SYS_RESOURCE on this VM, a Go 1.26 build of kubeadm) is made up in the lab only (images/nested-node.ts), never in the
// product: see test/lab/README.md, "Real images / real control plane".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderInitConfig } from "../../components/controlplane/render-kubeadm";
import * as keepalived from "../../components/controlplane/render-keepalived";
import * as kubeadm from "../../components/controlplane/render-kubeadm";
import * as dialect from "../../components/controlplane/render-scripts";
import * as witness from "../../components/controlplane/render-witness";
import { remoteScript } from "../../components/host/remote-script";
import { TEST_SSH_KEY } from "../harness";
import { specOf } from "../controlplane/fixtures";
import { TOOLS_BIN, missingTools } from "../controlplane/k8s-tools";
import { IMAGE_CACHE, buildKubeadmImages } from "./images/k8s-images";
import { LAB_CERT_KEY, LAB_TOKEN, kubeadmImageList } from "./images/kubeadm-list";
import { labAvailable, startLab, type Lab } from "./lab";
import { nestedNode } from "./images/nested-node";

/** The control plane's host scripts, each rendered next to its data. */
const s = { ...dialect, ...keepalived, ...kubeadm, ...witness };

const PREFIX = process.env.LAB_PREFIX ?? "bi";
const SUBNET = process.env.LAB_SUBNET ?? "10.250.70";
const VIP = `${SUBNET}.100`;
const VRRP = "Lab7pass";

function unavailable(): string | undefined {
  const lab = labAvailable();
  if (!lab.ok) return lab.reason;
  return missingTools([
    "kubeadm",
    "kubelet",
    "kubectl",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
    "etcd",
    "pause",
  ]);
}
const why = unavailable();

describe.skipIf(why !== undefined)(`a real kubeadm control plane in a lab host${why ? ` (skipped: ${why})` : ""}`, () => {
  let lab: Lab;
  const measured: Record<string, number> = {};
  const cfg = () =>
    specOf({
      cluster: {
        name: "lab",
        kubernetesVersion: "1.33.4",
        endpoint: { address: VIP, port: 6443, keepalived: { enabled: true, interface: "eth0", virtualRouterId: 61 } },
        networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", cni: "none" },
        faultTolerance: 0,
      },
      hosts: lab.hosts.map((h) => ({
        name: h.name,
        address: h.address,
        hostKey: h.hostKey,
        roles: h.name.startsWith("cp-") ? ["control-plane"] : ["worker"],
      })),
      sshPrivateKey: TEST_SSH_KEY,
    });
  const sh = async (script: string, timeoutMs = 120_000, host = "cp-1") => {
    const r = await lab.ssh(host, script, { timeoutMs });
    if (r.code !== 0) throw new Error(`${host}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const kubectl = (args: string) => sh(`kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);

  beforeAll(async () => {
    let t = Date.now();
    lab = await startLab({
      prefix: PREFIX,
      subnet: SUBNET,
      hosts: [{ name: "cp-1" }, { name: "cp-2" }, { name: "w-1" }],
      preinstalled: ["keepalived", "curl", "containerd"],
    });
    measured["lab up"] = (Date.now() - t) / 1000;
    const { spec, host } = cfg();
    t = Date.now();
    const images = buildKubeadmImages(kubeadmImageList(renderInitConfig(spec, host("cp-1"))), TOOLS_BIN, IMAGE_CACHE);
    measured["images (cached by content)"] = (Date.now() - t) / 1000;
    t = Date.now();
    await Promise.all(lab.hosts.map((x) => x.name).map((h) => sh(nestedNode(images.map((i) => i.tarPath)), 300_000, h)));
    measured["nested node prep + image import"] = (Date.now() - t) / 1000;
  }, 600_000);

  afterAll(async () => {
    console.log("real control plane, seconds:", JSON.stringify(measured));
    await lab?.down();
  }, 300_000);

  it("the program's init script runs the real kubeadm init behind the keepalived VIP and returns the admin kubeconfig", async () => {
    const { spec, host } = cfg();
    let t = Date.now();
    const ka = await lab.ssh("cp-1", remoteScript(s.renderKeepalivedScript(spec, { host: host("cp-1"), leader: true }), "root"), {
      stdin: `${VRRP}\n`,
      timeoutMs: 60_000,
    });
    expect(ka.code, ka.stderr).toBe(0);
    measured["keepalived script"] = (Date.now() - t) / 1000;
    t = Date.now();
    const init = await lab.ssh("cp-1", remoteScript(s.renderInitScript(spec, host("cp-1")), "root"), {
      stdin: `${LAB_TOKEN}\n${LAB_CERT_KEY}\n`,
      timeoutMs: 480_000,
    });
    measured["init script (real kubeadm init)"] = (Date.now() - t) / 1000;
    expect(init.code, `${init.stderr}\n${await sh("tail -n 40 /var/log/baremetal-k8s/kubeadm-init.log || true")}`).toBe(0);
    expect(init.stderr).toContain("kubeadm init finished");
    expect(init.stdout).toMatch(new RegExp(`^apiVersion: v1\n[\\s\\S]*server: https://${VIP.replace(/\./g, "\\.")}:6443\n`));
    // the real kubeadm, not a stand-in: its own log lines
    const log = await sh("cat /var/log/baremetal-k8s/kubeadm-init.log");
    expect(log).toContain("[control-plane-check] kube-apiserver is healthy");
    expect(log).toContain("Your Kubernetes control-plane has initialized successfully!");
    for (const secret of [LAB_TOKEN, LAB_CERT_KEY, VRRP]) expect(init.stderr, "init printed a secret").not.toContain(secret);
  }, 600_000);

  it("kubectl get nodes answers through the VIP: the real API server of the stack's version", async () => {
    expect(await sh("grep -c 'server: https://" + VIP + ":6443' /etc/kubernetes/admin.conf")).toBe("1\n");
    expect(
      await kubectl(
        "get nodes -o custom-columns=NAME:.metadata.name,VERSION:.status.nodeInfo.kubeletVersion,RUNTIME:.status.nodeInfo.containerRuntimeVersion --no-headers",
      ),
    ).toMatch(/^cp-1\s+v1\.33\.4\s+containerd:\/\/\S+\n$/);
    expect(JSON.parse(await kubectl("get --raw /version")) as { gitVersion: string }).toMatchObject({ gitVersion: "v1.33.4" });
    // the real API server has the whole API, not the few objects a stand-in keeps
    expect((await kubectl("api-resources --no-headers")).split("\n").length).toBeGreaterThan(50);
  }, 120_000);

  it("etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as static pods of the built images under containerd", async () => {
    const pods = await kubectl(
      // a static pod's mirror says where the kubelet read it: config.source "file" (the manifest directory)
      "-n kube-system get pods --no-headers -o 'custom-columns=NAME:.metadata.name,PHASE:.status.phase,IMAGE:.spec.containers[0].image,SOURCE:.metadata.annotations.kubernetes\\.io/config\\.source'",
    );
    for (const [pod, image] of [
      ["etcd-cp-1", "registry.k8s.io/etcd:3.5.21-0"],
      ["kube-apiserver-cp-1", "registry.k8s.io/kube-apiserver:v1.33.4"],
      ["kube-controller-manager-cp-1", "registry.k8s.io/kube-controller-manager:v1.33.4"],
      ["kube-scheduler-cp-1", "registry.k8s.io/kube-scheduler:v1.33.4"],
    ]) {
      expect(pods, pod).toMatch(new RegExp(`^${pod}\\s+Running\\s+${image.replace(/[.]/g, "\\.")}\\s+file$`, "m"));
    }
    const tasks = await sh("ctr -n k8s.io containers ls");
    expect(tasks).toContain("registry.k8s.io/etcd:3.5.21-0");
    expect(tasks).toContain("registry.k8s.io/kube-apiserver:v1.33.4");
    // the API server's storage is that etcd: its etcd health check and a write read back
    expect(await kubectl("get --raw /livez/etcd")).toBe("ok");
    await kubectl("create configmap bi-probe --from-literal=k=v -n default");
    const key = await sh(
      "ETCDCTL_API=3 " +
        `${TOOLS_BIN}/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt ` +
        "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key " +
        "get /registry/configmaps/default/bi-probe --keys-only",
    );
    expect(key.trim()).toBe("/registry/configmaps/default/bi-probe");
  }, 120_000);

  it("a second run of the init script does nothing and still returns the admin kubeconfig", async () => {
    const { spec, host } = cfg();
    const again = await lab.ssh("cp-1", remoteScript(s.renderInitScript(spec, host("cp-1")), "root"), {
      stdin: `${LAB_TOKEN}\n${LAB_CERT_KEY}\n`,
      timeoutMs: 60_000,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("already initialised");
    expect(again.stdout).toContain(`server: https://${VIP}:6443`);
  }, 120_000);

  it("cp-2 joins as a second control plane through the program's upload-certs and join scripts (rung 6's first step)", async () => {
    const { spec, host } = cfg();
    let t = Date.now();
    const upload = await lab.ssh("cp-1", remoteScript(s.renderUploadCertsScript(spec, host("cp-1"), host("cp-2")), "root"), {
      stdin: `${LAB_TOKEN}\n${LAB_CERT_KEY}\n`,
      timeoutMs: 120_000,
    });
    expect(upload.code, upload.stderr).toBe(0);
    const caHash = upload.stdout.trim();
    expect(caHash).toMatch(/^sha256:[a-f0-9]{64}$/);
    measured["upload-certs script"] = (Date.now() - t) / 1000;
    t = Date.now();
    const join = await lab.ssh("cp-2", remoteScript(s.renderJoinScript(spec, host("cp-2")), "root"), {
      stdin: `${LAB_TOKEN}\n${caHash}\n${LAB_CERT_KEY}\n`,
      timeoutMs: 480_000,
    });
    measured["join script (real kubeadm join --control-plane)"] = (Date.now() - t) / 1000;
    expect(join.code, `${join.stderr}\n${await sh("tail -n 40 /var/log/baremetal-k8s/kubeadm-join.log || true", 30_000, "cp-2")}`).toBe(0);
    expect(join.stderr).toContain("joined the cluster as a control plane");
    const ka = await lab.ssh("cp-2", remoteScript(s.renderKeepalivedScript(spec, { host: host("cp-2"), leader: false }), "root"), {
      stdin: `${VRRP}\n`,
      timeoutMs: 60_000,
    });
    expect(ka.code, ka.stderr).toBe(0);
    expect(await kubectl("get nodes -o name")).toBe("node/cp-1\nnode/cp-2\n");
    const members = await sh(
      `ETCDCTL_API=3 ${TOOLS_BIN}/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt ` +
        "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key member list",
    );
    expect(members).toMatch(/started, cp-1,/);
    expect(members).toMatch(/started, cp-2,/);
    // cp-2's own API server, on its own address, serves the same cluster
    expect(
      await sh(
        "kubectl --kubeconfig /etc/kubernetes/admin.conf --server https://" + lab.hosts[1].address + ":6443 get cm bi-probe -o name",
        60_000,
        "cp-2",
      ),
    ).toBe("configmap/bi-probe\n");
  }, 600_000);

  it("w-1 joins as a worker through the program's token and join scripts and waits for its own Node", async () => {
    const { spec, host } = cfg();
    const token = await lab.ssh("cp-1", remoteScript(s.renderJoinTokenScript(host("cp-1"), host("w-1")), "root"), {
      stdin: `${LAB_TOKEN}\n`,
      timeoutMs: 120_000,
    });
    expect(token.code, token.stderr).toBe(0);
    const caHash = token.stdout.trim();
    expect(caHash).toMatch(/^sha256:[a-f0-9]{64}$/);
    const t = Date.now();
    const join = await lab.ssh("w-1", remoteScript(s.renderJoinScript(spec, host("w-1")), "root"), {
      stdin: `${LAB_TOKEN}\n${caHash}\n`,
      timeoutMs: 480_000,
    });
    measured["worker join script (real kubeadm join)"] = (Date.now() - t) / 1000;
    expect(join.code, `${join.stderr}\n${await sh("tail -n 40 /var/log/baremetal-k8s/kubeadm-join.log || true", 30_000, "w-1")}`).toBe(0);
    expect(join.stderr).toMatch(/joined the cluster as a worker\n(.*\n)*w-1: Node w-1 is registered\n$/);
    expect(await kubectl("get nodes -o name")).toBe("node/cp-1\nnode/cp-2\nnode/w-1\n");
  }, 600_000);
});
