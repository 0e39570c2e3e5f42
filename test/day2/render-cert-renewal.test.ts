// Certificate renewal (issue 13, point 9). Upgrades renew certificates: kubeadm 1.33's source
// (cmd/kubeadm/app/cmd/upgrade/apply.go: `renewCerts: true` as the flag's default; node.go the same;
// apis/kubeadm/v1beta4/defaults.go: Apply.CertificateRenewal and Node.CertificateRenewal default to true;
// phases/upgrade/staticpods.go renews each component's certificates and admin.conf when renewCerts), so the
// upgrade step must not switch it off. For clusters not upgraded within a year: cluster.certificates.renew.
import { describe, expect, it } from "vitest";
import { CERT_RENEWAL, renderCertRenewalScript } from "../../components/day2/render-cert-renewal";
import { renderUpgradeScript } from "../../components/upgrade/render-upgrade";
import { specOf } from "../controlplane/fixtures";
import { invocationsIn, missingTools, runTool } from "../controlplane/k8s-tools";
import { have, shellcheck } from "../controlplane/shell";
import { loadStack } from "../harness";

const { spec, host } = specOf(loadStack("dev"));

describe("upgrades renew the certificates (kubeadm's default, which the upgrade step keeps)", () => {
  const scripts = {
    leader: renderUpgradeScript({ spec, host: host("cp-1"), hop: "1.33.7", role: "leader", drain: true, moveVip: true }),
    "control plane": renderUpgradeScript({ spec, host: host("cp-2"), hop: "1.33.7", role: "control-plane", drain: true, moveVip: true }),
  };

  it("runs kubeadm upgrade apply / node with neither --certificate-renewal nor a config that could set certificateRenewal", () => {
    for (const [role, script] of Object.entries(scripts)) {
      const upgrades = invocationsIn(script, role).filter((i) => i.tool === "kubeadm" && i.words[0] === "upgrade");
      expect(
        upgrades.map((i) => i.words.slice(0, 2).join(" ")),
        role,
      ).toEqual(role === "leader" ? ["upgrade plan", "upgrade apply"] : ["upgrade node"]);
      for (const u of upgrades) {
        expect(
          u.words.some((w) => w.startsWith("--certificate-renewal")),
          `${role}: ${u.words.join(" ")}`,
        ).toBe(false);
        expect(
          u.words.some((w) => w.startsWith("--config")),
          `${role}: ${u.words.join(" ")}`,
        ).toBe(false);
      }
      expect(script).not.toMatch(/certificateRenewal|certificate-renewal/);
    }
  });

  const why = missingTools(["kubeadm"]);
  it.skipIf(why !== undefined)(`the real kubeadm renews by default on both commands${why ? ` (skipped: ${why})` : ""}`, () => {
    for (const cmd of [
      ["upgrade", "apply"],
      ["upgrade", "node"],
    ]) {
      const help = runTool("kubeadm", [...cmd, "--help"]).stdout;
      expect(help, cmd.join(" ")).toMatch(
        /--certificate-renewal\s+Perform the renewal of certificates used by component changed during upgrades\. \(default true\)/,
      );
    }
  });
});

describe("the renewal step's script", () => {
  const script = renderCertRenewalScript(spec, host("cp-2"), "2027-01");

  it.skipIf(!have("shellcheck"))("passes shellcheck", () => {
    expect(shellcheck(script)).toBe("");
  });

  it("renews, moves the static pods' manifests out until their containers are gone, moves them back, then waits for /healthz and etcd", () => {
    const at = (s: string) => {
      const i = script.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };
    const order = [
      at("kubeadm certs renew all >"),
      at('for p in etcd kube-apiserver kube-controller-manager kube-scheduler; do mv -f "$MANIFESTS/$p.yaml" "$PARKED/"; done'),
      at(`ss -Hltn '( sport = :${spec.cluster.endpoint.port} or sport = :2379 or sport = :2380 or sport = :10257 or sport = :10259 )'`),
      script.lastIndexOf("\nrestore_manifests\n"),
      at("until etcd_ok && api_ok; do"),
      script.lastIndexOf("\nrecord\n"),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(script).toContain("https://127.0.0.1:2379/health");
    expect(script).toContain(
      `--resolve kubernetes:${spec.cluster.endpoint.port}:127.0.0.1 https://kubernetes:${spec.cluster.endpoint.port}/healthz`,
    );
    expect(script).toContain(`PARKED=${CERT_RENEWAL.parked}\n`);
    expect(CERT_RENEWAL.parked.startsWith(`${CERT_RENEWAL.manifests}/`)).toBe(false);
  });

  it("acts on a token once: a recorded token is nothing to do; a first run on certificates younger than a day only records it", () => {
    expect(script).toContain("TOKEN='2027-01'\n");
    expect(script).toContain('if [ "$done_for" = "$TOKEN" ] && [ ! -e "$PARKED/renewing" ]; then');
    expect(script).toContain('if [ -z "$done_for" ] && [ ! -e "$PARKED/renewing" ]; then');
    expect(script).toContain(`if [ "$age" -lt ${CERT_RENEWAL.freshSeconds} ]; then\n    record`);
    // a run stopped half-way puts the manifests back before anything else
    expect(script.indexOf("restore_manifests\nif")).toBeLessThan(script.indexOf("kubeadm certs renew all"));
  });
});
