import { spawn } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../harness";

describe("policy/index.ts", () => {
  it("loads as the CLI loads it: constructs the pack and serves it (prints the gRPC port), without errors", async () => {
    // The CLI runs the pack with its directory as working directory (PolicyPack reads ./package.json for the version).
    const child = spawn(path.join(REPO_ROOT, "node_modules/.bin/tsx"), ["index.ts"], {
      cwd: path.join(REPO_ROOT, "policy"),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const { out, err } = await new Promise<{ out: string; err: string }>((resolve, reject) => {
        let out = "";
        let err = "";
        const timer = setTimeout(() => reject(new Error(`no port printed within 45 s; stderr: ${err}`)), 45_000);
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (/^\d+\s*$/m.test(out)) {
            clearTimeout(timer);
            resolve({ out, err });
          }
        });
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`the pack exited (${code}) before serving: ${err}`));
        });
      });
      expect(Number(out.trim())).toBeGreaterThan(0);
      expect(err).toBe("");
    } finally {
      child.kill();
    }
  });
});
