import { describe, expect, it } from "vitest";
import * as s from "../../components/controlplane/render-scripts";
import { specOf } from "./fixtures";
import { have, shellcheck } from "./shell";

const { spec, host } = specOf();
const [cp1, cp2, w1, w2] = [host("cp-1"), host("cp-2"), host("w-1"), host("w-2")];

const scripts: Record<string, string> = {
  "leader keepalived": s.renderKeepalivedScript(spec, { host: cp1, leader: true }),
  "follower keepalived": s.renderKeepalivedScript(spec, { host: cp2, leader: false }),
  "keepalived delete": s.renderKeepalivedDeleteScript(cp2),
  "kubeadm init": s.renderInitScript(spec, cp1),
  "kubeadm init delete": s.renderInitDeleteScript(cp1),
  "worker join token": s.renderJoinTokenScript(cp1, w2),
  "nothing to undo": s.renderNothingToUndoScript(cp1, "cp-2-upload-certs"),
  "upload certs": s.renderUploadCertsScript(cp1, cp2),
  "control-plane join": s.renderJoinScript(spec, cp2),
  "control-plane join delete": s.renderJoinDeleteScript(cp2),
  "worker join": s.renderJoinScript(spec, w2),
  "worker join delete": s.renderJoinDeleteScript(w2),
  "worker node delete": s.renderNodeDeleteScript(cp1, w2),
  "witness certs": s.renderWitnessCertsScript(cp1, w1),
  "witness certs delete": s.renderWitnessCertsDeleteScript(cp1, w1),
  "witness member": s.renderWitnessMemberScript(spec, w1, [cp1, cp2]),
  "witness member delete": s.renderWitnessMemberDeleteScript(w1, [cp1, cp2]),
};

describe("control-plane host scripts", () => {
  it.skipIf(!have("shellcheck"))("are all shellcheck-clean bash with set -euo pipefail", () => {
    for (const [name, text] of Object.entries(scripts)) {
      expect(text.startsWith("#!/usr/bin/env bash\n"), name).toBe(true);
      expect(text, name).toContain("\nset -euo pipefail\n");
      expect(shellcheck(text), name).toBe("");
    }
  });

  it("carry no secret: only placeholders, filled from stdin on the host", () => {
    for (const [name, text] of Object.entries(scripts)) {
      expect(text, name).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}/);
      expect(text, name).not.toMatch(/\b[a-f0-9]{64}\b/);
    }
    expect(scripts["kubeadm init"]).toContain("IFS= read -r token");
    expect(scripts["kubeadm init"]).toContain("IFS= read -r cert_key");
    expect(scripts["control-plane join"]).toContain("IFS= read -r ca_hash");
    expect(scripts["leader keepalived"]).toContain("IFS= read -r vrrp_pass");
  });

  it("guard kubeadm init and join so a re-run changes nothing", () => {
    expect(scripts["kubeadm init"]).toContain("if [[ -f /etc/kubernetes/admin.conf ]]; then");
    expect(scripts["kubeadm init"]).toContain('kubeadm init --config "$work/kubeadm.yaml" --upload-certs');
    expect(scripts["control-plane join"]).toContain("if [[ -f /etc/kubernetes/manifests/kube-apiserver.yaml ]]; then say 'already joined");
    expect(scripts["worker join"]).toContain("if [[ -f /etc/kubernetes/kubelet.conf ]]; then say 'already joined");
    expect(scripts["upload certs"]).toContain('kubeadm init phase upload-certs --upload-certs --certificate-key "$cert_key"');
    // A late join still finds a valid token: the one before each join refreshes it, without a last-applied annotation.
    for (const name of ["upload certs", "worker join token"]) {
      expect(scripts[name], name).toContain("kubectl apply --server-side --force-conflicts");
      expect(scripts[name], name).toMatch(/printf 'sha256:%s\\n' "\$hash"\n$/);
    }
  });

  it("log kubeadm's output only through redact, which removes the token, its secret half and the certificate key", () => {
    for (const name of ["kubeadm init", "control-plane join", "worker join", "upload certs"]) {
      const text = scripts[name];
      expect(text, name).toMatch(/kubeadm [^\n]* 2>&1 \| redact >"\$log"/);
    }
    expect(scripts["kubeadm init"]).toContain('line=${line//"$token"/<bootstrap-token>}');
    expect(scripts["kubeadm init"]).toContain('line=${line//"$token_secret"/<bootstrap-token-secret>}');
    expect(scripts["kubeadm init"]).toContain('line=${line//"$cert_key"/<certificate-key>}');
  });

  it("make a leaving control plane drain and leave etcd before its reset; a leaving witness leaves etcd first", () => {
    const cpDel = scripts["control-plane join delete"];
    const order = ["drain cp-2", "reset phase remove-etcd-member", "kubeadm reset -f", "delete node cp-2"].map((x) => cpDel.indexOf(x));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const wDel = scripts["witness member delete"];
    expect(wDel.indexOf("member remove")).toBeGreaterThan(0);
    expect(wDel.indexOf("member remove")).toBeLessThan(wDel.indexOf("systemctl disable --now etcd-witness.service"));
    expect(wDel).not.toMatch(/rm -rf[^\n]*etcd-witness"?$/m);
    expect(scripts["worker node delete"]).toContain("kubectl drain w-2");
    expect(scripts["kubeadm init delete"]).not.toMatch(/^\s*kubeadm reset/m); // only advice, never run
  });

  it("retry etcdctl member add while etcd calls the cluster unhealthy, and start the witness as an existing member", () => {
    const m = scripts["witness member"];
    expect(m).toMatch(/for _ in \$\(seq 1 30\); do\n\s+if added=\$\(ctl member add "\$name" --peer-urls="\$peer"/);
    expect(m).toContain("https://192.168.10.11:2379,https://192.168.10.12:2379");
    expect(m).toContain("ETCD_INITIAL_CLUSTER_STATE=existing");
  });

  it("sign witness certificates with the etcd CA on the leader without printing the CA key", () => {
    const c = scripts["witness certs"];
    expect(c).toContain('-CA "$ca/ca.crt" -CAkey "$ca/ca.key"');
    expect(c).not.toMatch(/base64[^\n]*ca\.key/);
  });

  it("give the witness the etcd of the leader's own image, pinned by digest, and never download a binary", () => {
    expect(scripts["witness certs"]).toContain(`ctr -n k8s.io images ls "name==$image"`);
    expect(scripts["witness certs"]).toContain("printf 'etcd-image %s\\n' \"$image\"");
    const m = scripts["witness member"];
    expect(m).not.toMatch(/curl|wget|github\.com/);
    expect(m).toContain('ctr -n k8s.io images mount "$image"');
    // the image's etcd is checked against the cluster's version before anything is copied, and moved into place whole
    expect(m.indexOf('[[ $got == "$version" ]]')).toBeLessThan(m.indexOf('install -d -m 0755 "$dir.partial"'));
    expect(m.indexOf('install -d -m 0755 "$dir.partial"')).toBeLessThan(m.indexOf('mv -T "$dir.partial" "$dir"'));
  });

  it("are deterministic (snapshot)", () => {
    expect(s.renderInitScript(spec, cp1)).toBe(scripts["kubeadm init"]);
    expect(scripts["witness member"]).toMatchSnapshot();
    expect(scripts["leader keepalived"]).toMatchSnapshot();
  });
});
