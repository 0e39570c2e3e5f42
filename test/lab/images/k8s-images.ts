// The images `kubeadm config images list` names, each built from the binary tools/engines/build-kubernetes.sh built,
// laid out as the upstream image has it (the binary where the kubeadm manifests and the kube-proxy/CoreDNS
// DaemonSet/Deployment call it), and written as OCI archives cached by content (manifest digest and name).
import * as fs from "node:fs";
import * as path from "node:path";
import { ociArchive, ociImage, sha256, type ImageSpec } from "./oci";

const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const TMP = { path: "tmp", mode: 0o1777 };

/** Where each image of kubeadm's list takes its binaries from (names in the tools bin directory) and how it runs. */
interface Layout {
  binaries: { name: string; at: string }[];
  config: ImageSpec["config"];
}

function layoutOf(component: string): Layout | undefined {
  switch (component) {
    case "kube-apiserver":
    case "kube-controller-manager":
    case "kube-scheduler":
    case "kube-proxy":
      // kubeadm's static pod manifests run `kube-apiserver ...` by name; the kube-proxy DaemonSet `/usr/local/bin/kube-proxy`.
      return {
        binaries: [{ name: component, at: `usr/local/bin/${component}` }],
        config: { Entrypoint: [`/usr/local/bin/${component}`], Env: [PATH_ENV] },
      };
    case "etcd":
      // kubeadm's etcd manifest runs `etcd ...`; the witness and the etcd backup copy their tools out of the image.
      return {
        binaries: [
          { name: "etcd", at: "usr/local/bin/etcd" },
          { name: "etcdctl", at: "usr/local/bin/etcdctl" },
          // registry.k8s.io/etcd ships etcdutl since 3.5; the etcd backup verifies snapshots with it.
          { name: "etcdutl", at: "usr/local/bin/etcdutl" },
        ],
        config: { Cmd: ["/usr/local/bin/etcd"], Env: [PATH_ENV] },
      };
    case "pause":
      return { binaries: [{ name: "pause", at: "pause" }], config: { Entrypoint: ["/pause"], User: "65535:65535", Env: [PATH_ENV] } };
    case "coredns":
      // kubeadm's CoreDNS Deployment passes only args (`-conf /etc/coredns/Corefile`): the entrypoint is the binary.
      return { binaries: [{ name: "coredns", at: "coredns" }], config: { Entrypoint: ["/coredns"], Env: [PATH_ENV] } };
    default:
      return undefined;
  }
}

/** The component of an image reference: `registry.k8s.io/coredns/coredns:v1.12.0` -> `coredns`. */
export function componentOf(reference: string): string {
  const repo = reference.replace(/:[^/:]+$/, "");
  return repo.slice(repo.lastIndexOf("/") + 1);
}

/**
 * The image spec of one reference of kubeadm's list, with the binaries `read` returns (by their name in the tools bin
 * directory). Throws naming the reference when kubeadm lists an image this lab does not know how to build.
 */
export function kubeadmImageSpec(reference: string, read: (binary: string) => Buffer): ImageSpec {
  const layout = layoutOf(componentOf(reference));
  if (!layout)
    throw new Error(
      `no lab image for ${reference}: known are kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd, pause, coredns`,
    );
  return {
    name: reference,
    files: layout.binaries.map((b) => ({ path: b.at, data: read(b.name), mode: 0o755 })),
    dirs: [TMP],
    config: layout.config,
  };
}

export interface BuiltImage {
  name: string;
  /** the manifest digest, `sha256:...` */
  digest: string;
  /** the OCI archive for `ctr images import` */
  tarPath: string;
  /** false when the archive of this digest was already in the cache */
  written: boolean;
}

/**
 * Writes the archive of `spec` into `cacheDir` as `<sha256 of its index.json>.oci.tar`, unless that file is there
 * already. The index holds the manifest digest and the name: the same content under another tag is another archive.
 */
export function writeImage(spec: ImageSpec, cacheDir: string): BuiltImage {
  const image = ociImage(spec);
  const tarPath = path.join(cacheDir, `${sha256(image.index)}.oci.tar`);
  if (fs.existsSync(tarPath)) return { name: spec.name, digest: image.digest, tarPath, written: false };
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${tarPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, ociArchive(image));
  fs.renameSync(tmp, tarPath);
  return { name: spec.name, digest: image.digest, tarPath, written: true };
}

/** Where the lab keeps the archives: beside the binaries they are made of, outside the work tree. */
export const IMAGE_CACHE = path.join(process.env.BMK8S_TOOLS_CACHE ?? "/var/cache/baremetal-k8s/tools", "images");

/** Every image of `references` (kubeadm's list) from the binaries in `binDir`, cached in `cacheDir`. */
export function buildKubeadmImages(references: readonly string[], binDir: string, cacheDir: string): BuiltImage[] {
  const read = (b: string) => {
    const file = path.join(binDir, b);
    if (!fs.existsSync(file)) throw new Error(`no ${b} in ${binDir}: build it with tools/engines/build-kubernetes.sh (npm run -s tools)`);
    return fs.readFileSync(file);
  };
  return references.map((r) => writeImage(kubeadmImageSpec(r, read), cacheDir));
}
