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

export function runToEnd(command: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
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
