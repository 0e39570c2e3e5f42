import { createHash } from "node:crypto";
import type { CustomResourceOptions } from "@pulumi/pulumi";

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
 * The resource options every remote step (host and control-plane Command) is registered with: changes
 * of `triggers` are ignored, so no change of this program ever replaces a step.
 *
 * Why: @pulumi/command 1.2.1 registers every Command with `replaceOnChanges: ["triggers[*]"]`
 * (node_modules/@pulumi/command/remote/command.js), and Pulumi replaces create-before-delete: the new
 * `create` runs, then the OLD `delete` stored in the state. Releases before this one put a digest of
 * the script text into a host step's triggers; without this option the first `pulumi up` with a new
 * release would replace every such step, and the old disk deletes would unmount data disks and drop
 * their fstab lines right after the new creates kept them.
 *
 * How the engine treats it (pulumi/pulumi pkg/resource/deploy/step_generator.go, read for this at
 * commit 00285a9b, `continueStepsFromImport`; @pulumi/pulumi 3.248 sends the option as is,
 * runtime/resource.js `setIgnorechangesList`): when the resource has an old state, `processIgnoreChanges(inputs, oldInputs, goal.IgnoreChanges)`
 * sets every ignored property back to its old value ("Set inputs back to their old values (if any)
 * for any \"ignored\" properties"; a property the old state lacks is dropped) before the provider's
 * Check and Diff, so a changed trigger is no difference at all: neither an update nor a replace
 * (replaceOnChanges only looks at properties that differ), and the new state keeps the old value.
 * On the first create there is no old state and the program's value is written.
 *
 * So a step changes only in place: a changed `create`/`update`/`delete` is an update, and the
 * provider's Update runs `update` (commandController.go at v1.2.1); every step sets `update` =
 * `create`, and every create converges from whatever an earlier release left (a disk whose mountpoint
 * changed moves: render-disks.ts). A step goes away only when it leaves the program.
 */
export const REMOTE_STEP_OPTIONS: Readonly<{ ignoreChanges: readonly string[] }> = { ignoreChanges: ["triggers"] };

/** `opts` with REMOTE_STEP_OPTIONS added: what every remote step passes to `new command.remote.Command`. */
export function remoteStepOptions(opts: CustomResourceOptions): CustomResourceOptions {
  return { ...opts, ignoreChanges: [...new Set([...(opts.ignoreChanges ?? []), ...REMOTE_STEP_OPTIONS.ignoreChanges])] };
}

/**
 * The `triggers` a remote step is created with: one digest of what the step acts on (its component,
 * host, step name, and for a disk its name and mountpoint or link path), never of its script text.
 * Written once, at creation; later changes are ignored (REMOTE_STEP_OPTIONS), so it never replaces a
 * step. It is kept as the one value every step is created with: the control plane's steps have had
 * `[contentHash("baremetal-k8s:controlplane", name)]` from the start, so stacks brought up before see
 * the same value, and a fresh state still records which place a step was created for.
 */
export function identityTriggers(...identity: string[]): string[] {
  return [contentHash(...identity)];
}
