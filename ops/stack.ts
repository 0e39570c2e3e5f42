import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { formatFindings, type RawConfig, validateConfig } from "../components/config";
import type { ClusterSpec, EtcdBackupSpec } from "../components/config/spec";
import { OFFLINE_SECRET_PLACEHOLDER, SET_SSH_KEY } from "../components/config/ssh-key";
import { CONFIG_NAMESPACE } from "../components/main";
import { type Topology, analyzeTopology } from "../components/topology";
import { readStackConfig, resolveStackFile, StackFileError, type StackConfig } from "../plan/stackfile";

/** A wrong argument or config: the command prints it with its usage and exits 2. */
export class UsageError extends Error {}

/** The project directory: where Pulumi.yaml and this program's stack files are. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

export interface LoadedStack {
  /** The stack's name: --stack, or NAME of a --stack-file Pulumi.NAME.yaml. */
  name: string;
  file: string;
  stack: StackConfig;
  spec: ClusterSpec;
  topology: Topology;
  backup?: EtcdBackupSpec;
}

function parseStructured(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Reads and validates the stack's config as the offline plan and `pulumi up` do (`cluster.etcdBackup` included). */
export function loadStack(opts: { stack?: string; stackFile?: string; from: string }): LoadedStack {
  let file: string;
  let stack: StackConfig;
  try {
    file = resolveStackFile({ ...opts, projectDir: PROJECT_DIR });
    stack = readStackConfig(file);
  } catch (e) {
    if (e instanceof StackFileError) throw new UsageError(e.message);
    throw e;
  }
  const get = (k: string) => stack.config[`${CONFIG_NAMESPACE}:${k}`];
  const raw: RawConfig = {
    cluster: parseStructured(get("cluster")),
    hosts: parseStructured(get("hosts")),
    storage: parseStructured(get("storage")),
    ingress: parseStructured(get("ingress")),
    // The key may come from --ssh-key or the agent: these commands do not need it in the stack file.
    sshPrivateKeySet: true,
    configKeys: Object.keys(stack.config),
    secretKeys: stack.secretKeys,
  };
  const { spec, findings } = validateConfig(raw);
  if (!spec) throw new UsageError(`${file} has errors; fix them first (npm run plan shows them all):\n${formatFindings(findings)}`);
  const { topology } = analyzeTopology(spec);
  const name = opts.stack ?? /^Pulumi\.(.+)\.yaml$/.exec(path.basename(file))?.[1] ?? path.basename(file);
  const backup = spec.cluster.etcdBackup;
  return { name, file, stack, spec, topology, ...(backup ? { backup } : {}) };
}

/** How the commands authenticate: a key (text) or the SSH agent. */
export type SshAuth = { kind: "key"; privateKey: string; from: string } | { kind: "agent"; socket: string };

/** The Pulumi CLI: the one the project builds, else one on PATH. */
export function pulumiCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const built = path.join(env.BMK8S_TOOLS_CACHE ?? "/var/cache/baremetal-k8s/tools", "bin", "pulumi");
  if (existsSync(built)) return built;
  const r = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/**
 * The private key the way `pulumi up` gets it: `--ssh-key FILE` first; a plain (not secret) value of the stack
 * file; a `secure:` value decrypted by the Pulumi CLI (`pulumi config get sshPrivateKey --stack NAME`, which
 * needs the stack's backend login and secrets provider, e.g. PULUMI_CONFIG_PASSPHRASE); else the SSH agent.
 * Throws a UsageError naming every option when none gives a key.
 */
export function resolveSshAuth(
  loaded: LoadedStack,
  opts: { sshKeyFile?: string; from: string },
  env: NodeJS.ProcessEnv = process.env,
  /** null: no Pulumi CLI. */
  pulumi: string | null = pulumiCli(env) ?? null,
): SshAuth {
  if (opts.sshKeyFile) {
    const f = path.resolve(opts.from, opts.sshKeyFile);
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (e) {
      throw new UsageError(`--ssh-key ${opts.sshKeyFile}: cannot read it (${(e as Error).message})`);
    }
    if (!/-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/.test(text))
      throw new UsageError(`--ssh-key ${opts.sshKeyFile}: not a private key file`);
    return { kind: "key", privateKey: text, from: `--ssh-key ${opts.sshKeyFile}` };
  }
  const key = `${CONFIG_NAMESPACE}:sshPrivateKey`;
  const value = loaded.stack.config[key];
  const problems: string[] = [];
  if (value !== undefined && !loaded.stack.secretKeys.includes(key)) {
    if (/-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/.test(value)) return { kind: "key", privateKey: value, from: `${key} (plain text)` };
    problems.push(`${key} in ${loaded.file} holds no private key`);
  } else if (value !== undefined && value === OFFLINE_SECRET_PLACEHOLDER) {
    if (pulumi) {
      const r = spawnSync(pulumi, ["config", "get", "sshPrivateKey", "--stack", loaded.name, "--cwd", path.dirname(loaded.file)], {
        encoding: "utf8",
        env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" },
        timeout: 60_000,
      });
      if (r.status === 0 && /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/.test(r.stdout))
        return { kind: "key", privateKey: r.stdout, from: `pulumi config get sshPrivateKey --stack ${loaded.name}` };
      problems.push(
        `\`${pulumi} config get sshPrivateKey --stack ${loaded.name}\` failed: ${(r.stderr || r.error?.message || "no key in its output").trim().split("\n").pop()}`,
      );
    } else
      problems.push(
        `${key} is encrypted (secure:) and no Pulumi CLI is here to decrypt it (none at $BMK8S_TOOLS_CACHE/bin/pulumi, none on PATH)`,
      );
  } else problems.push(`${key} is not set in ${loaded.file} (${SET_SSH_KEY})`);
  if (env.SSH_AUTH_SOCK && existsSync(env.SSH_AUTH_SOCK)) return { kind: "agent", socket: env.SSH_AUTH_SOCK };
  throw new UsageError(
    `no SSH key: ${problems.join("; ")}; and no SSH agent (SSH_AUTH_SOCK). Give one of: --ssh-key FILE; the Pulumi CLI logged in to the stack's backend with its secrets provider (e.g. PULUMI_CONFIG_PASSPHRASE) so \`pulumi config get sshPrivateKey --stack ${loaded.name}\` works; or an ssh-agent holding the key`,
  );
}
