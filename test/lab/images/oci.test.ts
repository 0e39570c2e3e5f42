// The OCI writer without root or containerd: the archives it writes are read back by GNU tar (the real reader), and
// the image layout is what the OCI image spec names (index -> manifest -> config + layer, by sha256 digest).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentOf, kubeadmImageSpec, writeImage } from "./k8s-images";
import { layerEntries, ociArchive, ociImage, sha256, tarArchive, type ImageSpec } from "./oci";

let dir = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bi-oci-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const tar = (args: string[], file: string) => spawnSync("tar", [...args, "-f", file], { encoding: "utf8" });

describe("tarArchive", () => {
  it("GNU tar lists and extracts what it wrote: modes, owner, sizes, bytes, a long path", () => {
    const big = Buffer.alloc(1500, 7);
    const long = `${"d".repeat(90)}/${"e".repeat(60)}/file`;
    const file = path.join(dir, "a.tar");
    fs.writeFileSync(
      file,
      tarArchive([
        { path: "usr", mode: 0o755, dir: true },
        { path: "usr/bin", mode: 0o755, dir: true },
        { path: "usr/bin/tool", mode: 0o755, data: big },
        { path: "tmp", mode: 0o1777, dir: true },
        { path: "empty", mode: 0o644, data: Buffer.alloc(0) },
        { path: long, mode: 0o600, data: Buffer.from("x") },
      ]),
    );
    const list = spawnSync("tar", ["--numeric-owner", "-tvf", file], { encoding: "utf8" });
    expect(list.status, list.stderr).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0\s+0 1970-01-01 00:00 usr\/$/);
    expect(lines[2]).toMatch(/^-rwxr-xr-x 0\/0\s+1500 1970-01-01 00:00 usr\/bin\/tool$/);
    expect(lines[3]).toMatch(/^drwxrwxrwt 0\/0\s+0 .* tmp\/$/);
    expect(lines[5]).toMatch(new RegExp(`^-rw------- 0/0\\s+1 .* ${long}$`));
    const out = path.join(dir, "x");
    fs.mkdirSync(out);
    expect(spawnSync("tar", ["-xf", file, "-C", out]).status).toBe(0);
    expect(fs.readFileSync(path.join(out, "usr/bin/tool")).equals(big)).toBe(true);
    expect(fs.readFileSync(path.join(out, long), "utf8")).toBe("x");
  });

  it("refuses absolute and parent paths", () => {
    expect(() => tarArchive([{ path: "/etc/passwd", mode: 0o644, data: Buffer.alloc(0) }])).toThrow(/not a relative path/);
    expect(() => tarArchive([{ path: "a/../../b", mode: 0o644, data: Buffer.alloc(0) }])).toThrow(/not a relative path/);
  });
});

const spec = (over: Partial<ImageSpec> = {}): ImageSpec => ({
  name: "registry.k8s.io/etcd:3.5.21-0",
  files: [
    { path: "usr/local/bin/etcd", data: Buffer.from("etcd-bytes"), mode: 0o755 },
    { path: "usr/local/bin/etcdctl", data: Buffer.from("etcdctl-bytes"), mode: 0o755 },
  ],
  dirs: [{ path: "tmp", mode: 0o1777 }],
  config: { Cmd: ["/usr/local/bin/etcd"] },
  ...over,
});

