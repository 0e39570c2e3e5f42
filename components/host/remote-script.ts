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

/** A short, stable digest of rendered content, used as a replacement trigger. */
export function contentHash(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}
