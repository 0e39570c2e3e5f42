import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config";
import { SET_SSH_KEY, sshPrivateKeyFindings, sshPrivateKeyShape } from "../../components/config/ssh-key";
import { runPlan } from "../../plan/plan";
import { readStackConfig, SECRET_PLACEHOLDER, StackFileError } from "../../plan/stackfile";
import { clone, loadStack, REPO_ROOT, TEST_SSH_KEY } from "../harness";

const MINIMAL = readFileSync(path.join(__dirname, "valid", "minimal.yaml"), "utf8");

function stackFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "bm-stack-")), "Pulumi.t.yaml");
  writeFileSync(file, text);
  return file;
}

describe("YAML tags in a stack file (point 10)", () => {
  const tagged = MINIMAL.replace("    name: lab\n", "    name: !!python/object:os.system lab\n");

  it("are an error naming the key and the tag", () => {
    expect(tagged).not.toBe(MINIMAL);
    expect(() => readStackConfig(stackFile(tagged))).toThrow(StackFileError);
    expect(() => readStackConfig(stackFile(tagged))).toThrow(
      /baremetal-k8s:cluster\.name: the YAML tag !!python\/object:os\.system \(line \d+\)/,
    );
  });

  it("stop the plan with exit 2 and no Node warning on stderr", () => {
    const res = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs"), "plan/cli.ts", "--stack-file", stackFile(tagged), "--format", "json"],
      { cwd: REPO_ROOT, encoding: "utf8" },
    );
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("the YAML tag !!python/object:os.system");
    expect(res.stderr).not.toMatch(/YAMLWarning|\(node:\d+\)/);
  }, 60_000);
});

describe("sshPrivateKey (point 8): malformed values are errors naming the key", () => {
  it("a plain-text private key in the stack file says how to store it as a secret", async () => {
    const text = MINIMAL.replace(
      "  baremetal-k8s:sshPrivateKey:\n    secure: AAABAKnownPlaceholderCiphertext\n",
      `  baremetal-k8s:sshPrivateKey: |\n${TEST_SSH_KEY.trimEnd()
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}\n`,
    );
    const run = await runPlan(readStackConfig(stackFile(text)));
    expect(run.exitCode).toBe(2);
    const [f] = run.plan.findings.filter((x) => x.path === "sshPrivateKey");
    expect(f?.message).toContain(SET_SSH_KEY);
    expect(SET_SSH_KEY).toBe("pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519");
    // The key itself never appears in a finding.
    expect(JSON.stringify(run.plan.findings)).not.toContain("test-key-not-real");
  });

  it.each([
    ["null", "null"],
    ['""', "empty"],
    ["42", "number 42"],
    ["[a, b]", "a list"],
    ['{secure: ""}', "without ciphertext"],
  ])("sshPrivateKey: %s", async (value, words) => {
    const text = MINIMAL.replace(
      "  baremetal-k8s:sshPrivateKey:\n    secure: AAABAKnownPlaceholderCiphertext\n",
      `  baremetal-k8s:sshPrivateKey: ${value}\n`,
    );
    const run = await runPlan(readStackConfig(stackFile(text)));
    const errors = run.plan.findings.filter((x) => x.severity === "error" && x.path === "sshPrivateKey");
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain(words);
  });

  it("a decrypted secret that is a public key, or not a key, is refused; a real one and the offline placeholder pass", () => {
    expect(sshPrivateKeyFindings(sshPrivateKeyShape("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabc me@host", true))[0]?.message).toContain(
      "public key",
    );
    expect(sshPrivateKeyFindings(sshPrivateKeyShape("hunter2", true))).toHaveLength(1);
    expect(sshPrivateKeyFindings(sshPrivateKeyShape(TEST_SSH_KEY, true))).toEqual([]);
    expect(sshPrivateKeyFindings(sshPrivateKeyShape(SECRET_PLACEHOLDER, true))).toEqual([]);
    expect(sshPrivateKeyFindings(sshPrivateKeyShape(undefined, false))).toEqual([]);
  });
});

describe("secure: values where plain text is needed", () => {
  it("under pulumi up (decrypted), a secret inside hosts is an error on hosts", () => {
    const dev = clone(loadStack("dev"));
    const base = { cluster: dev.cluster, hosts: dev.hosts, storage: dev.storage, sshPrivateKeySet: true };
    expect(validateConfig(base).findings.filter((f) => f.severity === "error")).toEqual([]);
    const f = validateConfig({ ...base, secretKeys: ["baremetal-k8s:hosts", "baremetal-k8s:sshPrivateKey"] }).findings;
    expect(f.filter((x) => x.severity === "error").map((x) => x.path)).toEqual(["hosts"]);
  });
});
