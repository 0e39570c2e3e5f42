import { createHash } from "node:crypto";

/** Single-quotes a string for a POSIX shell. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that runs a rendered bash script on a host: `bash -c` keeps
 * the session's stdin free for secrets, and non-root users go through
 * `sudo -n`, which fails at once instead of waiting for a password.
 */
export function remoteScript(script: string, user: string): string {
  return `${user === "root" ? "" : "sudo -n "}bash -c ${shQuote(script)}`;
}

/** A short, stable digest of its parts (never put one of rendered script text in `triggers`: see identityTriggers). */
export function contentHash(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

/**
 * The `triggers` of every remote step: one digest of what the step acts on
 * (its component, host, step name, and for a disk its use, device and
 * mountpoint or link path), never of its script text.
 *
 * @pulumi/command 1.2.1 registers every Command with
 * `replaceOnChanges: ["triggers[*]"]` (node_modules/@pulumi/command/remote/command.js),
 * and Pulumi replaces create-before-delete: the new `create` runs, then the
 * OLD `delete`. With the script text in `triggers`, every new release of this
 * program would unmount disks, reset kubeadm or remove etcd members right
 * after re-creating them. Any other input that changes (`create`, `update`,
 * `delete`) is an in-place update, and the provider's Update runs `update`,
 * or `create` when `update` is unset (provider/pkg/provider/remote/commandController.go
 * at v1.2.1); every step sets `update` explicitly anyway.
 *
 * The control plane's steps have used `[contentHash("baremetal-k8s:controlplane", name)]`
 * from the start: this keeps that exact value, so existing stacks see no change.
 */
export function identityTriggers(...identity: string[]): string[] {
  return [contentHash(...identity)];
}
