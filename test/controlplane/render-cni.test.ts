import { describe, expect, it } from "vitest";
import { CALICO_VERSION, CILIUM_VERSION, renderCniChart } from "../../components/controlplane/render-cni";
import { clone, loadStack } from "../harness";
import { specOf } from "./fixtures";

function withCni(cni: string) {
  const cfg = loadStack("dev");
  const cluster = clone(cfg.cluster) as { networking: { cni: string } };
  cluster.networking.cni = cni;
  return specOf({ ...cfg, cluster }).spec;
}

describe("CNI chart", () => {
  it("pins Cilium, using the cluster's pod CIDRs and the VIP", () => {
    const c = renderCniChart(specOf().spec);
    expect(c).toMatchObject({ chart: "cilium", version: CILIUM_VERSION, repo: "https://helm.cilium.io/", namespace: "kube-system" });
    expect(c?.values).toMatchObject({ ipam: { mode: "kubernetes" }, k8sServiceHost: "192.168.10.10", k8sServicePort: 6443 });
  });

  it("pins Calico's tigera-operator with an IP pool on networking.podSubnet", () => {
    const c = renderCniChart(withCni("calico"));
    expect(c).toMatchObject({ chart: "tigera-operator", version: CALICO_VERSION, namespace: "tigera-operator" });
    expect(JSON.stringify(c?.values)).toContain('"cidr":"10.244.0.0/16"');
  });

  it("installs nothing for cni: none", () => {
    expect(renderCniChart(withCni("none"))).toBeUndefined();
  });
});
