/**
 * Validators for the free strings of the config, one per kind of value, each
 * checking for what the value becomes: paths end up in shell scripts, fstab
 * lines, systemd mount units and Helm values; an interface name in
 * keepalived.conf; a user on the ssh command line and in sudo; labels and
 * taints in the kubelet's `--node-labels` and the kubeadm config. Each returns
 * what is wrong (for a person: what, then how to fix it) or undefined when the
 * value is fine. The schema calls them, so a value that fails never reaches a
 * renderer.
 */

/** Characters a path component may hold: inert in shell words, fstab fields, YAML and systemd unit names. */
const PATH_CHAR = /^[A-Za-z0-9._+@:=/-]$/u;
const PATH_CHARS_TEXT = "letters, digits and . _ - + @ : =";
/** PATH_MAX and NAME_MAX on Linux (bytes, with the terminating NUL for PATH_MAX). */
const PATH_MAX = 4095;
const NAME_MAX = 255;

function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  if (c === " ") return "a space";
  if (c === "\n") return "a newline";
  if (c === "\t") return "a tab";
  if (code < 0x20 || code === 0x7f) return `the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (/\s/u.test(c)) return `the whitespace character U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (code > 0x7e) return `the non-ASCII character ${JSON.stringify(c)} (U+${code.toString(16).toUpperCase().padStart(4, "0")})`;
  return JSON.stringify(c);
}

/** The first character of `value` outside `allowed` (one character per code point), if any. */
function firstBadChar(value: string, allowed: RegExp): string | undefined {
  for (const c of value) if (!allowed.test(c)) return c;
  return undefined;
}

/** `/srv/../etc` -> `/etc`, `//var/` -> `/var`: what the kernel makes of a path. */
export function normalisePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/**
 * One rule for every path in the config (mountpoints, storage.longhorn.dataPath,
 * localStatic hostDirs, kubelet.rootDir): absolute, normalised (no `.`, `..`,
 * `//` or trailing `/`, so the checks for OS directories see what the kernel
 * sees), and only characters that need no quoting anywhere it ends up.
 */
export function pathProblem(value: string): string | undefined {
  if (value === "") return 'is empty: give an absolute path, e.g. "/srv/data"';
  if (!value.startsWith("/")) return `must be an absolute path starting with "/", got ${JSON.stringify(value)}`;
  const bad = firstBadChar(value, PATH_CHAR);
  if (bad !== undefined) {
    return `contains ${describeChar(bad)}: a path may hold only ${PATH_CHARS_TEXT} between slashes (no whitespace, quotes, shell or control characters), because it is written into shell scripts, fstab and mount units. Rename the directory`;
  }
  const normal = normalisePath(value);
  if (normal !== value) {
    return `${JSON.stringify(value)} is not a normalised path (it means ${normal}): write it without ".", "..", "//" or a trailing "/"`;
  }
  if (value.length > PATH_MAX) return `is ${value.length} characters long; Linux paths are at most ${PATH_MAX}`;
  const long = value.split("/").find((part) => part.length > NAME_MAX);
  if (long !== undefined) return `has a component of ${long.length} characters; Linux file names are at most ${NAME_MAX}`;
  return undefined;
}

/** A direct child of /dev (`/dev/sdb`, `/dev/vdf`, `/dev/nvme1n1`): a kernel name, which can change between boots. */
export function isKernelDeviceName(device: string): boolean {
  return /^\/dev\/[A-Za-z0-9_-]+$/.test(device);
}

/** `/dev/disk/by-id/...` and `/dev/disk/by-path/...` name one disk for its lifetime. */
export function isStableDevicePath(device: string): boolean {
  return /^\/dev\/disk\/by-(id|path)\/[^/]+$/.test(device);
}

