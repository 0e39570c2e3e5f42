/**
 * STAND-IN for one call of the nodejs language host: `RunPlugin`, which the real pulumi-language-nodejs v3.68.0 built
 * here answers with "not supported" (its source: `return errors.New("not supported")`). Everything else is the real host.
 *
 * Why: the Go module proxy refuses the language host module of the CLI's own release (3.248.0; recorded in
 * `<tools>/bin/pulumi-language-nodejs-v3.248.0.unavailable`), so the build falls back to v3.68.0, the newest one the
 * sdk/v3 module carried. The CLI 3.248.0 runs a nodejs policy pack (`--policy-pack`) through the language host's
 * RunPlugin whenever a nodejs language host is found, and looks for `pulumi-analyzer-policy-nodejs` only when none is;
 * the program needs the host, so without RunPlugin no policy pack can run.
 *
 * What it does: started by the CLI as `pulumi-language-nodejs` (a launcher test/preview/engine.ts writes, found on
 * PATH before the tools directory), it starts the real host from BMK8S_REAL_LANGUAGE_HOST with the same arguments,
 * forwards every gRPC call to it unchanged, and answers RunPlugin by running the pinned Node SDK's own policy-pack
 * runner (`@pulumi/pulumi/cmd/run-policy-pack <engine> <pack>`, what the release's `pulumi-analyzer-policy` script
 * runs) in the pack's directory, streaming its stdout, stderr and exit code back as the real host does.
 */
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import * as langrpc from "@pulumi/pulumi/proto/language_grpc_pb";
import * as langproto from "@pulumi/pulumi/proto/language_pb";

const real = process.env.BMK8S_REAL_LANGUAGE_HOST;
if (!real) {
  process.stderr.write("language host stand-in: BMK8S_REAL_LANGUAGE_HOST is not set\n");
  process.exit(2);
}
const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");

type Service = Record<string, grpc.MethodDefinition<unknown, unknown>>;
const service = langrpc.LanguageRuntimeService as unknown as Service;

function log(line: string): void {
  const file = process.env.BMK8S_STANDIN_CALLS;
  if (file) appendFileSync(file, `language-host ${line}\n`);
}

/** Runs the real host with our arguments and resolves with the port it prints first. */
function startRealHost(): Promise<number> {
  const child = spawn(real as string, process.argv.slice(2), { stdio: ["ignore", "pipe", "inherit"] });
  process.on("exit", () => child.kill());
  child.on("exit", (code) => process.exit(code ?? 1));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      const port = Number(line.trim());
      if (Number.isInteger(port) && port > 0) resolve(port);
      else reject(new Error(`the real language host printed ${JSON.stringify(line)} instead of its port`));
    });
  });
}

function runPlugin(call: grpc.ServerWritableStream<langproto.RunPluginRequest, langproto.RunPluginResponse>): void {
  const req = call.request;
  const dir = req.getInfo()?.getProgramDirectory() || req.getProgram();
  log(`RunPlugin kind=${req.getKind()} program=${req.getProgram()}`);
  const env = Object.fromEntries(
    req.getEnvList().map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const child = spawn(process.execPath, [runPolicyPack, ...req.getArgsList(), dir], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const send = (set: (r: langproto.RunPluginResponse) => void) => {
    const r = new langproto.RunPluginResponse();
    set(r);
    call.write(r);
  };
  child.stdout.on("data", (b: Buffer) => send((r) => r.setStdout(new Uint8Array(b))));
  child.stderr.on("data", (b: Buffer) => send((r) => r.setStderr(new Uint8Array(b))));
  child.on("close", (code) => {
    send((r) => r.setExitcode(code ?? 1));
    call.end();
  });
  call.on("cancelled", () => child.kill());
}

async function serve(): Promise<void> {
  const port = await startRealHost();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
  });
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(service)) {
    if (name === "runPlugin") continue;
    if (def.responseStream) {
      impl[name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const upstream = client.makeServerStreamRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          call.request,
          call.metadata,
        );
        upstream.on("data", (m: unknown) => call.write(m));
        upstream.on("end", () => call.end());
        upstream.on("error", (e: grpc.ServiceError) => call.destroy(e));
        call.on("cancelled", () => upstream.cancel());
      };
    } else {
      impl[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, call.request, call.metadata, (e, m) =>
          callback(e, m),
        );
      };
    }
  }
  impl.runPlugin = runPlugin;
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(langrpc.LanguageRuntimeService, impl);
  const own = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  process.stdout.write(`${own}\n`);
}

serve().catch((e: unknown) => {
  process.stderr.write(`language host stand-in: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
