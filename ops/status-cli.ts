import { parseArgs } from "node:util";
import { renderStatusMarkdown } from "../components/day2/status/render";
import { collectStatus } from "./status";
import { SshRunner } from "./ssh";
import { callerDir } from "../plan/stackfile";
import { UsageError, loadStack, resolveSshAuth } from "./stack";

const USAGE = `usage: npm run status -- (--stack NAME | --stack-file PATH) [--ssh-key FILE] [--format markdown|json]

Connects to every host of the stack over SSH (cluster.ssh user and port, each host's pinned hostKey) and
reports, read-only: Kubernetes versions (kubelet, kubeadm, the Nodes), kubelet active and Node Ready, etcd
members, health and versions, certificate expiry (kubeadm certs check-expiration), which host holds the VIP,
and the age of the newest etcd snapshot (cluster.etcdBackup).

  --stack NAME        read Pulumi.NAME.yaml beside this program's Pulumi.yaml
  --stack-file PATH   read that stack file (Pulumi.yaml beside it gives project defaults)
  --ssh-key FILE      the private key; otherwise sshPrivateKey of the stack (a secure: value is decrypted by
                      \`pulumi config get sshPrivateKey --stack NAME\`), otherwise the SSH agent
  --format FORMAT     markdown (default) or json
Exit status: 0 = all good, 1 = warnings (a certificate expiring within 30 days, a stale or missing etcd
snapshot, an etcd member missing, unhealthy or extra, no host or two hosts holding the VIP, a Node NotReady,
version skew), 2 = a host unreachable, a check that could not be made, or wrong arguments/config.`;

async function cli(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" },
        "stack-file": { type: "string" },
        "ssh-key": { type: "string" },
        format: { type: "string", default: "markdown" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.format !== "json" && values.format !== "markdown")
    throw new UsageError(`--format must be json or markdown, got ${values.format}`);
  const from = callerDir("status");
  const loaded = loadStack({ stack: values.stack, stackFile: values["stack-file"], from });
  const auth = resolveSshAuth(loaded, { sshKeyFile: values["ssh-key"], from });
  const ssh = new SshRunner(loaded.spec.cluster, auth);
  try {
    const report = await collectStatus(loaded, ssh);
    process.stdout.write(values.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderStatusMarkdown(report, loaded.name));
    return report.exitCode;
  } finally {
    ssh.close();
  }
}

cli().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`status: ${e.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`status: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
