import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as state from "@pulumi/pulumi/runtime/state";

/** Internal to the SDK (stripped from its typings) but exported: resolves once no RPC is outstanding. */
const waitForRPCs = (settings as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs;

/** The SDK's global runtime state (typed loosely: internal). */
const getStore = (state as unknown as { getStore: () => Record<string, unknown> }).getStore;

/** The builtin provider's function that returns a stack's outputs (what a StackReference reads). */
export const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

/** The marker the SDK puts on secret values when it serialises them. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** One resource as the program registered it with the (mock) engine. */
export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string | null;
  /** Explicit dependencies (dependsOn) and those implied by inputs, as URNs. */
  dependsOn: string[];
  /** Inputs with every secret replaced by "[secret]". */
  inputs: Record<string, unknown>;
  /** Inputs with secrets unwrapped: for tests that need the value, never for printing. */
  plainInputs: Record<string, unknown>;
  /** Input paths (`connection`, `environment.TOKEN`) whose value is secret. */
  secretPaths: string[];
  retainOnDelete: boolean;
  /** `protect`: the one deletion guard a policy pack can see (the analyzer protocol does not carry retainOnDelete). */
  protect: boolean;
  additionalSecretOutputs: string[];
  deleteBeforeReplace: boolean;
  replaceOnChanges: string[];
  ignoreChanges: string[];
  /** 0-based position in the order the engine received registrations. */
  seq: number;
}

/** Lets a caller decide a resource's outputs (and carry out its work, as the lab executor does). */
export type ResourceHandler = (
  args: MockResourceArgs,
  resource: RecordedResource,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface EvaluateOptions {
  project?: string;
  stack?: string;
  /** What `pulumi.getOrganization()` returns; default "organization", the fixed name of DIY backends. */
  organization?: string;
  /** Config values as Pulumi keeps them: `project:key` -> string (JSON for structured values). */
  config: Record<string, string>;
  secretKeys?: string[];
  /** Outputs per resource; defaults echo the inputs back, which suits most resources. */
  handler?: ResourceHandler;
  /**
   * Answers the program's read of a stack's outputs (`pulumi:pulumi:readStackOutputs`, the read behind a
   * StackReference) for the stack it names; throwing stands for a failed read. Without it every stack reads
   * as new: no outputs.
   */
  stackOutputs?: (name: string) => Record<string, unknown>;
  /** Runs the program; its return value is awaited as the stack outputs. */
  program: () => unknown;
}

export interface Evaluation {
  resources: RecordedResource[];
  /** The stack outputs, secrets unwrapped: for tests, never for printing. */
  outputs: unknown;
  /** The stack outputs as `pulumi up` would export them, every secret replaced by "[secret]". */
  exportedOutputs: unknown;
  /** The stack names whose outputs the program read, in order. */
  stackReads: string[];
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
  getDependenciesList(): string[];
  getRetainondelete(): boolean | undefined;
  getProtect(): boolean | undefined;
  getAdditionalsecretoutputsList(): string[];
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
}

function unwrapSecrets(value: unknown, path: string, secretPaths: string[], redact: boolean): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths, redact));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_VALUE) {
      secretPaths.push(path);
      return redact ? "[secret]" : unwrapSecrets(obj.value, path, [], false);
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) {
      out[k] = unwrapSecrets(obj[k], path ? `${path}.${k}` : k, secretPaths, redact);
    }
    return out;
  }
  return value;
}

/**
 * Assets and archives as plain values: the SDK deserializes them into objects whose `path`, `text`,
 * `uri` and `assets` are promises, which a plain copy would turn into `{}`.
 */
function containsAsset(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsAsset);
  if (value === null || typeof value !== "object") return false;
  const obj = value as Record<string, unknown>;
  return obj.__pulumiAsset === true || obj.__pulumiArchive === true || Object.values(obj).some(containsAsset);
}

async function resolveAssets(value: unknown): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map(resolveAssets));
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const isAsset = obj.__pulumiAsset === true || obj.__pulumiArchive === true;
  for (const k of Object.keys(obj)) out[k] = await resolveAssets(isAsset ? await obj[k] : obj[k]);
  return out;
}

/** A mock monitor that also keeps what the stock one drops: parent, dependencies and options. */
/**
 * The URN the engine gives a resource: its type prefixed with the parent's whole qualified type (the `$`-joined chain,
 * without the root stack's type). The SDK's MockMonitor prefixes only the parent's last type, so a grandchild of the stack
 * got `ControlPlane$command:remote:Command` where the real preview shows `Cluster$ControlPlane$command:remote:Command`.
 */
export function qualifiedUrn(mockUrn: string, type: string, parentUrn: string | null): string {
  const parts = mockUrn.split("::");
  const parentType = parentUrn ? (parentUrn.split("::")[2] ?? "") : "";
  const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
  return [...parts.slice(0, 2), qualified, ...parts.slice(3)].join("::");
}

class RecordingMonitor extends MockMonitor {
  readonly recorded: RecordedResource[] = [];
  private seq = 0;
  private readonly pending = new Map<string, RecordedResource>();
  /** The SDK mock's URN of each resource (what the program sees) to the engine's (qualifiedUrn). */
  private readonly engineUrns = new Map<string, string>();

