import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify, parse } from "yaml";
import { loadStack, pulumiCli, resolveSshAuth, UsageError, PROJECT_DIR } from "../../ops/stack";

// How `status` and `etcd-restore` get the SSH key: --ssh-key, a plain value, a secure: value decrypted by the REAL
// Pulumi CLI (built by tools/engines; a passphrase secrets provider and a file backend, as a user's DIY stack), the agent.
const tmp = mkdtempSync(path.join(os.tmpdir(), "day2-sshkey-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-not-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";

/** A copy of the example stack without sshPrivateKey, under `name` in a project dir of its own. */
function project(name: string, sshPrivateKey?: unknown): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmp, "p-"));
  copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  const doc = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
  delete doc.config["baremetal-k8s:sshPrivateKey"];
  if (sshPrivateKey !== undefined) doc.config["baremetal-k8s:sshPrivateKey"] = sshPrivateKey;
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return { dir, file };
}

const noAgent = { PATH: process.env.PATH };

describe("the SSH key of status and etcd-restore", () => {
  it("--ssh-key FILE wins; a plain private key in the stack file is taken as is", () => {
    const keyFile = path.join(tmp, "id");
    writeFileSync(keyFile, KEY, { mode: 0o600 });
    const p = project("plain", KEY);
    const loaded = loadStack({ stackFile: p.file, from: tmp });
    expect(loaded.name).toBe("plain");
    expect(resolveSshAuth(loaded, { sshKeyFile: keyFile, from: tmp }, noAgent, null)).toMatchObject({
      kind: "key",
      from: `--ssh-key ${keyFile}`,
    });
    expect(resolveSshAuth(loaded, { from: tmp }, noAgent, null)).toMatchObject({ kind: "key", privateKey: KEY });
  });

  it("no key anywhere: one error naming every way to give one", () => {
    const loaded = loadStack({ stackFile: project("none").file, from: tmp });
    expect(() => resolveSshAuth(loaded, { from: tmp }, noAgent, null)).toThrow(UsageError);
    expect(() => resolveSshAuth(loaded, { from: tmp }, noAgent, null)).toThrow(
      /baremetal-k8s:sshPrivateKey is not set .*; and no SSH agent \(SSH_AUTH_SOCK\)\. Give one of: --ssh-key FILE; the Pulumi CLI logged in .*PULUMI_CONFIG_PASSPHRASE.*; or an ssh-agent holding the key/,
    );
  });

  it("a secure: value without a Pulumi CLI says so", () => {
    const loaded = loadStack({ stackFile: project("enc", { secure: "AAABAJn0dDtQ" }).file, from: tmp });
    expect(() => resolveSshAuth(loaded, { from: tmp }, noAgent, null)).toThrow(
      /is encrypted \(secure:\) and no Pulumi CLI is here to decrypt it/,
    );
  });

  const pulumi = pulumiCli();
  it.skipIf(pulumi === undefined)(
    `a secure: value is decrypted by the real Pulumi CLI (${pulumi ?? "not built"})`,
    () => {
      const p = project("sec");
      const env = {
        PATH: `${path.dirname(pulumi as string)}:${process.env.PATH ?? ""}`,
        HOME: tmp,
        PULUMI_HOME: path.join(tmp, ".pulumi"),
        PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "day2-test-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      };
      spawnSync("mkdir", ["-p", path.join(tmp, "state")]);
      const run = (args: string[], input?: string) => {
        const r = spawnSync(pulumi as string, args, { cwd: p.dir, env, input, encoding: "utf8", timeout: 120_000 });
        expect(r.status, `pulumi ${args.join(" ")}: ${r.stderr}`).toBe(0);
      };
      run(["stack", "init", "sec", "--secrets-provider", "passphrase", "--non-interactive"]);
      run(["config", "set", "--secret", "sshPrivateKey", "--stack", "sec"], KEY);
      const text = readFileSync(p.file, "utf8");
      expect(text).toMatch(/baremetal-k8s:sshPrivateKey:\n\s+secure: /);
      expect(text).not.toContain("not-a-real-key");
      const loaded = loadStack({ stack: undefined, stackFile: p.file, from: tmp });
      const auth = resolveSshAuth(loaded, { from: tmp }, env, pulumi);
      expect(auth).toMatchObject({ kind: "key", from: "pulumi config get sshPrivateKey --stack sec" });
      expect(auth.kind === "key" && auth.privateKey.trim()).toBe(KEY.trim());
      // the wrong passphrase: the CLI's own error, then the options
      expect(() => resolveSshAuth(loaded, { from: tmp }, { ...env, PULUMI_CONFIG_PASSPHRASE: "wrong" }, pulumi)).toThrow(
        /pulumi config get sshPrivateKey --stack sec` failed: .*(passphrase|decrypt)/i,
      );
      expect(existsSync(path.join(tmp, "state", ".pulumi"))).toBe(true);
    },
    180_000,
  );
});
