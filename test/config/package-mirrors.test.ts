import { describe, expect, it } from "vitest";
import { analyze } from "../../components/analysis";
import { type Finding, validateConfig } from "../../components/config";
import { mirrorUrlProblem } from "../../components/config/strings";
import { clone, loadStack } from "../harness";

type Host = Record<string, unknown> & { name: string; os?: string; packagesPreinstalled?: boolean };
const DEV = loadStack("dev");

/** The dev stack (one fedora host among debian and ubuntu ones) with these mirrors, after editHosts. */
function run(mirrors: unknown, editHosts: (hs: Host[]) => void = () => undefined): { findings: Finding[]; mirrors?: unknown } {
  const cfg = clone(DEV);
  (cfg.cluster as Record<string, unknown>).packageMirrors = mirrors;
  editHosts(cfg.hosts as Host[]);
  const input = { cluster: cfg.cluster, hosts: cfg.hosts, storage: cfg.storage, sshPrivateKeySet: true };
  const { spec } = validateConfig(input);
  return { findings: analyze(input).findings, mirrors: spec?.cluster.packageMirrors };
}
const allApt = (hs: Host[]) => {
  for (const h of hs) if (h.os === "fedora" || h.os === "rhel") h.os = "debian";
};
const at = (fs: Finding[], severity: Finding["severity"], path: string) => fs.filter((f) => f.severity === severity && f.path === path);

describe("cluster.packageMirrors", () => {
  it("is optional: without it the spec has no mirrors and the public repositories are used", () => {
    const r = run(undefined);
    expect(r.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(r.mirrors).toEqual({});
  });

  it("takes http and https base URLs and strips their trailing slash", () => {
    const r = run({ distribution: "http://10.0.0.5:8080/debian/", kubernetes: "https://mirror.lan/pkgs.k8s.io" }, allApt);
    expect(r.findings.filter((f) => f.path.startsWith("cluster.packageMirrors"))).toEqual([]);
    expect(r.mirrors).toEqual({ distribution: "http://10.0.0.5:8080/debian", kubernetes: "https://mirror.lan/pkgs.k8s.io" });
  });

  it.each([
    ["ftp://mirror.lan/debian", /uses ftp/],
    ["mirror.lan/debian", /not a URL/],
    ["http://user:secret@mirror.lan/debian", /credentials do not belong in the URL/],
    ["http://mirror.lan/debian?dist=bookworm", /query or fragment/],
    ["http://mirror.lan/debian#x", /query or fragment/],
    ["http://mirror.lan/deb ian", /contains a space/],
    ["http://mirror.lan/debian\nRUN", /contains a newline/],
    ["http://mirror.lan/$(reboot)", /contains "\$"/],
    ["http:/mirror.lan/debian", /must start with http:\/\//],
    ["", /is empty/],
  ])("refuses %j on its key, saying why and how to fix it", (url, why) => {
    const r = run({ kubernetes: url });
    const errs = at(r.findings, "error", "cluster.packageMirrors.kubernetes");
    expect(errs).toHaveLength(1);
    expect(errs[0].message).toMatch(why);
    expect(mirrorUrlProblem(url)).toMatch(why);
  });

  it("refuses keys it does not know, with a suggestion", () => {
    const r = run({ kubernetess: "http://mirror.lan/k8s" });
    const errs = at(r.findings, "error", "cluster.packageMirrors.kubernetess");
    expect(errs[0]?.message).toMatch(/did you mean kubernetes\?/);
  });

  it("warns that the distribution mirror does not reach dnf hosts, naming them", () => {
    const r = run({ distribution: "http://mirror.lan/debian" }, (hs) => {
      allApt(hs);
      hs[2].os = "fedora";
    });
    const w = at(r.findings, "warning", "cluster.packageMirrors.distribution");
    expect(w).toHaveLength(1);
    expect(w[0].message).toContain(`; ${(clone(DEV).hosts as Host[])[2].name} installs with dnf`);
    expect(w[0].message).toMatch(/yum\.repos\.d/);
    expect(
      at(run({ distribution: "http://mirror.lan/debian" }, allApt).findings, "warning", "cluster.packageMirrors.distribution"),
    ).toEqual([]);
  });

  it("warns that RHEL hosts still get containerd.io from Docker's repository unless a docker-ce.repo is in place", () => {
    const r = run({ kubernetes: "http://mirror.lan/k8s" }, (hs) => {
      hs[3].os = "rhel";
    });
    expect(at(r.findings, "warning", "cluster.packageMirrors").map((f) => f.message)).toEqual([
      expect.stringMatching(/download\.docker\.com.*docker-ce\.repo/),
    ]);
  });

  it("warns when no host installs packages, so the mirrors are not used", () => {
    const r = run({ kubernetes: "http://mirror.lan/k8s" }, (hs) => {
      for (const h of hs) h.packagesPreinstalled = true;
    });
    expect(at(r.findings, "warning", "cluster.packageMirrors").map((f) => f.message)).toEqual([
      expect.stringMatching(/no host installs packages/),
    ]);
  });
});
