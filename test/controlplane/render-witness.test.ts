import { describe, expect, it } from "vitest";
import {
  WITNESS,
  otherVoterEndpoints,
  renderWitnessCertRequests,
  renderWitnessEnv,
  renderWitnessUnit,
  renderWitnessVersionEnv,
} from "../../components/controlplane/render-witness";
import { specOf } from "./fixtures";

describe("witness etcd member", () => {
  const { spec, host } = specOf();
  const w1 = host("w-1");

  it("joins an existing cluster with TLS everywhere (snapshot)", () => {
    const env = renderWitnessEnv(spec, w1);
    expect(env).toMatchSnapshot();
    expect(env).toContain("ETCD_INITIAL_CLUSTER_STATE=existing\n");
    expect(env).toContain("ETCD_INITIAL_ADVERTISE_PEER_URLS=https://192.168.10.21:2380\n");
    expect(env).toContain("ETCD_CLIENT_CERT_AUTH=true\n");
    expect(env).toContain("ETCD_PEER_CLIENT_CERT_AUTH=true\n");
    expect(env).toContain(`ETCD_DATA_DIR=${WITNESS.dataDir}\n`);
    expect(env).not.toContain("ETCD_INITIAL_CLUSTER="); // appended from `member add` on the host
  });

  it("sets kubeadm's corruption check and watch progress interval in the spelling of the etcd version", () => {
    // kubeadm 1.33 (etcd 3.5): the experimental flags; etcd 3.6 renamed them (3.7 knows only the new names)
    expect(renderWitnessVersionEnv("experimental")).toBe(
      "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true\nETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=5s",
    );
    expect(renderWitnessVersionEnv("3.6")).toBe("ETCD_FEATURE_GATES=InitialCorruptCheck=true\nETCD_WATCH_PROGRESS_NOTIFY_INTERVAL=5s");
    // decided on the host from the etcd version, so not in the common part
    expect(renderWitnessEnv(spec, w1)).not.toMatch(/CORRUPT|PROGRESS|FEATURE_GATES/);
  });

  it("runs as a systemd service from its env file", () => {
    const unit = renderWitnessUnit(spec, w1);
    expect(unit).toMatchSnapshot();
    expect(unit).toContain(`EnvironmentFile=${WITNESS.envFile}\n`);
    expect(unit).toContain(`ExecStart=${WITNESS.binDir}/etcd\n`);
    expect(unit).toContain("WantedBy=multi-user.target");
  });

  it("asks for server, peer and healthcheck-client certificates naming the witness", () => {
    const reqs = renderWitnessCertRequests(w1);
    expect(reqs.map((r) => r.name)).toEqual(["server", "peer", "healthcheck-client"]);
    expect(reqs[0]?.extensions).toContain("subjectAltName=DNS:w-1,DNS:localhost,IP:192.168.10.21,IP:127.0.0.1");
    expect(reqs[1]?.extensions).toContain("extendedKeyUsage=serverAuth,clientAuth");
    expect(reqs[2]?.extensions).toContain("extendedKeyUsage=clientAuth\n");
    expect(reqs[2]?.extensions).not.toContain("subjectAltName");
  });

  it("talks to every other voter", () => {
    expect(otherVoterEndpoints([host("cp-1"), host("cp-2"), w1], w1)).toBe("https://192.168.10.11:2379,https://192.168.10.12:2379");
  });
});
