import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import * as p from "../../components/day2/status/parse";
import { snapshotTime } from "../../components/day2/etcd-backup";

// Outputs captured from the real binaries in the lab (fixtures/lab-1.33.4/README.md).
const fx = (name: string) => readFileSync(path.join(__dirname, "fixtures", "lab-1.33.4", `${name}.txt`), "utf8");

describe("parsing what the real tools print", () => {
  it("kubelet --version, kubeadm version -o short, systemctl is-active, date", () => {
    expect(p.parseKubeletVersion(fx("kubelet-version"))).toEqual({ ok: true, value: "1.33.4" });
    expect(p.parseKubeadmVersion(fx("kubeadm-version"))).toEqual({ ok: true, value: "1.33.4" });
    expect(p.parseActiveState(fx("kubelet-active"))).toEqual({ ok: true, value: "active" });
    expect(p.parseEpochSeconds(fx("time"))).toEqual({ ok: true, value: 1796465402 });
    expect(p.parseKubeletVersion("bash: kubelet: command not found\n")).toEqual({
      ok: false,
      problem: 'expected "Kubernetes vX.Y.Z", got "bash: kubelet: command not found"',
    });
  });

  it("ip -o addr: the VIP is one of the addresses of the host holding it", () => {
    const r = p.parseIpAddresses(fx("addresses"));
    expect(r.ok && r.value.map((a) => `${a.interface} ${a.address}/${a.prefix}`)).toEqual([
      "lo 127.0.0.1/8",
      "lo ::1/128",
      "eth0 10.250.95.11/24",
      "eth0 10.250.95.100/32",
      "eth0 fe80::a0ce:4aff:feea:dce0/64",
    ]);
  });

  it("kubeadm certs check-expiration -o json (kubeadm 1.33: CertificateExpirationInfo v1alpha3, caName)", () => {
    const r = p.parseCertExpiration(fx("certs"));
    if (!r.ok) throw new Error(r.problem);
    expect(r.value.find((c) => c.name === "apiserver")).toEqual({
      name: "apiserver",
      expires: "2027-12-05T10:09:37.000Z",
      authority: "ca",
      isAuthority: false,
      missing: false,
      externallyManaged: false,
    });
    expect(r.value.find((c) => c.name === "etcd-server")?.authority).toBe("etcd-ca");
    expect(r.value.filter((c) => c.isAuthority).map((c) => `${c.name} ${c.expires.slice(0, 10)}`)).toEqual([
      "ca 2036-12-02",
      "etcd-ca 2036-12-02",
      "front-proxy-ca 2036-12-02",
    ]);
    expect(r.value).toHaveLength(14);
    expect(p.parseCertExpiration("CERTIFICATE   EXPIRES\nadmin.conf    Dec 05, 2027\n")).toMatchObject({ ok: false });
  });

  it("etcdctl member list -w simple, endpoint health and status -w json", () => {
    expect(p.parseMemberList(fx("etcd-members"))).toEqual({
      ok: true,
      value: [
        {
          id: "a5008d785fb72c44",
          status: "started",
          name: "cp-1",
          peerUrls: ["https://10.250.95.11:2380"],
          clientUrls: ["https://10.250.95.11:2379"],
          learner: false,
        },
      ],
    });
    expect(p.parseEndpointHealth(fx("etcd-health"))).toEqual({
      ok: true,
      value: [{ endpoint: "https://10.250.95.11:2379", health: true }],
    });
    expect(p.parseEndpointStatus(fx("etcd-status"))).toEqual({
      ok: true,
      value: [{ endpoint: "https://10.250.95.11:2379", version: "3.5.21", learner: false }],
    });
    // an unstarted member (added, never started) has no name and no client URLs
    expect(p.parseMemberList("8211f1d0f64f3269, unstarted, , https://10.0.0.13:2380, , false\n")).toMatchObject({
      ok: true,
      value: [{ status: "unstarted", name: "", clientUrls: [] }],
    });
  });

  it("kubectl get nodes -o json and the snapshot listing", () => {
    const r = p.parseNodes(fx("nodes"));
    if (!r.ok) throw new Error(r.problem);
    expect(r.value.map((n) => n.name).sort()).toEqual(["cp-1", "w-1"]);
    expect(r.value.every((n) => n.kubeletVersion === "1.33.4" && ["True", "False"].includes(n.ready))).toBe(true);
    const s = p.parseSnapshotList(`${fx("backups")}etcd-snapshot-20261205T110000Z.db.part\nREADME\n`, snapshotTime);
    expect(s.ok && s.value.map((x) => x.name)).toEqual(["etcd-snapshot-20261205T100951Z.db"]);
  });
});
