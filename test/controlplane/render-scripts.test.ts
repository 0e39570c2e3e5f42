import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import * as keepalived from "../../components/controlplane/render-keepalived";
import * as kubeadm from "../../components/controlplane/render-kubeadm";
import * as dialect from "../../components/controlplane/render-scripts";
import * as witness from "../../components/controlplane/render-witness";
import { specOf } from "./fixtures";
import { have, shellcheck } from "./shell";

/** The control plane's host scripts, each rendered next to its data. */
const s = { ...dialect, ...keepalived, ...kubeadm, ...witness };

/** Runs a bash snippet (with the scripts' `fail` and `say`); its exit code, stdout and stderr. */
function bash(text: string, stdin = ""): { code: number | null; stdout: string; stderr: string } {
  const prelude = ["set -euo pipefail", "host=w-1", 'fail() { echo "$host: $*" >&2; exit 1; }', 'say() { echo "$host: $*" >&2; }'];
  const r = spawnSync("bash", ["-c", [...prelude, text].join("\n")], { input: stdin, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
  "upload certs": s.renderUploadCertsScript(spec, cp1, cp2),
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

  it("never pipe into grep -q, which under pipefail fails the pipeline when the writer dies of SIGPIPE", () => {
    for (const [name, text] of Object.entries(scripts)) expect(text, name).not.toMatch(/\|\s*grep -[a-zA-Z]*q/);
    expect(scripts["witness member"]).toContain('if ! grep -qxF -- "$image" <<<"$images"; then');
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
    // the leader's own InitConfiguration (certificate key inside: kubeadm refuses --certificate-key next to --config), so the
    // upload does not need a default route for its advertise address
    expect(scripts["upload certs"]).toContain('kubeadm init phase upload-certs --upload-certs --config "$work/kubeadm.yaml"');
    expect(scripts["upload certs"]).toContain('config=${template//__CERTIFICATE_KEY__/"$cert_key"}');
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

  it("add the witness as a learner (retried while etcd calls the cluster unhealthy) and start it as an existing member", () => {
    const m = scripts["witness member"];
    expect(m).toMatch(/for _ in \$\(seq 1 30\); do\n\s+if ctl member add "\$name" --learner --peer-urls="\$peer"/);
    // never as a voter: quorum must not depend on a member that has not started
    expect(m.match(/\bctl member add/g)?.length).toBe(1);
    expect(m).toContain('ctl member add "$name" --learner --peer-urls="$peer"');
    expect(m).toContain("https://192.168.10.11:2379,https://192.168.10.12:2379");
    expect(m).toContain("ETCD_INITIAL_CLUSTER_STATE=existing");
  });

  it("promote the learner after etcd starts and before the health check (a learner answers none)", () => {
    const m = scripts["witness member"];
    const restart = m.indexOf("systemctl restart etcd-witness.service");
    const promote = m.indexOf('if [[ $learner == true ]]; then promote_learner "$id"; fi');
    expect(restart).toBeGreaterThan(0);
    expect(promote).toBeGreaterThan(restart);
    expect(m.indexOf("endpoint health")).toBeGreaterThan(promote);
  });

  describe("promote_learner", () => {
    /** promote_learner against a stand-in `ctl` that answers `answers` in turn (the last one for ever), with `tries` attempts. */
    const promote = (answers: string[], tries: number) =>
      bash(
        [
          `answers=(${answers.map((a) => `'${a}'`).join(" ")})`,
          // runs in a command substitution: counts its calls in a file
          'ctl() { local n; n=$(wc -l <"$calls"); echo "ctl $*" >>"$calls"; local a=${answers[n]:-${answers[-1]}}; [[ $a == ok ]] && return 0; echo "Error: $a" >&2; return 1; }',
          "sleep() { :; }",
          "calls=$(mktemp); trap 'rm -f \"$calls\"' EXIT",
          ...s.promoteLearnerLines(tries),
          "promote_learner 8e9e05c52164694d",
          'echo "calls: $(wc -l <"$calls")"',
        ].join("\n"),
      );
    const NOT_IN_SYNC = "etcdserver: can only promote a learner member which is in sync with leader";

    it("retries while etcd says the learner is not in sync, then promotes it", () => {
      const r = promote([NOT_IN_SYNC, NOT_IN_SYNC, "etcdserver: unhealthy cluster", "ok"], 10);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("w-1: promoted from learner to voting member (member 8e9e05c52164694d)\n");
      expect(r.stdout).toBe("calls: 4\n");
    });

    it("fails after its tries with a message that says what stays and what to check", () => {
      const r = promote([NOT_IN_SYNC], 3);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "w-1: the learner 8e9e05c52164694d did not catch up with the etcd leader within 6 s (etcd: Error: " + NOT_IN_SYNC + ")",
      );
      expect(r.stderr).toContain("It stays a learner, without a vote, so quorum does not depend on it");
      expect(r.stderr).toContain("journalctl -u etcd-witness.service");
    });

    it("is done when the member votes already, and stops at once when the member is gone", () => {
      const voter = promote(["etcdserver: can only promote a learner member"], 10);
      expect(voter.code).toBe(0);
      expect(voter.stderr).toBe("w-1: member 8e9e05c52164694d is a voting member already\n");
      const gone = promote(["etcdserver: member not found"], 10);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain("was removed while it was a learner");
    });

    it("is the one in the witness script", () => {
      expect(scripts["witness member"]).toContain(s.promoteLearnerLines(60).join("\n"));
      expect(scripts["witness member"]).toContain("within 120 s");
    });
  });

  describe("the witness's --initial-cluster, from etcdctl member list", () => {
    const initial = (list: string) =>
      bash(["name=w-1", "peer=https://192.168.10.21:2380", `${s.INITIAL_CLUSTER_AWK} <<<"$(cat)"`].join("\n"), list);

    it("names every unstarted member by its hex ID, so two of them do not collide on the empty name", () => {
      const list = [
        "8e9e05c52164694d, started, cp-1, https://192.168.10.11:2380, https://192.168.10.11:2379, false",
        "91bc3c398fb3c146, started, cp-2, https://192.168.10.12:2380, https://192.168.10.12:2379, false",
        "fd422379fda50e48, unstarted, , https://192.168.10.13:2380, , true",
        "2a3c6f4b1d0e9f87, unstarted, , https://192.168.10.21:2380, , true",
      ].join("\n");
      const r = initial(list);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(
        "cp-1=https://192.168.10.11:2380,cp-2=https://192.168.10.12:2380,fd422379fda50e48=https://192.168.10.13:2380,w-1=https://192.168.10.21:2380",
      );
    });

    it("keeps every peer URL of a member, and names this host's member by its own name once started", () => {
      const list = [
        "8e9e05c52164694d, started, cp-1, https://192.168.10.11:2380,https://10.0.0.11:2380, https://192.168.10.11:2379, false",
        "2a3c6f4b1d0e9f87, started, w-1, https://192.168.10.21:2380, https://192.168.10.21:2379, true",
      ].join("\n");
      expect(initial(list).stdout).toBe("cp-1=https://192.168.10.11:2380,cp-1=https://10.0.0.11:2380,w-1=https://192.168.10.21:2380");
    });

    it("is the one in the witness script, built from the member list after member add", () => {
      const m = scripts["witness member"];
      expect(m).toContain(`initial=$(${s.INITIAL_CLUSTER_AWK} <<<"$list")`);
      // not from member add's own ETCD_INITIAL_CLUSTER, which names unstarted members ""
      expect(m).not.toContain('ETCD_INITIAL_CLUSTER="');
    });
  });

  describe("the witness's version-dependent etcd flags", () => {
    const flagsFor = (version: string) =>
      bash([`version=${version}`, ...s.witnessVersionLines(), 'printf "%s\\n" "$versioned"'].join("\n"));

    it("are kubeadm's experimental spellings for etcd 3.4 and 3.5", () => {
      for (const v of ["3.4.23", "3.5.21"]) {
        const r = flagsFor(v);
        expect(r.code, v).toBe(0);
        expect(r.stdout, v).toBe("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true\nETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=5s\n");
      }
    });

    it("are the InitialCorruptCheck feature gate and watch-progress-notify-interval from etcd 3.6 on", () => {
      for (const v of ["3.6.0", "3.6.4", "3.7.1", "4.0.0"]) {
        const r = flagsFor(v);
        expect(r.code, v).toBe(0);
        expect(r.stdout, v).toBe("ETCD_FEATURE_GATES=InitialCorruptCheck=true\nETCD_WATCH_PROGRESS_NOTIFY_INTERVAL=5s\n");
      }
    });

    it("refuse an etcd without learners (before 3.4), naming the version", () => {
      const r = flagsFor("3.3.27");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("w-1: the cluster runs etcd 3.3.27, which has no learner members (etcd 3.4 added them)");
    });

    it("go into the env file, decided before anything is installed", () => {
      const m = scripts["witness member"];
      expect(m).toContain(s.witnessVersionLines().join("\n"));
      expect(m.indexOf("if (( major == 3 && minor < 6 )); then")).toBeLessThan(m.indexOf("install -d -m 0700 /etc/etcd-witness"));
      expect(m).toContain('put /etc/etcd-witness/etcd.env 0600 "$env"$\'\\n\'"$versioned"$\'\\n\'"ETCD_INITIAL_CLUSTER=$initial"');
    });
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
