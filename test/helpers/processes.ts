// Runs a whole program as a user would (npm start ...) and collects its output.
// It runs in a process group of its own, so that on a time-out Ctrl-C reaches
// every process it started, and nothing outlives the test.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
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
  /** The program's pid, which is also its process group's ID. */
  pid: number | undefined;
  stdout(): string;
  /** Resolves with the exit code when the program ends by itself (or by stop()). */
  exited: Promise<number | null>;
  /** Ctrl-C to the whole group, as a user would; SIGKILL if it has not ended after 20 s. */
  stop(): Promise<void>;
}

/** Starts a program in its own process group and leaves it running until stop(). */
export function startInBackground(command: string, args: string[]): BackgroundRun {
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    pid: child.pid,
    stdout: () => stdout,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      killGroup(child.pid, 'SIGINT');
      const kill = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** Waits until the run's output matches `pattern`; fails (with the output) if the run ends first or after `timeoutMs`. */
export async function waitForOutput(run: BackgroundRun, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  let ended = false;
  void run.exited.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = run.stdout().match(pattern);
    if (match) return match;
    if (ended || Date.now() > deadline) {
      throw new Error(
        `${ended ? 'the program ended' : `no output after ${timeoutMs / 1000} s`} without matching ${String(pattern)}:\n${run.stdout().slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The processes of one process group (a program started by startInBackground and its children), with their command lines. */
export function processesInGroup(pgid: number): { pid: number; args: string }[] {
  const listing = execFileSync('ps', ['-e', '-o', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return listing.split('\n').flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return m && Number(m[2]) === pgid ? [{ pid: Number(m[1]), args: m[3] ?? '' }] : [];
  });
}

/** The one process of the group whose command line matches `pattern`; fails if there is none or more than one. */
export function processInGroup(pgid: number, pattern: RegExp): number {
  const found = processesInGroup(pgid).filter((p) => pattern.test(p.args));
  if (found.length !== 1)
    throw new Error(
      `expected one process matching ${String(pattern)} in group ${pgid}, found ${found.length}: ${found.map((p) => `${p.pid} ${p.args}`).join('; ')}`,
    );
  return (found[0] as { pid: number }).pid;
}

/** A port where nothing listens (taken from the OS, then let go). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