  private engineUrn(mockUrn: string): string {
    return this.engineUrns.get(mockUrn) ?? mockUrn;
  }

  constructor(mocks: Mocks) {
    super(mocks);
  }

  override async registerResource(req: RegisterRequest, callback: (err: unknown, res: unknown) => void): Promise<void> {
    let deserialized = pulumi.runtime.deserializeProperties(req.getObject()) as Record<string, unknown>;
    // only a resource with an asset waits here: every other registration is recorded in the same tick as before
    if (containsAsset(deserialized)) deserialized = (await resolveAssets(deserialized)) as Record<string, unknown>;
    const secretPaths: string[] = [];
    const inputs = unwrapSecrets(deserialized, "", secretPaths, true) as Record<string, unknown>;
    const plainInputs = unwrapSecrets(deserialized, "", [], false) as Record<string, unknown>;
    const parent = req.getParent() ? this.engineUrn(req.getParent()) : null;
    const rec: RecordedResource = {
      urn: "",
      type: req.getType(),
      name: req.getName(),
      custom: req.getCustom(),
      parent,
      dependsOn: [...new Set(req.getDependenciesList().map((u) => this.engineUrn(u)))].sort(),
      inputs,
      plainInputs,
      secretPaths,
      retainOnDelete: req.getRetainondelete() ?? false,
      protect: req.getProtect() ?? false,
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      replaceOnChanges: req.getReplaceonchangesList(),
      ignoreChanges: req.getIgnorechangesList(),
      seq: this.seq++,
    };
    this.pending.set(`${rec.type}::${rec.name}::${parent ?? ""}`, rec);
    return super.registerResource(req, (err, res) => {
      if (!err && res && typeof (res as { getUrn?: unknown }).getUrn === "function") {
        const mockUrn = (res as { getUrn(): string }).getUrn();
        rec.urn = qualifiedUrn(mockUrn, rec.type, parent);
        this.engineUrns.set(mockUrn, rec.urn);
        this.recorded.push(rec);
      }
      callback(err, res);
    });
  }

  /** The record for a mock call, so a handler can see parent and dependencies. */
  take(args: MockResourceArgs): RecordedResource | undefined {
    for (const [k, v] of this.pending) {
      if (v.type === args.type && v.name === args.name) {
        this.pending.delete(k);
        return v;
      }
    }
    return undefined;
  }
}

let running: Promise<unknown> = Promise.resolve();

/**
 * Runs a Pulumi program under the SDK's mock runtime (no CLI, no engine, no
 * hosts) and returns every resource it registered. Evaluations are serialised:
 * the SDK keeps its runtime state in one global store.
 */
export function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const run = running.then(() => evaluateNow(options));
  running = run.catch(() => undefined);
  return run;
}

async function evaluateNow(options: EvaluateOptions): Promise<Evaluation> {
  const handler = options.handler;
  const ref: { monitor?: RecordingMonitor } = {};
  const stackReads: string[] = [];
  const mocks: Mocks = {
    call: (args) => {
      if (args.token !== READ_STACK_OUTPUTS) return args.inputs as Record<string, unknown>;
      const name = String((args.inputs as { name?: unknown }).name);
      stackReads.push(name);
      return { name, outputs: options.stackOutputs ? options.stackOutputs(name) : {}, secretOutputNames: [] };
    },
    newResource: async (args: MockResourceArgs): Promise<MockResourceResult> => {
      const rec = ref.monitor?.take(args);
      const state = handler && rec ? await handler(args, rec) : (args.inputs as Record<string, unknown>);
      return { id: args.custom === false ? undefined : `${args.name}-id`, state };
    },
  };
  const monitor = new RecordingMonitor(mocks);
  ref.monitor = monitor;
  pulumi.runtime.setMockOptions(
    monitor,
    options.project ?? "baremetal-k8s",
    options.stack ?? "plan",
    false,
    options.organization ?? "organization",
  );
  // setMockOptions resets the feature flags to "unsupported"; without secrets support the SDK strips the
  // secret marker from every input, and the plan would print secrets. Enable what setMocks enables.
  Object.assign(getStore(), {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsOutputValues: false,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
  });
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);

  const returned: unknown = await options.program();
  const outputs = await resolveDeep(returned, false);
  const exportedOutputs = await resolveDeep(returned, true);
  await waitForRPCs();
  const resources = [...monitor.recorded].sort((a, b) => a.seq - b.seq);
  return { resources, outputs, exportedOutputs, stackReads };
}

/** Awaits promises and Outputs inside the program's return value; with `redact`, a secret Output becomes "[secret]". */
async function resolveDeep(value: unknown, redact: boolean): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    if (redact && (await pulumi.isSecret(value))) return "[secret]";
    const inner = await new Promise((resolve) =>
      value.apply((v) => {
        resolve(v);
        return v;
      }),
    );
    return resolveDeep(inner, redact);
  }
  if (value instanceof Promise) return resolveDeep(await value, redact);
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveDeep(v, redact)));
  if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveDeep(v, redact);
    return out;
  }
  return value;
}
