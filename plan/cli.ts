import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { renderMarkdown } from "./markdown";
import { type PreviousState, runPlan } from "./plan";
import type { StorageFootprint } from "../components/storage/data-safety";
import { readStackConfig, StackFileError, stackFileFor } from "./stackfile";

const USAGE = `usage: npm run plan -- (--stack NAME | --stack-file PATH) [--format markdown|json]

  --stack NAME        read Pulumi.NAME.yaml in the current directory
  --stack-file PATH   read that stack file (Pulumi.yaml beside it gives project defaults)
  --format FORMAT     markdown (default) or json
  --previous-stack-file PATH
                      compare with this earlier stack file (e.g. the base branch's) and report
                      changes that could lose data (removed storage disks, lowered replica counts)
  --previous-outputs PATH
                      the same, from \`pulumi stack output --json\` of the last update (its storageFootprint)
Exit status: 0 = no error finding, 2 = the config has errors (or the arguments are wrong).`;

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
        "previous-stack-file": { type: "string" },
        "previous-outputs": { type: "string" },
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
  if (!values.stack === !values["stack-file"]) fail("give exactly one of --stack or --stack-file");
  const file = values["stack-file"] ? path.resolve(values["stack-file"]) : stackFileFor(values.stack as string);

  let stack;
  try {
    stack = readStackConfig(file);
  } catch (e) {
    if (e instanceof StackFileError) fail(e.message);
    throw e;
  }
  if (values["previous-stack-file"] && values["previous-outputs"]) fail("give at most one of --previous-stack-file and --previous-outputs");
  let previous: PreviousState | undefined;
  try {
    if (values["previous-stack-file"]) previous = { stack: readStackConfig(path.resolve(values["previous-stack-file"])) };
  } catch (e) {
    if (e instanceof StackFileError) fail(e.message);
    throw e;
  }
  if (values["previous-outputs"]) {
    const file = values["previous-outputs"];
    let outputs: { storageFootprint?: StorageFootprint };
    try {
      outputs = JSON.parse(readFileSync(file, "utf8")) as { storageFootprint?: StorageFootprint };
    } catch (e) {
      fail(`cannot read ${file} as the JSON of \`pulumi stack output --json\`: ${(e as Error).message}`);
    }
    if (!outputs.storageFootprint) fail(`${file} has no storageFootprint output: it comes from a stack updated before this check existed, or from another program`);
    previous = { footprint: outputs.storageFootprint };
  }
  const { plan, recorded, exitCode } = await runPlan(stack, previous);
  if (values.format === "json") process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else process.stdout.write(renderMarkdown(plan, recorded, values.stack ?? path.basename(file)));
  return exitCode;
}

cli().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`plan: internal error (please report it with the stack file): ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
