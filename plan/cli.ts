import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { renderMarkdown } from "./markdown";
import { runPlan } from "./plan";
import { readStackConfig, StackFileError, stackFileFor } from "./stackfile";

const USAGE = `usage: npm run plan -- (--stack NAME | --stack-file PATH) [--format markdown|json] [--previous PATH]

  --stack NAME        read Pulumi.NAME.yaml in the current directory
  --stack-file PATH   read that stack file (Pulumi.yaml beside it gives project defaults)
  --format FORMAT     markdown (default) or json
  --previous PATH     the stack's previous outputs (pulumi stack output --json > PATH): also check the
                      change against the deployed cluster (leader, role changes, etcd voters removed,
                      storage hosts removed or replica counts lowered)
Exit status: 0 = no error finding, 2 = the config has errors (or the arguments are wrong).`;

function fail(message: string): never {
  process.stderr.write(`plan: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function cli(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string" }, "stack-file": { type: "string" }, format: { type: "string", default: "markdown" }, previous: { type: "string" }, help: { type: "boolean" } },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.format !== "json" && values.format !== "markdown") fail(`--format must be json or markdown, got ${values.format}`);
  if (!values.stack === !values["stack-file"]) fail("give exactly one of --stack or --stack-file");
  const file = values["stack-file"] ? path.resolve(values["stack-file"]) : stackFileFor(values.stack as string);

  let stack;
  try {
    stack = readStackConfig(file);
  } catch (e) {
    if (e instanceof StackFileError) fail(e.message);
    throw e;
  }
  if (values.previous) {
    let previous: string;
    try {
      previous = JSON.stringify(JSON.parse(readFileSync(path.resolve(values.previous), "utf8")));
    } catch (e) {
      fail(`--previous ${values.previous}: ${(e as Error).message}`);
    }
    stack = { ...stack, config: { ...stack.config, "baremetal-k8s:previousTopology": previous } };
  }
  const { plan, recorded, exitCode } = await runPlan(stack);
  if (values.format === "json") process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else process.stdout.write(renderMarkdown(plan, recorded, values.stack ?? path.basename(file)));
  return exitCode;
}

// Exit only once stdout has drained: a large plan written to a pipe is flushed asynchronously.
cli().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (e: unknown) => {
    process.stderr.write(`plan: internal error (please report it with the stack file): ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
