import { describe, expect, it } from "vitest";
import {
  GATEWAY_API_CRDS,
  GATEWAY_API_VERSION,
  gatewayApiCrdUrl,
  renderGatewayApiCrdsDeleteScript,
  renderGatewayApiCrdsScript,
} from "../../components/network/gateway-api";
import { have, shellcheck } from "../controlplane/shell";
import { clone, loadStack, runProgram, type TestConfig } from "../harness";
import { RELEASE, valuesOf } from "../storage/helpers";

function devWith(edit: (cfg: TestConfig) => void): TestConfig {
  const cfg = clone(loadStack("dev"));
  edit(cfg);
  return cfg;
}

describe("MetalLB, Traefik and the Gateway API in the real program", () => {
  it("creates the pool and its L2 advertisement after the MetalLB chart (its CRDs and webhook), and MetalLB after the CNI", async () => {
    const run = await runProgram(loadStack("dev"));
    run.assertAfter("metallb", "cni-cilium");
    for (const obj of ["metallb-pool", "metallb-l2advertisement"]) run.assertAfter(obj, "metallb");
    const pool = run.get("metallb-pool");
    expect(pool.type).toBe("kubernetes:metallb.io/v1beta1:IPAddressPool");
    expect((pool.inputs.spec as { addresses: string[] }).addresses).toEqual(["192.168.10.200-192.168.10.220"]);
    expect((run.get("metallb-l2advertisement").inputs.spec as { ipAddressPools: string[] }).ipAddressPools).toEqual(["default"]);
    expect(run.get("metallb", RELEASE).inputs.version).toBe("0.15.3");
  });

  it("installs Traefik after MetalLB's pool and the Gateway API CRDs, asking for its address with MetalLB's annotation", async () => {
    const run = await runProgram(loadStack("dev"));
    run.assertAfter("traefik", "metallb-pool");
    run.assertAfter("traefik", "metallb-l2advertisement");
    run.assertAfter("traefik", "cp-1-gateway-api-crds");
    const values = valuesOf(run, "traefik") as { service: Record<string, unknown>; providers?: unknown };
    expect(values.service).toEqual({ spec: { type: "LoadBalancer" }, annotations: { "metallb.io/loadBalancerIPs": "192.168.10.200" } });
    expect(values.providers).toEqual({ kubernetesGateway: { enabled: true } });
  });

  it("installs the Gateway API CRDs after kubeadm init and before Cilium, whose Gateway API support it switches on", async () => {
    const run = await runProgram(loadStack("dev"));
    run.assertAfter("cp-1-gateway-api-crds", "cp-1-kubeadm-init");
    run.assertAfter("cni-cilium", "cp-1-gateway-api-crds");
    const cilium = valuesOf(run, "cni-cilium");
    expect(cilium.gatewayAPI).toEqual({ enabled: true });
    expect(cilium.nodePort).toEqual({ enabled: true });
  });

  it("registers none of it when the config asks for none", async () => {
    const run = await runProgram(
      devWith((cfg) => {
        const networking = (cfg.cluster as { networking: Record<string, unknown> }).networking;
        delete networking.loadBalancer;
        networking.gatewayApi = false;
        delete cfg.ingress;
      }),
    );
    for (const n of ["metallb", "metallb-pool", "traefik", "cp-1-gateway-api-crds"]) expect(run.find(n)).toBeUndefined();
    const cilium = valuesOf(run, "cni-cilium");
    expect(cilium.gatewayAPI).toBeUndefined();
  });

  it("Traefik without the Gateway API leaves its provider off and asks for no address when none is set", async () => {
    const run = await runProgram(
      devWith((cfg) => {
        (cfg.cluster as { networking: Record<string, unknown> }).networking.gatewayApi = false;
        cfg.ingress = { traefik: { enabled: true } };
      }),
    );
    const values = valuesOf(run, "traefik");
    expect(values).toEqual({ service: { spec: { type: "LoadBalancer" } } });
    run.assertAfter("traefik", "metallb-pool");
  });
});

describe("the Gateway API CRDs step", () => {
  it("downloads each standard-channel CRD of the pinned release and checks its pinned sha256 before applying", async () => {
    const run = await runProgram(loadStack("dev"));
    const create = run.get("cp-1-gateway-api-crds").inputs.create as string;
    expect(GATEWAY_API_VERSION).toBe("v1.4.1");
    expect(GATEWAY_API_CRDS.map((c) => c.name).sort()).toEqual(
      ["backendtlspolicies", "gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants"].sort(),
    );
    for (const c of GATEWAY_API_CRDS) {
      expect(c.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(create).toContain(`${c.name}=${c.sha256}`);
    }
    expect(gatewayApiCrdUrl("gateways")).toBe(
      "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/v1.4.1/config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
    );
    expect(create).toMatch(/sha256sum[\s\S]*refusing to apply[\s\S]*kubectl --kubeconfig "\$ADMIN_CONF" apply --server-side/);
  });
});

describe("the Gateway API scripts", () => {
  it.skipIf(!have("shellcheck"))("are shellcheck-clean", () => {
    const leader = { name: "cp-1" } as Parameters<typeof renderGatewayApiCrdsScript>[0];
    expect(shellcheck(renderGatewayApiCrdsScript(leader))).toBe("");
    expect(shellcheck(renderGatewayApiCrdsDeleteScript(leader))).toBe("");
  });
});