describe("ociImage", () => {
  it("has every parent directory once, before its files", () => {
    expect(layerEntries(spec()).map((e) => `${e.path}${e.dir ? "/" : ""}`)).toEqual([
      "tmp/",
      "usr/",
      "usr/local/",
      "usr/local/bin/",
      "usr/local/bin/etcd",
      "usr/local/bin/etcdctl",
    ]);
    expect(() => layerEntries(spec({ files: [...spec().files, spec().files[0]] }))).toThrow(/given twice/);
  });

  it("links index -> manifest -> config and layer by their sha256, and names the image for containerd", () => {
    const img = ociImage(spec());
    const index = JSON.parse(img.index) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0].digest).toBe(img.digest);
    expect(index.manifests[0].annotations["io.containerd.image.name"]).toBe("registry.k8s.io/etcd:3.5.21-0");
    const manifest = JSON.parse(img.blobs.get(img.digest.slice(7))?.toString() ?? "{}") as {
      config: { digest: string; size: number };
      layers: { digest: string; size: number }[];
    };
    for (const d of [manifest.config, manifest.layers[0]]) {
      const blob = img.blobs.get(d.digest.slice(7));
      expect(blob?.length).toBe(d.size);
      expect(sha256(blob ?? "")).toBe(d.digest.slice(7));
    }
    const config = JSON.parse(img.blobs.get(manifest.config.digest.slice(7))?.toString() ?? "{}") as {
      config: unknown;
      rootfs: { diff_ids: string[] };
    };
    expect(config.config).toEqual({ Cmd: ["/usr/local/bin/etcd"] });
    // uncompressed layer: its diff id is its digest
    expect(config.rootfs.diff_ids).toEqual([manifest.layers[0].digest]);
  });

  it("is deterministic: the same files give the same digest, a changed byte another; the name is in the index only", () => {
    expect(ociImage(spec()).digest).toBe(ociImage(spec()).digest);
    const changed = spec();
    changed.files[0] = { ...changed.files[0], data: Buffer.from("etcd-bytez") };
    expect(ociImage(changed).digest).not.toBe(ociImage(spec()).digest);
    // as in a registry: one manifest under two tags
    const retagged = ociImage(spec({ name: "registry.k8s.io/etcd:3.5.22-0" }));
    expect(retagged.digest).toBe(ociImage(spec()).digest);
    expect(retagged.index).not.toBe(ociImage(spec()).index);
  });

  it("refuses a reference without registry or tag", () => {
    expect(() => ociImage(spec({ name: "etcd" }))).toThrow(/not a full reference with a tag/);
    expect(() => ociImage(spec({ name: "registry.k8s.io/etcd" }))).toThrow(/not a full reference with a tag/);
  });

  it("writes an OCI layout GNU tar reads: oci-layout, index.json and each blob under blobs/sha256", () => {
    const img = ociImage(spec());
    const file = path.join(dir, "img.tar");
    fs.writeFileSync(file, ociArchive(img));
    const names = tar(["-t"], file).stdout.trim().split("\n");
    expect(names).toEqual([
      "oci-layout",
      "index.json",
      "blobs/",
      "blobs/sha256/",
      ...[...img.blobs.keys()].map((k) => `blobs/sha256/${k}`),
    ]);
  });
});

describe("kubeadm's images", () => {
  const read = (b: string) => Buffer.from(`binary ${b}`);

  it("names the component of each reference kubeadm prints", () => {
    expect(componentOf("registry.k8s.io/coredns/coredns:v1.12.0")).toBe("coredns");
    expect(componentOf("registry.k8s.io/kube-apiserver:v1.33.4")).toBe("kube-apiserver");
    expect(componentOf("localhost:5000/mirror/etcd:3.5.21-0")).toBe("etcd");
  });

  it("lays out each binary where kubeadm's manifests and add-ons run it", () => {
    const files = (r: string) => kubeadmImageSpec(r, read).files.map((f) => `${f.path}=${f.data.toString()}`);
    expect(files("registry.k8s.io/kube-apiserver:v1.33.4")).toEqual(["usr/local/bin/kube-apiserver=binary kube-apiserver"]);
    expect(files("registry.k8s.io/kube-proxy:v1.33.4")).toEqual(["usr/local/bin/kube-proxy=binary kube-proxy"]);
    expect(files("registry.k8s.io/etcd:3.5.21-0")).toEqual([
      "usr/local/bin/etcd=binary etcd",
      "usr/local/bin/etcdctl=binary etcdctl",
      "usr/local/bin/etcdutl=binary etcdutl",
    ]);
    expect(files("registry.k8s.io/pause:3.10")).toEqual(["pause=binary pause"]);
    expect(kubeadmImageSpec("registry.k8s.io/pause:3.10", read).config).toMatchObject({ Entrypoint: ["/pause"], User: "65535:65535" });
    expect(files("registry.k8s.io/coredns/coredns:v1.12.0")).toEqual(["coredns=binary coredns"]);
  });

  it("says which image it cannot build", () => {
    expect(() => kubeadmImageSpec("registry.k8s.io/metrics-server:v0.7.0", read)).toThrow(
      /no lab image for registry\.k8s\.io\/metrics-server:v0\.7\.0/,
    );
  });

  it("writes an archive once per content and name: the same content under another tag is another archive", () => {
    const s = kubeadmImageSpec("registry.k8s.io/pause:3.10", read);
    const first = writeImage(s, path.join(dir, "cache"));
    const second = writeImage(s, path.join(dir, "cache"));
    expect(first.written).toBe(true);
    expect(second).toEqual({ ...first, written: false });
    const retagged = writeImage({ ...s, name: "registry.k8s.io/pause:3.10.1" }, path.join(dir, "cache"));
    expect(retagged.written).toBe(true);
    expect(retagged.digest).toBe(first.digest);
    expect(retagged.tarPath).not.toBe(first.tarPath);
    const index = spawnSync("tar", ["-xOf", retagged.tarPath, "index.json"], { encoding: "utf8" }).stdout;
    expect(index).toContain('"io.containerd.image.name":"registry.k8s.io/pause:3.10.1"');
  });
});
