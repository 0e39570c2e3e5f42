import type { PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import type { RecordedResource } from "../../plan/evaluate";

/**
 * What `pulumi preview --policy-pack` hands a resource policy, built from a
 * resource the harness recorded: props are the inputs with secrets unwrapped
 * (the policy SDK's own deserializer does that, see policies.test.ts), opts
 * carry what the analyzer protocol carries (protect, not retainOnDelete).
 */
export function validationArgs(r: RecordedResource, stackTags: Record<string, string> = {}): ResourceValidationArgs {
  const opts: PolicyResourceOptions = {
    protect: r.protect,
    ignoreChanges: r.ignoreChanges,
    deleteBeforeReplace: r.deleteBeforeReplace,
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: r.additionalSecretOutputs,
    ...(r.parent ? { parent: r.parent } : {}),
  };
  return {
    type: r.type,
    props: structuredClone(r.plainInputs),
    urn: r.urn,
    name: r.name,
    opts,
    stackTags: new Map(Object.entries(stackTags)),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`policy declared itself not applicable: ${reason ?? ""}`);
    },
  };
}

/** Runs one policy's validateResource on a resource; returns its violation messages. */
export async function violations(
  policy: ResourceValidationPolicy,
  r: RecordedResource,
  stackTags?: Record<string, string>,
): Promise<string[]> {
  const out: string[] = [];
  const validators =
    policy.validateResource === undefined
      ? []
      : Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
  for (const validate of validators) await validate(validationArgs(r, stackTags), (message) => out.push(message));
  return out;
}

let seq = 0;

/** A RecordedResource-shaped fixture: what the harness would record for such a registration. */
export function recorded(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  extra: Partial<RecordedResource> = {},
): RecordedResource {
  return {
    urn: `urn:pulumi:test::baremetal-k8s::${type}::${name}`,
    type,
    name,
    custom: true,
    parent: null,
    dependsOn: [],
    inputs,
    plainInputs: inputs,
    secretPaths: [],
    retainOnDelete: false,
    protect: false,
    additionalSecretOutputs: [],
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    ignoreChanges: [],
    seq: seq++,
    ...extra,
  };
}
