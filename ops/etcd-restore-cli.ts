import { parseArgs } from "node:util";
import { RestoreError, etcdRestore } from "./etcd-restore";
import { SshRunner } from "./ssh";
import { callerDir } from "../plan/stackfile";
import { UsageError, loadStack, resolveSshAuth } from "./stack";

const USAGE = `usage: npm run etcd-restore -- (--stack NAME | --stack-file PATH) --snapshot HOST:/path/etcd-snapshot-....db [--ssh-key FILE] [--yes]

When etcd lost quorum (or every control plane was rebuilt): restores every etcd voter of the stack (control
planes and witness members) from one snapshot. Stops etcd and kube-apiserver on every control plane (their
static pod manifests moved aside), restores the snapshot on each voter with its name, peer URL and the
whole --initial-cluster into a fresh data directory (the old one kept as <data>.before-restore-<time>),
starts etcd, then the API servers, and waits for the API. Everything written after the snapshot is lost.

  --snapshot HOST:PATH  the snapshot file on one of the stack's hosts (cluster.etcdBackup.path holds the timer's)
  --yes                 do it; without it the command prints the steps and changes nothing
  --ssh-key FILE        as for npm run status
Exit status: 0 = restored and the API answers, 1 = not done (no --yes), 2 = failed or wrong arguments.`;

async function cli(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" },
        "stack-file": { type: "string" },
        snapshot: { type: "string" },
        "ssh-key": { type: "string" },
        yes: { type: "boolean", default: false },
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
  if (!values.snapshot) throw new UsageError("--snapshot HOST:/path is required");
  const from = callerDir("etcd-restore");
  const loaded = loadStack({ stack: values.stack, stackFile: values["stack-file"], from });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const yes = values.yes === true;
  const ssh = new SshRunner(
    loaded.spec.cluster,
    yes ? resolveSshAuth(loaded, { sshKeyFile: values["ssh-key"], from }) : { kind: "agent", socket: "" },
  );
  try {
    return await etcdRestore(loaded, ssh, { snapshot: values.snapshot, yes, log });
  } finally {
    ssh.close();
  }
}

cli().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`etcd-restore: ${e.message}\n\n${USAGE}\n`);
    } else if (e instanceof RestoreError) {
      process.stderr.write(
        `etcd-restore: ${e.message}\nThe steps are safe to run again with the same snapshot: manifests already aside stay aside, kept data stays kept.\n`,
      );
    } else process.stderr.write(`etcd-restore: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
