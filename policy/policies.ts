import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/**
 * The project's invariants as Pulumi policies, for anyone who runs
 * `pulumi preview --policy-pack policy`. This module only describes them: the
 * pack itself is constructed in `index.ts`, because `new PolicyPack(...)`
 * starts a gRPC server and never returns, which unit tests cannot afford.
 *
 * What a policy can see (measured against @pulumi/policy 1.21.0 and the
 * analyzer protocol of @pulumi/pulumi 3.248.0):
 * - `props` are the resource's inputs with every secret already unwrapped to
 *   its plain value: a policy cannot tell a secret from a plain string. So the
 *   secrecy policy recognises secret material by its shape and by where it sits.
 * - `opts` carries `protect` but not `retainOnDelete`: a policy can only demand
 *   `protect`.
 * - The stack's config is not passed to policies; its tags are (`stackTags`).
 *   A stack that opts out of host-key pinning says so with a stack tag too.
 */

export const REMOTE_COMMAND_TYPES = ["command:remote:Command", "command:remote:CopyToRemote"] as const;
export const COMMAND_TYPES = ["command:remote:Command", "command:local:Command"] as const;
export const HELM_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"] as const;

/** The stack tag that mirrors `cluster.ssh.insecureIgnoreHostKey: true` for the policy pack. */
export const INSECURE_HOST_KEY_TAG = "baremetal-k8s:insecureIgnoreHostKey";

/** Charts whose release owns data: deleting it (helm uninstall) can take volumes with it. */
export const STORAGE_CHARTS = [
  "longhorn",
  "rook-ceph",
  "rook-ceph-cluster",
  "local-static-provisioner",
  "sig-storage-local-static-provisioner",
];

/** A command's inputs that may carry secrets: the SSH connection (made secret by the provider) and stdin. */
const SECRET_CARRIERS = new Set(["connection", "stdin"]);

interface SecretPattern {
  what: string;
  re: RegExp;
}

