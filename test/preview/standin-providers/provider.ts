/**
 * STAND-IN resource providers for `pulumi preview` in tests: NOT the real pulumi-resource-command, -random or -kubernetes.
 *
 * Why: the Go module proxy this project reaches refuses the command and random provider modules at every version (the
 * build records the proxy's answer in `<tools>/bin/pulumi-resource-{command,random}.unavailable`); the real kubernetes
 * provider builds only at v4.25.0 and only with `BMK8S_TOOLS_ALL=1 npm run -s tools`, and is used instead of this one
 * when it is there (test/preview/engine.ts decides).
 *
 * What they do: serve the Node SDK's own provider server (`@pulumi/pulumi/provider` `main`) under the name and version
 * package.json pins, so the real engine loads them for the program's resources. They do only what the engine asks of a
 * provider in a preview of a new stack — GetPluginInfo, CheckConfig/Configure (answered by the SDK's server) and Check —
 * and Check returns the inputs unchanged, with the failures the real provider documents for a missing or invalid
 * required input (below). They never create, update, read or delete anything: those calls fail naming the stand-in, so
 * a `pulumi up` against them cannot pass for a real one.
 *
 * Documented behaviour of the real providers kept here (read at the pinned tags, not copied):
 * - command 1.2.1 `command:remote:Command`: `connection` is required, and so is its `host`.
 * - random 4.21.2 `random:index/randomPassword:RandomPassword` and `random:index/randomBytes:RandomBytes`: `length` is
 *   required, and the minimum value for length is 1.
 * Record-only mode, for `npm run bench` alone (BMK8S_STANDIN_RECORD_ONLY=1 in the providers' environment): Create,
 * Update and Delete succeed WITHOUT doing anything — no SSH, no Helm — and return the inputs as outputs (a command's
 * `stdout`/`stderr` empty, a random value of the asked length), so the real engine can record a state and then measure
 * a `pulumi up` that changes nothing. Diff is left to the engine's own comparison of inputs (the provider answers
 * "unknown"), as for any provider without a Diff. Never set it where a run is meant to change hosts. Each call is
 * logged as a JSON line {call, urn, start, end} to BMK8S_STANDIN_LOG when set, after BMK8S_STANDIN_DELAY_MS when set, so
 * a test can see the order and the parallelism the real engine chose.
 * Not modelled: the real random provider (a Terraform bridge) fills its schema defaults (`special`, `upper`, ...) into
 * the checked inputs; the real kubernetes provider validates and renders Helm charts when it can reach a cluster.
 */
import { appendFileSync } from "node:fs";
import type * as provider from "@pulumi/pulumi/provider";

export const STAND_IN_VERSIONS = { command: "1.2.1", random: "4.21.2", kubernetes: "4.34.2" } as const;
export type StandInPackage = keyof typeof STAND_IN_VERSIONS;

export function isStandInPackage(name: string): name is StandInPackage {
  return Object.hasOwn(STAND_IN_VERSIONS, name);
}

/** The engine's marker for a value not known during preview (sdk/go/common/resource/plugin: UnknownStringValue). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key that marks a secret or other special value in a property map the SDK's server hands us. */
const SIG = "4dabf18193072939515e22adb298388d";

type Props = Record<string, unknown>;

function isKnown(v: unknown): boolean {
  return v !== UNKNOWN;
}

/** A secret's plain value (the engine sends secrets to a provider that accepts them as a signature-wrapped object). */
function plain(v: unknown): unknown {
  if (v !== null && typeof v === "object" && SIG in v && "value" in v) return (v as { value: unknown }).value;
  return v;
}

function typeOf(urn: string): string {
  return urn.split("::")[2]?.split("$").pop() ?? urn;
}

type Rule = (news: Props) => provider.CheckFailure[];

const requireLength: Rule = (news) => {
  const length = plain(news.length);
  if (length === undefined) return [{ property: "length", reason: "Missing required argument: length" }];
  if (isKnown(length) && (typeof length !== "number" || !Number.isInteger(length) || length < 1)) {
    return [{ property: "length", reason: `length must be an integer of at least 1, got ${JSON.stringify(length)}` }];
  }
  return [];
};