/** A disk's `device`: a normalised path under /dev with the characters udev uses in its links. */
export function deviceProblem(value: string): string | undefined {
  if (!value.startsWith("/dev/")) {
    return `must be a device path under /dev, ideally /dev/disk/by-id/... or /dev/disk/by-path/..., got ${JSON.stringify(value)}`;
  }
  const p = pathProblem(value);
  if (p !== undefined) {
    return p.replace(
      /Rename the directory$/,
      "Use the disk's link under /dev/disk/by-id/ or /dev/disk/by-path/ (ls -l /dev/disk/by-id /dev/disk/by-path)",
    );
  }
  if (value === "/dev/" || value.split("/").length < 3) return `must name a device under /dev, e.g. /dev/disk/by-id/..., got ${value}`;
  return undefined;
}

/**
 * A Linux interface name as the kernel's dev_valid_name() accepts it (1-15
 * bytes, not "." or "..", no "/", ":" or whitespace), narrowed to the characters
 * real interface names use, because it is written bare into keepalived.conf,
 * where "#", "!", quotes and braces have meaning.
 */
export function interfaceProblem(value: string): string | undefined {
  const hint = "name the interface as `ip -br link` lists it on the control planes, e.g. eth0, enp1s0 or bond0.100";
  if (value.length === 0) return `is empty: ${hint}`;
  if (value === "." || value === "..") return `${JSON.stringify(value)} is not an interface name: ${hint}`;
  const bad = firstBadChar(value, /^[A-Za-z0-9_.-]$/u);
  if (bad !== undefined) {
    return `contains ${describeChar(bad)}: an interface name may hold only letters, digits and . _ - (it is written into keepalived.conf); ${hint}`;
  }
  if (value.length > 15)
    return `${JSON.stringify(value)} is ${value.length} characters long; Linux interface names have at most 15: ${hint}`;
  if (!/^[A-Za-z0-9]/.test(value)) return `${JSON.stringify(value)} must start with a letter or digit: ${hint}`;
  return undefined;
}

/**
 * A POSIX user name as useradd accepts it by default (NAME_REGEX
 * `^[a-z_][a-z0-9_-]*$`, at most 32 characters). The `$` that useradd allows
 * at the end (Samba machine accounts) is refused: no one logs in over SSH as one.
 */
export function posixUserProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty: name the user the controller logs in as, e.g. root or ops";
  if (value.length > 32) return `is ${value.length} characters long; user names have at most 32`;
  if (!/^[a-z_][a-z0-9_-]*$/.test(value)) {
    return `${JSON.stringify(value)} is not a user name: lowercase letters, digits, _ and -, starting with a letter or _ (e.g. root or ops), as useradd accepts them`;
  }
  return undefined;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A Kubernetes label (or taint) key: `[prefix/]name`, prefix a DNS subdomain, name a qualified name (apimachinery IsQualifiedName). */
export function labelKeyProblem(key: string): string | undefined {
  const shape =
    'a label key is an optional DNS-subdomain prefix and "/", then a name of at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit, e.g. topology.kubernetes.io/zone or tier';
  if (key.length === 0) return `is empty: ${shape}`;
  const parts = key.split("/");
  if (parts.length > 2) return `${JSON.stringify(key)} has more than one "/": ${shape}`;
  const [prefix, name] = parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !prefix.split(".").every((l) => DNS1123_LABEL.test(l) && l.length <= 63)) {
      return `${JSON.stringify(key)}: the prefix ${JSON.stringify(prefix)} is not a lowercase DNS subdomain: ${shape}`;
    }
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `${JSON.stringify(key)}: the name ${JSON.stringify(name)} is not valid: ${shape}`;
  }
  return undefined;
}

/** A Kubernetes label (or taint) value: empty, or at most 63 characters of `[A-Za-z0-9._-]` starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `${JSON.stringify(value)} is not a Kubernetes label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or empty)`;
  }
  return undefined;
}

/** Label keys in the kubernetes.io and k8s.io namespaces the kubelet may set on its own Node (k8s.io/kubelet/pkg/apis/well_known_labels.go). */
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
]);
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

/**
 * The kubelet refuses to start when `--node-labels` (where node labels go)
 * holds a kubernetes.io or k8s.io key outside the set it may self-assign
 * (cmd/kubelet/app/options: "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels").
 */
