// OCI image archives made here, for `ctr -n k8s.io images import`: the lab has no registry, so each image the program
// would pull (registry.k8s.io/kube-apiserver, etcd, pause, ...) is written from this machine's binaries. Pure: a tar
// writer and the OCI image layout (index.json, oci-layout, blobs/sha256/*) in memory, deterministic (fixed owner and
// time, entries in the order given), so the same files give the same digests and an archive is cached by its digest.
import { createHash } from "node:crypto";

export const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

/** One entry of a tar archive: a directory or a regular file with its bytes. */
export type TarEntry = { path: string; mode: number; dir: true } | { path: string; mode: number; dir?: false; data: Buffer };

const BLOCK = 512;

function octal(n: number, width: number): string {
  // width includes the terminating NUL
  const s = n.toString(8);
  if (s.length > width - 1) throw new Error(`tar: ${n} does not fit a ${width}-byte field`);
  return s.padStart(width - 1, "0");
}

function header(path: string, mode: number, size: number, dir: boolean): Buffer {
  const name = dir ? `${path}/` : path;
  // ustar: a name up to 100 bytes, or a prefix up to 155 and a name up to 100 split at a "/".
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", name.length - 2);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(base) > 100) throw new Error(`tar: path too long: ${path}`);
  }
  const h = Buffer.alloc(BLOCK, 0);
  const put = (s: string, off: number, len: number) => {
    if (Buffer.byteLength(s) > len) throw new Error(`tar: field too long: ${s}`);
    h.write(s, off, len, "utf8");
  };
  put(base, 0, 100);
  put(octal(mode & 0o7777, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(dir ? 0 : size, 12), 124, 12);
  put(octal(0, 12), 136, 12); // mtime: the epoch, so a rebuild gives the same bytes
  put("        ", 148, 8); // checksum placeholder: spaces while summing
  put(dir ? "5" : "0", 156, 1);
  put("ustar\u000000", 257, 8);
  put("root", 265, 32);
  put("root", 297, 32);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${octal(sum, 7)}\u0000 `, 148, 8);
  return h;
}

/** A ustar archive of `entries`, in order, owned by 0:0 at time 0, closed by two zero blocks. */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.path === "" || e.path.startsWith("/") || e.path.split("/").includes("..")) throw new Error(`tar: not a relative path: ${e.path}`);
    if (e.dir) {
      parts.push(header(e.path, e.mode, 0, true));
      continue;
    }
    parts.push(header(e.path, e.mode, e.data.length, false), e.data);
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  return Buffer.concat(parts);
}

/** A file in an image, and its parent directories: `{ path: "usr/local/bin/etcd", data, mode: 0o755 }`. */
export interface ImageFile {
  path: string;
  data: Buffer;
  mode: number;
}

/** The parts of an OCI image config's `config` that these images set (the rest as a runtime defaults them). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
}

export interface ImageSpec {
  /** the full reference, `registry.k8s.io/pause:3.10`: what `ctr images ls` will show */
  name: string;
  files: ImageFile[];
  /** extra empty directories, with their mode (`tmp` 0o1777) */
  dirs?: { path: string; mode: number }[];
  config: ImageRuntimeConfig;
}

/** The single layer of an image: every parent directory once (0755), then the given directories and files. */
export function layerEntries(spec: Pick<ImageSpec, "files" | "dirs">): TarEntry[] {
  const out: TarEntry[] = [];
  const seen = new Set<string>();
  const addParents = (p: string) => {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (seen.has(d)) continue;
      seen.add(d);
      out.push({ path: d, mode: 0o755, dir: true });
    }
  };
  for (const d of spec.dirs ?? []) {
    addParents(d.path);
    if (!seen.has(d.path)) {
      seen.add(d.path);
      out.push({ path: d.path, mode: d.mode, dir: true });
    }
  }
  const files = new Set<string>();
  for (const f of spec.files) {
    if (files.has(f.path) || seen.has(f.path)) throw new Error(`image: ${f.path} given twice`);
    files.add(f.path);
    addParents(f.path);
    out.push({ path: f.path, mode: f.mode, data: f.data });
  }
  return out;
}

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export interface OciBlobs {
  /** the manifest's digest, `sha256:...`: what names the image in containerd's content store */
  digest: string;
  /** digest (hex) to bytes: layer, config, manifest */
  blobs: Map<string, Buffer>;
  index: string;
}

/** The OCI image (one uncompressed layer) of `spec`, for linux/amd64, as blobs and an index naming it. */
export function ociImage(spec: ImageSpec): OciBlobs {
  if (!/^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+:[\w][\w.-]{0,127}$/.test(spec.name))
    throw new Error(`image: not a full reference with a tag: ${spec.name}`);
  const layer = tarArchive(layerEntries(spec));
  const layerDigest = sha256(layer);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: spec.config,
    rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha256(config)}`, size: Buffer.byteLength(config) },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${layerDigest}`, size: layer.length }],
  });
  const digest = `sha256:${sha256(manifest)}`;
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: MANIFEST,
        digest,
        size: Buffer.byteLength(manifest),
        annotations: { "io.containerd.image.name": spec.name, "org.opencontainers.image.ref.name": spec.name.replace(/^.*:/, "") },
        platform: { architecture: "amd64", os: "linux" },
      },
    ],
  });
  const blobs = new Map<string, Buffer>();
  for (const b of [layer, Buffer.from(config), Buffer.from(manifest)]) blobs.set(sha256(b), b);
  return { digest, blobs, index };
}

/** The image as an OCI layout in one tar, what `ctr images import` reads. */
export function ociArchive(image: OciBlobs): Buffer {
  const entries: TarEntry[] = [
    { path: "oci-layout", mode: 0o644, data: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) },
    { path: "index.json", mode: 0o644, data: Buffer.from(image.index) },
    { path: "blobs", mode: 0o755, dir: true },
    { path: "blobs/sha256", mode: 0o755, dir: true },
  ];
  for (const [hex, data] of image.blobs) entries.push({ path: `blobs/sha256/${hex}`, mode: 0o644, data });
  return tarArchive(entries);
}
