/**
 * In a real preview (real-preview.test.ts) a command's stdin is often unknown: it carries a bootstrap token or key made
 * by the random provider during the same run. @pulumi/policy hands policies props that throw on reading an unknown, and
 * a policy that throws is reported "can't run policy ... during preview" instead of passing. The secrets policy skips
 * stdin (the place secrets belong) and so must not read it.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { policies } from "../../policy/policies";
import { validationArgs } from "../policy/args";

// @pulumi/policy exports its unknown-checking proxy at run time; its .d.ts re-exports it from an empty module.
const { unknownCheckingProxy } = createRequire(__filename)("@pulumi/policy") as { unknownCheckingProxy: <T extends object>(o: T) => T };
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

describe("no-secret-in-plain-command-inputs in a preview", () => {
  const policy = policies.find((p) => p.name === "no-secret-in-plain-command-inputs");

  it("passes a command whose stdin is unknown, and still reports a secret in its command line", async () => {
    expect(policy).toBeDefined();
    const base = validationArgs({
      urn: "urn:pulumi:s::p::command:remote:Command::init",
      type: "command:remote:Command",
      name: "init",
      custom: true,
      parent: null,
      dependsOn: [],
      inputs: {},
      plainInputs: {},
      secretPaths: [],
      retainOnDelete: false,
      protect: false,
      additionalSecretOutputs: [],
      deleteBeforeReplace: false,
      replaceOnChanges: [],
      ignoreChanges: [],
      seq: 0,
    });
    const run = async (props: Record<string, unknown>): Promise<string[]> => {
      const reported: string[] = [];
      const validate = policy?.validateResource;
      if (typeof validate !== "function") throw new Error("no-secret-in-plain-command-inputs has no single validateResource");
      await validate({ ...base, props: unknownCheckingProxy(props) }, (m: string) => reported.push(m));
      return reported;
    };
    await expect(run({ create: "bash -s", stdin: UNKNOWN_STRING, connection: { host: "10.0.0.1" } })).resolves.toEqual([]);
    const leaked = await run({ create: "kubeadm join --token abcdef.0123456789abcdef", stdin: UNKNOWN_STRING });
    expect(leaked).toHaveLength(1);
  });
});
