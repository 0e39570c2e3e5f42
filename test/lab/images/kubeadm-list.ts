// What the lab tests ask of the real kubeadm: the image list of a kubeadm configuration the program rendered, with the
// secret placeholders filled as the init script fills them.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PLACEHOLDER } from "../../../components/controlplane/render-kubeadm";
import { toolPath } from "../../controlplane/k8s-tools";

/** Values shaped as the init script requires them (a bootstrap token, a 64-hex certificate key). */
export const LAB_TOKEN = "bi0123.0123456789abcdef";
export const LAB_CERT_KEY = "0123456789abcdef".repeat(4);

export function fillSecrets(config: string): string {
  return config.split(PLACEHOLDER.token).join(LAB_TOKEN).split(PLACEHOLDER.certificateKey).join(LAB_CERT_KEY);
}

/** `kubeadm config images list --config <config>`, one reference a line; throws with kubeadm's message. */
export function kubeadmImageList(config: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bi-kubeadm-"));
  try {
    const file = path.join(dir, "kubeadm.yaml");
    fs.writeFileSync(file, fillSecrets(config));
    const r = spawnSync(toolPath("kubeadm"), ["config", "images", "list", "--config", file], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`kubeadm config images list --config ${file} exited ${r.status}: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l.trim() !== "");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
