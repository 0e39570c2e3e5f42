// Issue 12, rung 4: the registry.k8s.io images kubeadm names for the program's own kubeadm configuration, built here
// from the real binaries (tools/engines/build-kubernetes.sh) by test/lab/images/, imported into a REAL containerd's
// k8s.io namespace as a registry mirror would serve them, and run. The containerd is private to this test: its own
// root, state and socket under a temp dir, in its own mount namespace (a tmpfs on /run/containerd for the shims'
// sockets), never the machine's default one.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderInitConfig } from "../../components/controlplane/render-kubeadm";
import { specOf } from "../controlplane/fixtures";
import { TOOLS_BIN, missingTools } from "../controlplane/k8s-tools";
import { IMAGE_CACHE, buildKubeadmImages, type BuiltImage } from "./images/k8s-images";
import { kubeadmImageList } from "./images/kubeadm-list";

const which = (t: string) => spawnSync("sh", ["-c", `command -v ${t}`], { encoding: "utf8" }).stdout.trim();

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (containerd, runc)";
  for (const t of ["containerd", "ctr", "runc", "unshare"]) if (!which(t)) return `needs ${t} on this machine (apt-get install containerd)`;
  return missingTools(["kubeadm", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd", "etcdctl", "pause"]);
}
const why = unavailable();
const VERSION = specOf().spec.cluster.kubernetesVersion;

describe.skipIf(why !== undefined)(`kubeadm's images from the real binaries in a real containerd${why ? ` (skipped: ${why})` : ""}`, () => {
  let dir = "";
  let sock = "";
  let daemon: ChildProcess | undefined;
  let expected: string[] = [];
  let images: BuiltImage[] = [];
  const measured: Record<string, number> = {};
  const ctr = (args: string[], timeout = 120_000) =>
    spawnSync("ctr", ["--address", sock, "--namespace", "k8s.io", ...args], { encoding: "utf8", timeout });

  beforeAll(async () => {
    const { spec, host } = specOf();
    expected = kubeadmImageList(renderInitConfig(spec, host("cp-1")));
    let t = Date.now();
    // CoreDNS is built when the module proxy serves it; without its binary its image cannot be made here.
    const buildable = expected.filter((r) => !r.includes("/coredns/") || fs.existsSync(path.join(TOOLS_BIN, "coredns")));
    images = buildKubeadmImages(buildable, TOOLS_BIN, IMAGE_CACHE);
    measured["build images (s)"] = (Date.now() - t) / 1000;

    dir = fs.mkdtempSync("/var/tmp/bi-containerd-");
    sock = path.join(dir, "containerd.sock");
    const config = path.join(dir, "config.toml");
    // The CRI plugin is not needed to import or run an image, and would look for CNI and the default paths.
    fs.writeFileSync(config, `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n`);
    const args = ["--config", config, "--root", path.join(dir, "root"), "--state", path.join(dir, "state"), "--address", sock];
    daemon = spawn(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mkdir -p /run/containerd && mount -t tmpfs bi-containerd /run/containerd && exec containerd "$@"',
        "sh",
        ...args,
      ],
      { stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "containerd.log"), "w")] },
    );
    t = Date.now();
    while (ctr(["version"]).status !== 0) {
      if (Date.now() - t > 30_000)
        throw new Error(`private containerd did not answer on ${sock}: ${fs.readFileSync(path.join(dir, "containerd.log"), "utf8")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    t = Date.now();
    for (const i of images) {
      const r = ctr(["images", "import", i.tarPath]);
      if (r.status !== 0) throw new Error(`ctr images import ${i.tarPath} (${i.name}): ${r.stderr}`);
    }
    measured["import (s)"] = (Date.now() - t) / 1000;
  }, 600_000);

  afterAll(() => {
    console.log("real images:", JSON.stringify(measured));
    if (daemon?.pid) {
      // containerd's shims outlive it: kill those under our state dir, then containerd.
      daemon.kill("SIGTERM");
    }
    if (dir) {
      spawnSync("sh", ["-c", `sleep 1; umount -R "${dir}/root" 2>/dev/null; true`]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kubeadm lists the images of this version for the program's dev kubeadm configuration", () => {
    expect(expected).toEqual(
      expect.arrayContaining([
        `registry.k8s.io/kube-apiserver:v${VERSION}`,
        `registry.k8s.io/kube-controller-manager:v${VERSION}`,
        `registry.k8s.io/kube-scheduler:v${VERSION}`,
        `registry.k8s.io/kube-proxy:v${VERSION}`,
        "registry.k8s.io/pause:3.10",
      ]),
    );
    expect(expected.find((r) => r.startsWith("registry.k8s.io/etcd:"))).toMatch(/^registry\.k8s\.io\/etcd:3\.5\.\d+-0$/);
  });

  it("ctr images ls in k8s.io names exactly the images kubeadm lists (CoreDNS too when its binary was built)", () => {
    const r = ctr(["images", "ls", "-q"]);
    expect(r.status, r.stderr).toBe(0);
    const names = r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("sha256:"));
    const coredns = expected.filter((x) => x.includes("/coredns/"));
    const haveCoredns = fs.existsSync(path.join(TOOLS_BIN, "coredns"));
    expect([...names].sort()).toEqual(expected.filter((x) => haveCoredns || !coredns.includes(x)).sort());
    if (!haveCoredns) console.log(`not built, so not imported: ${coredns.join(", ")} (no ${TOOLS_BIN}/coredns)`);
  });

  it("each image is imported under the digest the builder computed", () => {
    const r = ctr(["images", "ls"]);
    for (const i of images) expect(r.stdout).toMatch(new RegExp(`^${i.name.replace(/[.]/g, "\\.")}\\s+\\S+\\s+${i.digest}\\s`, "m"));
  });

  it("the images are cached by content: building them again writes nothing and gives the same digests", () => {
    const again = buildKubeadmImages(
      images.map((i) => i.name),
      TOOLS_BIN,
      IMAGE_CACHE,
    );
    expect(again.map((i) => i.digest)).toEqual(images.map((i) => i.digest));
    expect(again.filter((i) => i.written)).toEqual([]);
  });

  const runIn = (image: string, id: string, cmd: string[]) => {
    // ctr makes the task's IO fifos; under our dir, not /run/containerd/fifo, which the daemon's mount namespace hides.
    const r = ctr(["run", "--rm", "--net-host", "--fifo-dir", path.join(dir, "fifo"), image, `bi-${id}`, ...cmd], 60_000);
    return `${r.stdout}${r.stderr}`.trim();
  };
  const ref = (name: string) => expected.find((r) => r.replace(/:[^:]+$/, "").endsWith(`/${name}`)) ?? name;

  it("ctr run: etcd and etcdctl in the etcd image print the version of its tag", () => {
    const tag = ref("etcd").replace(/^.*:/, "").replace(/-0$/, "");
    expect(runIn(ref("etcd"), "etcd", ["etcd", "--version"])).toContain(`etcd Version: ${tag}`);
    expect(runIn(ref("etcd"), "etcdctl", ["etcdctl", "version"])).toContain(`etcdctl version: ${tag}`);
  });

  it("ctr run: kube-apiserver, kube-controller-manager, kube-scheduler and kube-proxy print the stack's version", () => {
    for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"]) {
      expect(runIn(ref(c), c, [c, "--version"]), c).toBe(`Kubernetes v${VERSION}`);
    }
  });

  it("ctr run: /pause in the pause image prints the version it was compiled with", () => {
    expect(runIn(ref("pause"), "pause", ["/pause", "-v"])).toMatch(/^pause\.c v3\.10-/);
  });

  it.skipIf(!fs.existsSync(path.join(TOOLS_BIN, "coredns")))("ctr run: coredns prints its version (the kubeadm tag)", () => {
    const tag = ref("coredns").replace(/^.*:v/, "");
    expect(runIn(ref("coredns"), "coredns", ["/coredns", "-version"])).toContain(`CoreDNS-${tag}`);
  });
});
