import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { CONTROL_PLANE_TAINT, parseTaint } from "../../components/config/predicates";
import {
  CRI_SOCKET,
  PLACEHOLDER,
  apiServerCertSans,
  nodeTaints,
  renderInitConfig,
  renderJoinConfig,
} from "../../components/controlplane/render-kubeadm";
import { clone, loadStack } from "../harness";
import { specOf } from "./fixtures";

type Doc = Record<string, unknown>;

/** The value at a path in a parsed YAML document (undefined where the path does not exist). */
function at(doc: unknown, ...path: (string | number)[]): unknown {
  let v = doc;
  for (const p of path) v = v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

describe("kubeadm v1beta4 config", () => {
  const { spec, host } = specOf();
  const init = renderInitConfig(spec, host("cp-1"));
  const [initDoc, clusterDoc] = parseAllDocuments(init).map((d) => d.toJSON() as Doc);

  it("renders InitConfiguration + ClusterConfiguration for the leader (snapshot)", () => {
    expect(init).toMatchSnapshot();
    expect(initDoc?.kind).toBe("InitConfiguration");
    expect(clusterDoc?.kind).toBe("ClusterConfiguration");
    expect(initDoc?.apiVersion).toBe("kubeadm.k8s.io/v1beta4");
    expect(clusterDoc?.apiVersion).toBe("kubeadm.k8s.io/v1beta4");
  });

  it("points every node at the VIP and puts the VIP, every control-plane address and name in the API certificate", () => {
    expect(clusterDoc?.controlPlaneEndpoint).toBe("192.168.10.10:6443");
    expect(at(clusterDoc, "apiServer", "certSANs")).toEqual(["192.168.10.10", "192.168.10.11", "192.168.10.12", "cp-1", "cp-2"]);
    expect(clusterDoc?.kubernetesVersion).toBe("v1.33.4");
    expect(clusterDoc?.networking).toMatchObject({ podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" });
  });

  it("registers the leader with containerd, its own address and the control-plane taint; secrets only as placeholders", () => {
    expect(initDoc?.nodeRegistration).toMatchObject({ name: "cp-1", criSocket: CRI_SOCKET, taints: [CONTROL_PLANE_TAINT] });
    expect(initDoc?.localAPIEndpoint).toEqual({ advertiseAddress: "192.168.10.11", bindPort: 6443 });
    expect(at(initDoc, "bootstrapTokens", 0, "token")).toBe(PLACEHOLDER.token);
    expect(initDoc?.certificateKey).toBe(PLACEHOLDER.certificateKey);
  });

  it("joins a follower as a control plane with the certificate key, and a worker without", () => {
    const cp = parse(renderJoinConfig(spec, host("cp-2"))) as Doc;
    expect(cp.kind).toBe("JoinConfiguration");
    expect(cp.controlPlane).toEqual({
      certificateKey: PLACEHOLDER.certificateKey,
      localAPIEndpoint: { advertiseAddress: "192.168.10.12", bindPort: 6443 },
    });
    expect(at(cp, "discovery", "bootstrapToken")).toEqual({
      apiServerEndpoint: "192.168.10.10:6443",
      token: PLACEHOLDER.token,
      caCertHashes: [PLACEHOLDER.caCertHash],
    });
    const w = parse(renderJoinConfig(spec, host("w-1"))) as Doc;
    expect(w.controlPlane).toBeUndefined();
    expect(at(w, "nodeRegistration", "taints")).toEqual([]);
    expect(at(w, "nodeRegistration", "kubeletExtraArgs")).toContainEqual({
      name: "node-labels",
      value: "topology.kubernetes.io/zone=rack-a",
    });
    expect(renderJoinConfig(spec, host("w-1"))).toMatchSnapshot();
  });

  it("applies host taints, and a control plane that is also a worker loses the control-plane taint", () => {
    const cfg = loadStack("dev");
    const hosts = clone(cfg.hosts) as { name: string; roles: string[]; taints?: string[] }[];
    hosts[1].roles = ["control-plane", "worker"];
    hosts[1].taints = ["dedicated=infra:NoExecute"];
    const { host: h } = specOf({ ...cfg, hosts });
    expect(nodeTaints(h("cp-2"))).toEqual([{ key: "dedicated", value: "infra", effect: "NoExecute" }]);
    expect(nodeTaints(h("cp-1"))).toEqual([CONTROL_PLANE_TAINT]);
    expect(parseTaint("gpu:NoSchedule")).toEqual({ key: "gpu", effect: "NoSchedule" });
  });

  it("is deterministic and lists SANs without duplicates", () => {
    expect(renderInitConfig(spec, host("cp-1"))).toBe(init);
    const sans = apiServerCertSans(spec);
    expect(new Set(sans).size).toBe(sans.length);
  });
});
