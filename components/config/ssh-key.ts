import { type Finding, error } from "./findings";

/**
 * Stands in for a `secure:` value the offline plan cannot decrypt (it has no
 * Pulumi CLI). Validation knows it so it can tell "a secret, not checked here"
 * from text, and can refuse a secret where only plain text makes sense.
 */
export const OFFLINE_SECRET_PLACEHOLDER = "(secret: encrypted in the stack file, not decrypted by the offline plan)";

/** How to store the key, in every message about it. */
export const SET_SSH_KEY = "pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519";

/**
 * What `sshPrivateKey` holds, classified where the config is read so the key
 * text itself never enters validation (nor any message).
 */
export type SshPrivateKeyShape =
  | { kind: "private-key" | "public-key" | "other-text" | "empty"; secret: boolean }
  /** A `secure:` value the offline plan did not decrypt. */
  | { kind: "not-decrypted" }
  /** `{secure: ""}` or `{secure: 42}`: a secure block without ciphertext. */
  | { kind: "secure-without-ciphertext" }
  /** YAML null, a number, a boolean, a list or a map. */
  | { kind: "not-text"; got: string };

const PRIVATE_KEY = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*-----END ([A-Z0-9]+ )*PRIVATE KEY-----/;
const PUBLIC_KEY = /^\s*(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) AAAA/;

/**
 * `text` is the config value as the SDK hands it over (structured values as
 * JSON text); `secret` whether it came from a `secure:` value. Undefined when
 * the key is not set (reported elsewhere).
 */
export function sshPrivateKeyShape(text: string | undefined, secret: boolean): SshPrivateKeyShape | undefined {
  if (text === undefined) return undefined;
  if (secret && text === OFFLINE_SECRET_PLACEHOLDER) return { kind: "not-decrypted" };
  if (!secret) {
    // Plain values that were not strings in the stack file arrive as JSON text.
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: plain text.
    }
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && "secure" in parsed) {
      return { kind: "secure-without-ciphertext" };
    }
    if (parsed === null) return { kind: "not-text", got: "null" };
    if (Array.isArray(parsed)) return { kind: "not-text", got: "a list" };
    if (typeof parsed === "object") return { kind: "not-text", got: "a map" };
    if (typeof parsed === "number" || typeof parsed === "boolean") return { kind: "not-text", got: `the ${typeof parsed} ${text.trim()}` };
  }
  if (text.trim() === "") return { kind: "empty", secret };
  if (PRIVATE_KEY.test(text)) return { kind: "private-key", secret };
  if (PUBLIC_KEY.test(text)) return { kind: "public-key", secret };
  return { kind: "other-text", secret };
}

/** Findings for a malformed `sshPrivateKey` (a missing one is reported where `sshPrivateKeySet` is read). */
export function sshPrivateKeyFindings(shape: SshPrivateKeyShape | undefined): Finding[] {
  if (shape === undefined) return [];
  const store = `Store the private key encrypted with \`${SET_SSH_KEY}\``;
  switch (shape.kind) {
    case "not-decrypted":
      return [];
    case "private-key":
      return shape.secret
        ? []
        : [
            error(
              "sshPrivateKey",
              `holds a private key in plain text in the stack file, where anyone who can read the file or its repository has it. Remove the line and store it encrypted with \`${SET_SSH_KEY}\`; if the file was ever committed or shared, treat the key as exposed and replace it`,
            ),
          ];
    case "secure-without-ciphertext":
      return [error("sshPrivateKey", `is a secure: value without ciphertext, so there is no key to decrypt. ${store}`)];
    case "not-text":
      return [error("sshPrivateKey", `must be the text of an SSH private key, got ${shape.got}. ${store}`)];
    case "empty":
      return [error("sshPrivateKey", `is empty: the program logs in to every host with this key. ${store}`)];
    case "public-key":
      return [
        error(
          "sshPrivateKey",
          `holds a public key (ssh-... AAAA...), not the private key the controller logs in with. ${store} (the file without .pub)`,
        ),
      ];
    case "other-text":
      return [
        error(
          "sshPrivateKey",
          `is not an SSH private key (expected the text of a key file, from -----BEGIN OPENSSH PRIVATE KEY----- to its END line)${shape.secret ? "" : " and is stored in plain text"}. ${store}`,
        ),
      ];
    default: {
      const unreachable: never = shape;
      return unreachable;
    }
  }
}
