// Runs a whole program as a user would (npm start ...) and collects its output.
// It runs in a process group of its own, so that on a time-out Ctrl-C reaches
// every process it started, and nothing outlives the test.
import { spawn } from 'node:child_process';
import { repoRoot } from './temporal.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid) process.kill(-pid, signal);
  } catch {
    // the group has ended already
  }
}

export function runToEnd(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const signalGroup = (signal: NodeJS.Signals) => killGroup(child.pid, signal);
    const interrupt = setTimeout(() => {
      stderr += `\n[test] no end after ${timeoutMs / 1000} s: sent SIGINT\n`;
      signalGroup('SIGINT');
      setTimeout(() => signalGroup('SIGKILL'), 15_000).unref();
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(interrupt);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface BackgroundRun {
  stdout(): string;
  /** Ctrl-C to the whole group, as a user would; SIGKILL if it has not ended after 20 s. */
  stop(): Promise<void>;
}

/** Starts a program in its own process group and leaves it running until stop(). */
export function startInBackground(command: string, args: string[]): BackgroundRun {
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    stdout: () => stdout,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      killGroup(child.pid, 'SIGINT');
      const kill = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(kill);
    },
  };
}
