/**
 * Entry point of the STAND-IN providers (see provider.ts for what they are and why): `main.ts <package> [engine args]`,
 * run by the `pulumi-resource-<package>` launcher that test/preview/engine.ts writes and registers with the CLI.
 */
import { main } from "@pulumi/pulumi/provider";
import { isStandInPackage, standInProvider } from "./provider";

const [pkg, ...args] = process.argv.slice(2);
if (pkg === undefined || !isStandInPackage(pkg)) {
  process.stderr.write(`stand-in provider: unknown package ${JSON.stringify(pkg)}\n`);
  process.exit(2);
}
void main(standInProvider(pkg), args);
