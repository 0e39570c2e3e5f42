import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { renderMarkdown } from "./markdown";
import { runPlan } from "./plan";
import { previousOutputsFrom } from "./previous";
import { callerDir, readStackConfig, resolveStackFile, StackFileError } from "./stackfile";

const USAGE = `usage: npm run plan -- (--stack NAME | --stack-file PATH) [--format markdown|json] [--previous PATH]

  --stack NAME        read Pulumi.NAME.yaml beside this program's Pulumi.yaml
  --stack-file PATH   read that stack file (Pulumi.yaml beside it gives project defaults)
  --format FORMAT     markdown (default) or json
  --previous PATH     the stack's previous outputs (pulumi stack output --json > PATH, or an earlier
                      plan's JSON): also check the change against the deployed cluster (leader, role
                      changes, etcd voters removed, storage hosts removed or replica counts lowered)
Relative paths are read from the directory you run the command in.
Exit status: 0 = no error finding, 2 = the config has errors (or the arguments are wrong).`;

/** The project directory: where Pulumi.yaml and the stack files of this program are. */
const PROJECT_DIR = path.resolve(__dirname, "..");

function fail(message: string): never {
  process.stderr.write(`plan: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function cli(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" },
        "stack-file": { type: "string" },
        format: { type: "string", default: "markdown" },
        previous: { type: "string" },
        help: { type: "boolean" },
      },
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
  const from = callerDir("plan");
  let file: string;
  let stack;
  try {
    file = resolveStackFile({ stack: values.stack, stackFile: values["stack-file"], from, projectDir: PROJECT_DIR });
    stack = readStackConfig(file);
  } catch (e) {
    if (e instanceof StackFileError) fail(e.message);
    throw e;
  }
  try {
    stack = readStackConfig(file);
  } catch (e) {
    if (e instanceof StackFileError) fail(e.message);
    throw e;
  }
  if (values.previous) {
    const previousFile = path.resolve(from, values.previous);
    if (!existsSync(previousFile)) fail(`--previous ${values.previous}: there is no such file (${previousFile}, read from ${from})`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(previousFile, "utf8")) as unknown;
    } catch (e) {
      fail(
        `--previous ${values.previous}: not JSON (${(e as Error).message}); save the outputs with \`pulumi stack output --json > ${values.previous}\``,
      );
    }
    const previous = previousOutputsFrom(doc);
    if ("problem" in previous) fail(`--previous ${values.previous}: ${previous.problem}`);
    // As the config key: previousTopology wins over what the program would read from the stack itself.
    stack = { ...stack, config: { ...stack.config, "baremetal-k8s:previousTopology": JSON.stringify(previous.outputs) } };
  }
  const { plan, recorded, waits, exitCode } = await runPlan(stack);
  if (values.format === "json") process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else process.stdout.write(renderMarkdown(plan, recorded, values.stack ?? path.basename(file), waits));
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