export function kubeletLabelProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  if (slash < 0) return undefined;
  const ns = key.slice(0, slash);
  const isK8s = ["kubernetes.io", "k8s.io"].some((d) => ns === d || ns.endsWith(`.${d}`));
  if (!isK8s || KUBELET_LABELS.has(key)) return undefined;
  if (KUBELET_LABEL_NAMESPACES.some((d) => ns === d || ns.endsWith(`.${d}`))) return undefined;
  return `${key} is in the ${ns} namespace, which a kubelet may not set on its own node: it refuses to start with it in --node-labels (where this program puts node labels). Allowed there: ${[...KUBELET_LABELS].sort().join(", ")} and keys under ${KUBELET_LABEL_NAMESPACES.join(" or ")}. Set other labels (e.g. node-role.kubernetes.io/*) with kubectl label after the bring-up, or use your own prefix`;
}

export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;

/** `key[=value]:Effect` with a label key, a label value and one of the three effects, as kubectl taint takes it. */
export function taintProblem(taint: string): string | undefined {
  const shape = 'must look like "key=value:Effect" or "key:Effect" with Effect NoSchedule, PreferNoSchedule or NoExecute';
  const colon = taint.lastIndexOf(":");
  if (colon < 0) return `${JSON.stringify(taint)} ${shape}`;
  const effect = taint.slice(colon + 1);
  if (!(TAINT_EFFECTS as readonly string[]).includes(effect))
    return `${JSON.stringify(taint)} ${shape}; the effect ${JSON.stringify(effect)} is none of them`;
  const kv = taint.slice(0, colon);
  const eq = kv.indexOf("=");
  const key = eq < 0 ? kv : kv.slice(0, eq);
  const keyProblem = labelKeyProblem(key);
  if (keyProblem !== undefined) return `taint key ${keyProblem}`;
  if (eq >= 0) {
    const valueProblem = labelValueProblem(kv.slice(eq + 1));
    if (valueProblem !== undefined) return `taint value ${valueProblem}`;
  }
  return undefined;
}

/** Characters a repository URL may hold: inert in an apt sources line, a yum .repo file and a quoted shell word. */
const MIRROR_URL_CHAR = /^[A-Za-z0-9._~:/%+[\]-]$/u;

/**
 * A package mirror's URL (`cluster.packageMirrors.*`): http or https, a host,
 * no credentials (apt and dnf keep those in auth.conf / the .repo file, not in
 * a sources line), no query or fragment (the program appends repository paths),
 * and only characters that mean nothing in an apt sources line, a .repo file or
 * shell. A trailing "/" is allowed; the program strips it.
 */
export function mirrorUrlProblem(value: string): string | undefined {
  const shape = 'an http:// or https:// URL of the mirror, e.g. "http://mirror.lan/debian"';
  if (value === "") return `is empty: give ${shape}`;
  const bad = firstBadChar(value, MIRROR_URL_CHAR);
  if (bad !== undefined) {
    const why =
      bad === "@"
        ? "credentials do not belong in the URL (apt reads them from /etc/apt/auth.conf.d, dnf from the .repo file): remove the user part"
        : bad === "?" || bad === "#"
          ? "a query or fragment cannot take the repository paths the program appends: give the mirror's base URL"
          : "a mirror URL may hold only letters, digits and . _ ~ : / % + - [ ] (no whitespace, quotes or shell characters; percent-encode anything else)";
    return `contains ${describeChar(bad)}: ${why}`;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${JSON.stringify(value)} is not a URL: give ${shape}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `${JSON.stringify(value)} uses ${url.protocol.replace(/:$/, "")}: the hosts fetch packages and signing keys over http or https; give ${shape}`;
  }
  if (url.hostname === "") return `${JSON.stringify(value)} names no host: give ${shape}`;
  if (!value.toLowerCase().startsWith(`${url.protocol}//`))
    return `${JSON.stringify(value)} must start with ${url.protocol}//: give ${shape}`;
  return undefined;
}

/** A mirror URL without its trailing slashes, so repository paths join with exactly one "/". */
export function mirrorBase(url: string): string {
  return url.replace(/\/+$/, "");
}
