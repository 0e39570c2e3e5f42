// A minimal OCI image archive made here, for `ctr images import` in a lab host: one layer holding the
// given files under /usr/local/bin, as registry.k8s.io/etcd holds etcd and etcdctl. The lab has no
// registry to pull from, so an image the program would pull is built from this machine's binaries.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";

export interface OciImage {
  /** the archive, for `ctr images import` */
  tarPath: string;
  /** the manifest's digest: what `repo@sha256:...` names and what `ctr images ls` shows */
  digest: string;
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
}

/** Builds `name` (e.g. `registry.k8s.io/etcd:3.4.23-0`) with `files` (absolute paths) in /usr/local/bin, for linux/amd64. */
export function buildOciImage(name: string, files: string[], outDir: string): OciImage {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "oci-image-"));
  try {
    const bin = path.join(work, "root/usr/local/bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const f of files) {
      fs.copyFileSync(f, path.join(bin, path.basename(f)));
      fs.chmodSync(path.join(bin, path.basename(f)), 0o755);
    }
    run("tar", ["-C", path.join(work, "root"), "--owner=0", "--group=0", "-cf", path.join(work, "layer.tar"), "usr"]);
    const layerTar = fs.readFileSync(path.join(work, "layer.tar"));
    const layer = gzipSync(layerTar);
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layerTar)}`] },
    });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: `sha256:${sha256(config)}`,
        size: Buffer.byteLength(config),
      },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${sha256(layer)}`, size: layer.length }],
    });
    const oci = path.join(work, "oci");
    const blobs = path.join(oci, "blobs/sha256");
    fs.mkdirSync(blobs, { recursive: true });
    for (const blob of [layer, config, manifest]) fs.writeFileSync(path.join(blobs, sha256(blob)), blob);
    const digest = `sha256:${sha256(manifest)}`;
    fs.writeFileSync(
      path.join(oci, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest,
            size: Buffer.byteLength(manifest),
            annotations: { "io.containerd.image.name": name },
          },
        ],
      }),
    );
    fs.writeFileSync(path.join(oci, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const tarPath = path.join(outDir, `${sha256(name).slice(0, 12)}.oci.tar`);
    run("tar", ["-C", oci, "-cf", tarPath, "."]);
    return { tarPath, digest };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