/** Shapes of the secrets this project handles; a match outside stdin/connection is a leak into logs and state. */
export const SECRET_PATTERNS: SecretPattern[] = [
  { what: "a private key (PEM/OpenSSH block)", re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
  { what: "a kubeadm bootstrap token", re: /(?<![a-z0-9._-])[a-z0-9]{6}\.(?=[a-z]*[0-9])[a-z0-9]{16}(?![a-z0-9])/ },
  { what: "a kubeadm certificate key", re: /certificate[-_]?key["'=:\s]+[a-f0-9]{64}\b/i },
  { what: "kubeconfig credentials (client-key-data)", re: /client-key-data:\s*[A-Za-z0-9+/=]{16,}/ },
  { what: "a keepalived VRRP password", re: /auth_pass\s+(?![$"'{]|__[A-Z0-9_]+__(?![A-Za-z0-9]))\S+/ },
  { what: "a Pulumi access token", re: /\bpul-[0-9a-f]{40}\b/ },
  { what: "a GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
];

/** Downloading a script and running it unseen: any pinning or review of what runs on the host is lost. */
export const CURL_PIPE_SHELL_PATTERNS: RegExp[] = [
  // curl ... | sh, wget -O- ... | sudo bash, curl ... | tee x | sh, ... | env X=1 bash -s
  /\b(?:curl|wget)\b(?:(?!&&|\|\||;)[^\n])*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?(?:\/\S*\/)?(?:ba|da|z|k|fi)?sh\b/,
  /\b(?:curl|wget)\b(?:(?!&&|\|\||;)[^\n])*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:python3?|perl|ruby|node)\b(?!\S)/,
  // bash <(curl ...), source <(wget -O- ...), . <(curl ...)
  /(?:\b(?:ba|da|z|k)?sh|\bsource|(?:^|[\s;&|])\.)\s+(?:-\S+\s+)*<\(\s*(?:curl|wget)\b/,
  // sh -c "$(curl ...)", eval "$(wget -qO- ...)", bash -c `curl ...`
  /(?:\b(?:ba|da|z|k)?sh\s+-c|\beval)\s+["']?(?:\$\(|`)\s*(?:curl|wget)\b/,
];

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Every string inside a value, with the path it sits at. */
function strings(value: unknown, path: string, out: { path: string; text: string }[] = []): { path: string; text: string }[] {
  if (typeof value === "string") out.push({ path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) strings(v, path ? `${path}.${k}` : k, out);
  return out;
}

/** The chart's own name: the last path segment of `chart` (`longhorn/longhorn`, `oci://ghcr.io/x/rook-ceph`). */
export function chartName(props: Record<string, unknown>): string {
  const chart = typeof props.chart === "string" ? props.chart : "";
  return (chart.split("/").pop() ?? "").replace(/\.tgz$/, "").replace(/-\d+\.\d+\.\d+.*$/, "");
}

/** A chart from a local directory or archive is pinned by its content; an OCI reference by its digest. */
function pinnedByContent(chart: string): boolean {
  return /^(?:\.{0,2}\/)/.test(chart) || /\.tgz$/.test(chart) || /@sha256:[a-f0-9]{64}$/.test(chart);
}

function checkHostKey(args: ResourceValidationArgs, report: ReportViolation): void {
  if (!(REMOTE_COMMAND_TYPES as readonly string[]).includes(args.type)) return;
  if (args.stackTags.get(INSECURE_HOST_KEY_TAG) === "true") return;
  const conn = args.props.connection as unknown;
  const hostKey = isObject(conn) ? conn.hostKey : undefined;
  const where = isObject(conn) && typeof conn.host === "string" ? ` to ${conn.host}` : "";
  if (typeof hostKey !== "string" || hostKey.trim() === "") {
    report(
      `${args.name}: the SSH connection${where} has no hostKey, so a machine answering at that address would be trusted and handed the private key. ` +
        `Set the host's hostKey in the stack config (ssh-keyscan -t ed25519 <address>), or, for a lab that deliberately skips it, set cluster.ssh.insecureIgnoreHostKey: true and tag the stack: pulumi stack tag set ${INSECURE_HOST_KEY_TAG} true`,
    );
  }
  const proxy = isObject(conn) ? conn.proxy : undefined;
  if (isObject(proxy) && (typeof proxy.hostKey !== "string" || proxy.hostKey.trim() === "")) {
    report(
      `${args.name}: the SSH jump host${typeof proxy.host === "string" ? ` ${proxy.host}` : ""} has no hostKey: pin it like the hosts' keys`,
    );
  }
}

function checkSecrets(args: ResourceValidationArgs, report: ReportViolation): void {
  if (!(COMMAND_TYPES as readonly string[]).includes(args.type) && args.type !== "command:remote:CopyToRemote") return;
  // Keys first, values after the skip: reading a carrier that is unknown in preview (stdin from a random secret) throws
  // in @pulumi/policy's unknown-checking props, and the whole policy would report "can't run during preview".
  for (const key of Object.keys(args.props)) {
    if (SECRET_CARRIERS.has(key)) continue;
    for (const { path, text } of strings(args.props[key], key)) {
      const hit = SECRET_PATTERNS.find((p) => p.re.test(text));
      if (hit) {
        report(
          `${args.name}: input ${path} holds ${hit.what}. Command lines, environment and triggers are stored in the state and shown in previews and on the host's process list: ` +
            `pass secrets on stdin (a Pulumi secret) and read them in the script, e.g. with read -r or cat`,
        );
      }
    }
  }
}

function checkCurlPipeShell(args: ResourceValidationArgs, report: ReportViolation): void {
  if (!(COMMAND_TYPES as readonly string[]).includes(args.type)) return;
  for (const key of ["create", "update", "delete"]) {
    const text: unknown = args.props[key];
    if (typeof text !== "string") continue;
    const hit = CURL_PIPE_SHELL_PATTERNS.find((re) => re.test(text));
    if (hit) {
      const excerpt = (hit.exec(text)?.[0] ?? "").slice(0, 120);
      report(
        `${args.name}: ${key} runs a downloaded script without looking at it (${JSON.stringify(excerpt)}). ` +
          "Download to a file, check its sha256 against a pinned digest, then run it; or install from the distribution's packages",
      );
    }
  }
}

function checkHelmVersion(args: ResourceValidationArgs, report: ReportViolation): void {
  if (!(HELM_TYPES as readonly string[]).includes(args.type)) return;
  const chart = typeof args.props.chart === "string" ? args.props.chart : "";
  if (pinnedByContent(chart)) return;
  const version: unknown = args.props.version;
  if (typeof version !== "string" || !EXACT_VERSION.test(version.trim())) {
    report(
      `${args.name}: chart ${chart || "(unnamed)"} is not pinned to an exact version (version is ${version === undefined ? "unset" : JSON.stringify(version)}): ` +
        "the next preview could install whatever the repository serves then. Set version to an exact release, e.g. 1.10.1",
    );
  }
}

function checkStorageRetained(args: ResourceValidationArgs, report: ReportViolation): void {
  if (!(HELM_TYPES as readonly string[]).includes(args.type)) return;
  const name = chartName(args.props);
  if (!STORAGE_CHARTS.includes(name)) return;
  if (!args.opts.protect) {
    report(
      `${args.name}: the ${name} release holds the cluster's volumes, but is not protected: removing it from the program or running pulumi destroy would helm-uninstall it. ` +
        "Register it with { protect: true, retainOnDelete: true } (the policy can see protect only; retainOnDelete keeps the release when the stack is finally destroyed)",
    );
  }
}

export const policies: ResourceValidationPolicy[] = [
  {
    name: "ssh-host-key-pinned",
    displayName: "Pin SSH host keys",
    severity: "critical",
    remediationSteps:
      "Add hostKey to every host (ssh-keyscan -t ed25519 <address>). A lab that skips pinning on purpose sets cluster.ssh.insecureIgnoreHostKey: true and tags the stack baremetal-k8s:insecureIgnoreHostKey=true.",
    description:
      "Every remote command and copy pins the host's SSH key, unless the stack is tagged baremetal-k8s:insecureIgnoreHostKey=true.",
    enforcementLevel: "mandatory",
    validateResource: checkHostKey,
  },
  {
    name: "no-secret-in-plain-command-inputs",
    displayName: "No secrets in command lines",
    severity: "critical",
    remediationSteps:
      "Pass the secret as a Pulumi secret on stdin and read it in the script; keep it out of create/update/delete, environment and triggers.",
    description:
      "No private key, bootstrap token, certificate key, kubeconfig credential or VRRP password in a command's inputs other than stdin and the SSH connection.",
    enforcementLevel: "mandatory",
    validateResource: checkSecrets,
  },
  {
    name: "no-curl-pipe-shell",
    displayName: "No curl | sh",
    severity: "high",
    remediationSteps:
      "Download to a file, verify its sha256 against a pinned digest, then run it; or install from the distribution packages.",
    description: 'No command pipes a download into a shell (curl | sh, wget -O- | bash, bash <(curl ...), sh -c "$(curl ...)").',
    enforcementLevel: "mandatory",
    validateResource: checkCurlPipeShell,
  },
  {
    name: "helm-chart-version-pinned",
    displayName: "Pin Helm chart versions",
    severity: "high",
    remediationSteps: "Set version to an exact chart release, e.g. 1.10.1.",
    description: "Every Helm release names an exact chart version.",
    enforcementLevel: "mandatory",
    validateResource: checkHelmVersion,
  },
  {
    name: "storage-release-protected",
    displayName: "Protect storage releases",
    severity: "critical",
    remediationSteps: "Register the release with { protect: true, retainOnDelete: true }.",
    description: "Longhorn, Rook-Ceph and local-static-provisioner releases are protected from deletion.",
    enforcementLevel: "mandatory",
    validateResource: checkStorageRetained,
  },
];
