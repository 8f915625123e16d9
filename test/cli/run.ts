// Runs the CLI as a real process (node --import tsx src/cli/main.ts), as an operator would.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  exited: Promise<Finished>;
}

export function startCli(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, READSTATE_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<Finished>((resolve) => {
    child.on("exit", (code, signal) => {
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return startCli(args, env).exited;
}

/** Polls until `url` answers 200, or throws with the process output when it exits or times out. */
export async function waitReady(running: Running, url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void running.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { stdout, stderr } = running.output();
  throw new Error(`${url} did not become ready (exited: ${exited})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
}
