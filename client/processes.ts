// A small supervisor for the local stack that `npm start` runs: each service is a
// child process whose output goes to .data/logs/<name>.log (the terminal is kept
// for the incident timeline). Ctrl-C stops them all, newest first, and waits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<string>;
}

export class ProcessGroup {
  private readonly processes: ManagedProcess[] = [];
  private stopping = false;

  constructor(private readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
  }

  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const logFile = join(this.logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        log.end();
        resolve(signal ?? String(code));
      });
      child.once('error', (err) => {
        log.end();
        resolve(`failed to start: ${err.message}`);
      });
    });
    const managed = { name, child, logFile, exited };
    this.processes.push(managed);
    void exited.then((how) => {
      if (!this.stopping) process.stderr.write(`\n${name} exited (${how}); its log: ${logFile}\n`);
    });
    return managed;
  }

  /** Stops every process, newest first: SIGTERM, then SIGKILL after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const proc of [...this.processes].reverse()) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(timer);
    }
  }
}

/** Waits until `probe` resolves true, polling; throws with `what` after `timeoutMs`. */
export async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
}

/** True when `url` answers HTTP 2xx. */
export async function httpAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.ok;
}
