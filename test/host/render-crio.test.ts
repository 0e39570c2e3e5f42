import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config";
import { renderInitConfig, renderJoinConfig } from "../../components/controlplane/render-kubeadm";
import { CRIO_DROP_IN, CRIO_SOCKET } from "../../components/host/render-crio";
import { renderNodePrep, renderSandboxImageFunction, sandboxImage } from "../../components/host/render-node-prep";
import { HAS_SHELLCHECK, host, shellcheck, specWith } from "./scripts";

function crioSpec(hosts: Record<string, unknown>[], version = "1.33.4") {
  const spec = specWith(hosts, { version });
  spec.cluster.containerRuntime = "crio";
  return spec;
}
const prep = (os: string, extra: Record<string, unknown> = {}, version?: string) => {
  const spec = crioSpec([{ name: "n", os, ...extra }], version);
  return renderNodePrep(host(spec, "n"), spec);
};

describe("containerRuntime: crio in node preparation", () => {
  it("installs cri-o from the CRI-O repository of the Kubernetes minor on apt hosts, and no containerd", () => {
    const s = prep("debian");
    expect(s).toContain("CRIO_REPO='https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/'");
    expect(s).toContain('apt_signed_source cri-o.list /etc/apt/keyrings/cri-o-apt-keyring.gpg "$CRIO_REPO"');
    expect(s).toContain('curl -fsSL "${repo}Release.key"');
    expect(s).toContain("pkg_install cri-o");
    expect(s).not.toContain("pkg_install containerd");
    expect(s).not.toContain("containerd config default");
    expect(prep("ubuntu", {}, "1.34.2")).toContain("/addons:/cri-o:/stable:/v1.34/deb/");
  });

  it("installs cri-o from the rpm repository of the minor on dnf hosts, preferred over the distribution's", () => {
    for (const os of ["fedora", "rhel"]) {
      const s = prep(os);
      expect(s).toContain("baseurl=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/rpm/");
      expect(s).toContain("gpgkey=https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/rpm/repodata/repomd.xml.key");
      expect(s).toContain("priority=1");
      expect(s).toContain("pkg_install cri-o");
      expect(s).not.toContain("download.docker.com");
    }
  });

  it("follows cluster.packageMirrors.kubernetes", () => {
    const spec = crioSpec([{ name: "n", os: "debian" }]);
    spec.cluster.packageMirrors = { kubernetes: "http://10.250.60.1:8080/pkgs.k8s.io" };
    const s = renderNodePrep(host(spec, "n"), spec);
    expect(s).toContain("CRIO_REPO='http://10.250.60.1:8080/pkgs.k8s.io/addons:/cri-o:/stable:/v1.33/deb/'");
    expect(s).not.toContain("https://pkgs.k8s.io");
  });

  it("configures the systemd cgroup manager, kubeadm's pause image and overlay storage on /var, and starts crio", () => {
    for (const version of ["1.33.4", "1.35.0"]) {
      const s = prep("debian", {}, version);
      // kubeadm's pause image of the Kubernetes the host runs (its installed kubelet, else the configured version)
      expect(s).toContain('SANDBOX_IMAGE=$(sandbox_image_for "${node_version:-$K8S_VERSION}")');
      const image = spawnSync("bash", ["-c", `${renderSandboxImageFunction()}\nsandbox_image_for "$1"`, "-", version], {
        encoding: "utf8",
      });
      expect(image.stdout.trim()).toBe(sandboxImage(version));
      const dropIn = new RegExp(`write_file ${CRIO_DROP_IN} 0644 <<EOF\\n([\\s\\S]*?)\\nEOF`).exec(s)?.[1];
      expect(dropIn).toContain('cgroup_manager = "systemd"');
      expect(dropIn).toContain('pause_image = "$SANDBOX_IMAGE"');
      expect(dropIn).toContain('storage_driver = "overlay"');
      expect(dropIn).toContain('root = "/var/lib/containers/storage"');
      expect(s).toContain('ensure_service crio "$crio_restart"');
      expect(s).toContain("ensure_enabled kubelet");
    }
  });

  it("on an immutable root installs nothing, verifies crio, and keeps CRI-O's storage on /var with overlay, refusing btrfs leftovers", () => {
    const s = prep("fedora", { immutableRoot: true, packagesPreinstalled: true });
    expect(s).not.toContain("pkg_install");
    expect(s).toMatch(/command -v crio >\/dev\/null 2>&1 \|\| lacking="\$lacking crio\(cri-o\)"/);
    expect(s).not.toMatch(/command -v containerd /);
    expect(s).toContain('storage_driver = "overlay"');
    expect(s).toMatch(/\/var\/lib\/containers\/storage\/btrfs[\s\S]*fail/);
  });

  it.skipIf(!HAS_SHELLCHECK)("is shellcheck-clean on apt, dnf and immutable hosts", () => {
    for (const s of [prep("debian"), prep("fedora"), prep("fedora", { immutableRoot: true, packagesPreinstalled: true })]) {
      expect(shellcheck(s)).toBe("");
    }
  });
});

describe("containerRuntime: crio in kubeadm's config and the findings", () => {
  it("points kubeadm's criSocket at CRI-O on init and join", () => {
    const spec = crioSpec([{ name: "cp" }, { name: "w" }]);
    expect(renderInitConfig(spec, host(spec, "cp"))).toContain(`criSocket: ${CRIO_SOCKET}`);
    expect(renderJoinConfig(spec, host(spec, "w"))).toContain(`criSocket: ${CRIO_SOCKET}`);
    expect(CRIO_SOCKET).toBe("unix:///var/run/crio/crio.sock");
    const containerd = specWith([{ name: "cp" }]);
    expect(renderInitConfig(containerd, host(containerd, "cp"))).toContain("criSocket: unix:///var/run/containerd/containerd.sock");
  });

  it("says what differs for a witness etcd member and for ephemeral disks", () => {
    const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM1ZDa4PaSIThQ3rXVXJ83G/8fMebvhUda4hpf5D9pr/";
    const cfg = (runtime: string) => ({
      cluster: {
        name: "t",
        kubernetesVersion: "1.33.4",
        containerRuntime: runtime,
        endpoint: { address: "192.168.10.10", keepalived: { enabled: false } },
      },
      hosts: [
        { name: "cp", address: "192.168.10.11", hostKey: KEY, roles: ["control-plane"] },
        {
          name: "w",
          address: "192.168.10.12",
          hostKey: KEY,
          roles: ["worker", "etcd"],
          disks: [{ device: "/dev/disk/by-id/x", use: "ephemeral" }],
        },
      ],
      sshPrivateKeySet: true,
    });
    const crio = validateConfig(cfg("crio")).findings;
    expect(crio.find((f) => f.path === "hosts[1].roles")?.message).toMatch(/witness etcd member[\s\S]*ctr[\s\S]*install etcd/);
    expect(crio.find((f) => f.path === "hosts[1].disks[0].use")?.message).toMatch(/\/var\/lib\/containers\/storage/);
    expect(validateConfig(cfg("containerd")).findings.filter((f) => f.path.startsWith("hosts[1]"))).toEqual([]);
    expect(validateConfig(cfg("docker")).findings.find((f) => f.path === "cluster.containerRuntime")?.message).toMatch(
      /containerd \| crio/,
    );
  });
});