const RULES: Record<StandInPackage, Record<string, Rule>> = {
  command: {
    "command:remote:Command": (news) => {
      const connection = plain(news.connection);
      if (connection === undefined) return [{ property: "connection", reason: "Missing required argument: connection" }];
      if (
        isKnown(connection) &&
        (connection === null || typeof connection !== "object" || plain((connection as Props).host) === undefined)
      ) {
        return [{ property: "connection.host", reason: "Missing required argument: connection.host" }];
      }
      return [];
    },
  },
  random: {
    "random:index/randomPassword:RandomPassword": requireLength,
    "random:index/randomBytes:RandomBytes": requireLength,
  },
  kubernetes: {},
};

function record(pkg: StandInPackage, call: string, urn: string): void {
  const file = process.env.BMK8S_STANDIN_CALLS;
  if (file) appendFileSync(file, `${pkg} ${call} ${typeOf(urn)}\n`);
}

function refuse(pkg: StandInPackage, call: string, urn: string): Promise<never> {
  record(pkg, call, urn);
  return Promise.reject(
    new Error(`${call} ${urn}: the ${pkg} provider here is a test stand-in that serves previews only (the real one cannot be built here)`),
  );
}

/** Outputs of a record-only create or update: the inputs, plus what the program reads of each type's outputs. */
function recordedOutputs(urn: string, news: Props): Props {
  const type = typeOf(urn);
  if (type.startsWith("command:")) return { ...news, stdout: "", stderr: "" };
  if (type.startsWith("random:")) {
    const length = plain(news.length);
    const n = typeof length === "number" && length > 0 ? length : 16;
    return { ...news, result: "x".repeat(n), hex: "0".repeat(2 * n), base64: "A".repeat(Math.ceil(n / 3) * 4) };
  }
  return { ...news };
}

/** One record-only call: JSON lines in BMK8S_STANDIN_LOG (when set), after BMK8S_STANDIN_DELAY_MS (when set). */
async function logged<T>(env: NodeJS.ProcessEnv, call: string, urn: string, result: () => T): Promise<T> {
  const start = Date.now();
  const delay = Number(env.BMK8S_STANDIN_DELAY_MS ?? "0");
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const out = result();
  if (env.BMK8S_STANDIN_LOG) appendFileSync(env.BMK8S_STANDIN_LOG, `${JSON.stringify({ call, urn, start, end: Date.now() })}\n`);
  return out;
}

function recordOnly(pkg: StandInPackage, env: NodeJS.ProcessEnv): Partial<provider.Provider> {
  let next = 0;
  return {
    create(urn: string, news: Props): Promise<provider.CreateResult> {
      record(pkg, "Create(record-only)", urn);
      next += 1;
      const id = `standin-${process.pid}-${next}`;
      return logged(env, "create", urn, () => ({ id, outs: recordedOutputs(urn, news) }));
    },
    update(_id: string, urn: string, _olds: Props, news: Props): Promise<provider.UpdateResult> {
      record(pkg, "Update(record-only)", urn);
      return logged(env, "update", urn, () => ({ outs: recordedOutputs(urn, news) }));
    },
    delete(_id: string, urn: string): Promise<void> {
      record(pkg, "Delete(record-only)", urn);
      return logged(env, "delete", urn, () => undefined);
    },
    diff: undefined,
  };
}

export function standInProvider(pkg: StandInPackage, env: NodeJS.ProcessEnv = process.env): provider.Provider {
  const base: provider.Provider = {
    version: STAND_IN_VERSIONS[pkg],
    check(urn: string, _olds: Props, news: Props): Promise<provider.CheckResult> {
      record(pkg, "Check", urn);
      const rule = RULES[pkg][typeOf(urn)];
      const failures = rule ? rule(news) : [];
      return Promise.resolve(failures.length > 0 ? { inputs: news, failures } : { inputs: news });
    },
    create: (urn) => refuse(pkg, "Create", urn),
    diff: (_id, urn) => refuse(pkg, "Diff", urn),
    update: (_id, urn) => refuse(pkg, "Update", urn),
    read: (_id, urn) => refuse(pkg, "Read", urn),
    delete: (_id, urn) => refuse(pkg, "Delete", urn),
    invoke: (token) => refuse(pkg, "Invoke", token),
  };
  return env.BMK8S_STANDIN_RECORD_ONLY === "1" ? { ...base, ...recordOnly(pkg, env) } : base;
}
