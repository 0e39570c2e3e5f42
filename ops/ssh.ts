import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ClusterSettings, HostSpec } from "../components/config/spec";
import { PER_DIAL_TIMEOUT_S } from "../components/host/connection";
import type { SshAuth } from "./stack";

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when no session was made: the host is unreachable, its key does not match, or the login was refused. */
  unreachable?: string;
}

const NOT_CONNECTED =
  /ssh: connect to host|Connection refused|Connection timed out|No route to host|Network is unreachable|Connection reset by peer|Connection closed by|kex_exchange_identification|banner exchange|Could not resolve hostname|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Permission denied|No ED25519 host key is known|No .* host key is known/;

/**
 * OpenSSH sessions as the program's connections make them: the user and port of `cluster.ssh`, the host's pinned
 * `hostKey` as the only known host key (StrictHostKeyChecking=yes), never trust on first use unless
 * `cluster.ssh.insecureIgnoreHostKey`.
 */
export class SshRunner {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), "bmk8s-ssh-"));
  private readonly keyFile?: string;

  constructor(
    private readonly cluster: ClusterSettings,
    private readonly auth: SshAuth,
  ) {
    if (auth.kind === "key") {
      this.keyFile = path.join(this.dir, "key");
      writeFileSync(this.keyFile, auth.privateKey.endsWith("\n") ? auth.privateKey : `${auth.privateKey}\n`, { mode: 0o600 });
    }
  }

  /** The ssh arguments for `host` (exported for the test that pins them). */
  args(host: HostSpec): string[] {
    const port = this.cluster.ssh.port;
    const a = ["-p", String(port), "-l", this.cluster.ssh.user, "-o", "BatchMode=yes", "-o", `ConnectTimeout=${PER_DIAL_TIMEOUT_S}`];
    a.push("-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3");
    if (this.keyFile) a.push("-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-i", this.keyFile);
    else if (this.auth.kind === "agent") a.push("-o", `IdentityAgent=${this.auth.socket}`);
    if (this.cluster.ssh.insecureIgnoreHostKey) a.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null");
    else {
      if (!host.hostKey) throw new Error(`hosts: ${host.name} has no hostKey and cluster.ssh.insecureIgnoreHostKey is false`);
      const known = path.join(this.dir, `known-${host.name}`);
      writeFileSync(known, `${port === 22 ? host.address : `[${host.address}]:${port}`} ${host.hostKey.trim()}\n`);
      a.push("-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${known}`);
    }
    return a;
  }

  /**
   * Runs `commandLine` on `host`. `stdinFile` streams a local file to the command; `stdoutFile` streams its output
   * to a local file (stdout is then not collected).
   */
  run(
    host: HostSpec,
    commandLine: string,
    o: { timeoutMs?: number; stdin?: string; stdinFile?: string; stdoutFile?: string } = {},
  ): Promise<SshResult> {
    const args = [...this.args(host), host.address, "--", commandLine];
    return new Promise((resolve) => {
      const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, o.timeoutMs ?? 60_000);
      if (o.stdoutFile) child.stdout.pipe(createWriteStream(o.stdoutFile, { mode: 0o600 }));
      else child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdin.on("error", () => undefined);
      if (o.stdinFile) createReadStream(o.stdinFile).pipe(child.stdin);
      else child.stdin.end(o.stdin ?? "");
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        const c = code ?? (signal ? 255 : 1);
        if (timedOut)
          resolve({ code: 255, stdout, stderr, ...(stdout === "" ? { unreachable: `no answer within ${o.timeoutMs ?? 60_000} ms` } : {}) });
        else if (c === 255 && NOT_CONNECTED.test(stderr) && stdout === "")
          resolve({ code: c, stdout, stderr, unreachable: stderr.trim().split("\n").pop() ?? "" });
        else resolve({ code: c, stdout, stderr });
      });
    });
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
