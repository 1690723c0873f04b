// A small supervisor for the local stack that `npm start` runs: each service is a
// child process whose output goes to .data/logs/<name>.log (the terminal is kept
// for the incident timeline). A supervised process that dies (a crash, a
// SIGKILL, an out-of-memory kill) is started again after a short back-off, with
// a line on the terminal that says why; one that keeps dying within seconds of
// its start is given up on, with a line that says so. Ctrl-C stops them all,
// last started first, and waits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  startedAt: number;
  /** When it first answered its readiness probe (supervised processes that have one). */
  servedAt?: number;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<string>;
  /** Its last line on stderr, if any. */
  lastError: () => string | undefined;
}

export interface RestartPolicy {
  /** Back-off before the first restart; it doubles with each fast crash in a row. */
  initialDelayMs: number;
  maxDelayMs: number;
  /**
   * A process that dies sooner than this after its start crashed "fast". With a
   * readiness probe: one that dies before it ever served, or within `fastAfterServingMs` of serving.
   */
  fastCrashMs: number;
  fastAfterServingMs: number;
  /** Give up after this many fast crashes in a row. */
  maxFastCrashes: number;
  /** Exit codes that no restart can cure (a bad configuration): give up at once. */
  fatalExitCodes: readonly string[];
}

export const defaultRestartPolicy: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  fastCrashMs: 15_000,
  fastAfterServingMs: 1_000,
  // With the back-off, about 25 s of failed starts plus their own start-up: enough to ride out a restart of the dev server.
  maxFastCrashes: 6,
  fatalExitCodes: [],
};

interface ProcessSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** A process the group keeps running: `current` is replaced by each restart. */
export class SupervisedProcess {
  /** Restarts so far. */
  restarts = 0;
  /** Set once the supervisor stopped restarting it (the reason). */
  gaveUp: string | undefined;
  private fastCrashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The process running now (or the one that died last, until its restart). */
  current: ManagedProcess;

  constructor(
    readonly name: string,
    private readonly spec: ProcessSpec,
    private readonly policy: RestartPolicy,
    private readonly group: ProcessGroup,
    /** Answers true once a (re)started process serves; used to say it is back. */
    private readonly ready?: () => Promise<boolean>,
  ) {
    this.current = group.spawn(name, spec, (how) => this.handleExit(how));
    void this.watchReady(this.current);
  }

  get pid(): number | undefined {
    return this.current.child.pid;
  }

  get alive(): boolean {
    return this.current.child.exitCode === null && this.current.child.signalCode === null;
  }

  /** Sends a signal to the running process; unless the group is stopping, the supervisor starts a new one. */
  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.current.child.kill(signal);
  }

  /** Resolves when a process is running again after a kill (and answers `ready`, if given); rejects if the supervisor gave up. */
  async running(timeoutMs = 120_000): Promise<ManagedProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.gaveUp) throw new Error(this.gaveUp);
      if (this.alive && (!this.ready || (await this.ready().catch(() => false)))) return this.current;
      if (Date.now() > deadline) throw new Error(`${this.name} is not running again after ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Called when the current process ended: restart it, or give up. */
  private handleExit(how: string): void {
    const now = Date.now();
    const ranMs = now - this.current.startedAt;
    const log = this.current.logFile;
    // A crash loop is a process that never gets to serve; one killed while it served well is restarted at once.
    const servedAt = this.current.servedAt;
    const fast = this.ready ? servedAt === undefined || now - servedAt < this.policy.fastAfterServingMs : ranMs < this.policy.fastCrashMs;
    this.fastCrashes = fast ? this.fastCrashes + 1 : 1;
    // A process that fails says why on stderr; a signal's victim or a clean exit has no last words worth showing.
    const said = /^[1-9]\d*$/.test(how) ? this.current.lastError() : undefined;
    const why = said ? `: "${said}"` : '';
    if (this.policy.fatalExitCodes.includes(how)) {
      this.giveUp(`${this.name} exited (${how})${why}, which no restart cures (see its log: ${log})`);
      return;
    }
    if (this.fastCrashes > this.policy.maxFastCrashes) {
      const within = this.ready ? 'each before it served' : `each within ${Math.round(this.policy.fastCrashMs / 1000)} s of its start`;
      this.giveUp(`${this.name} exited (${how}) ${this.fastCrashes} times in a row, ${within}${why}: giving up on it (see its log: ${log})`);
      return;
    }
    const delay = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** (this.fastCrashes - 1));
    this.group.say(
      `${this.name} exited (${how}) after ${(ranMs / 1000).toFixed(1)} s${why}; restarting it in ${(delay / 1000).toFixed(1)} s (its log: ${log})`,
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.group.stopping) return;
      this.restarts += 1;
      this.current = this.group.spawn(this.name, this.spec, (why) => this.handleExit(why));
      void this.watchReady(this.current);
    }, delay);
  }

  /** Notes when a new process first serves, and says a restarted one is back. */
  private async watchReady(started: ManagedProcess): Promise<void> {
    if (!this.ready) return;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && this.current === started && this.alive && !this.group.stopping) {
      if (await this.ready().catch(() => false)) {
        started.servedAt = Date.now();
        if (this.restarts > 0)
          this.group.say(
            `${this.name} is back (restart ${this.restarts}, pid ${started.child.pid ?? '?'}, up in ${((Date.now() - started.startedAt) / 1000).toFixed(1)} s)`,
          );
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private giveUp(reason: string): void {
    this.gaveUp = reason;
    this.group.say(reason);
    this.group.reportGiveUp(reason);
  }

  /** No restart pending any more (the group stops). */
  cancelRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }
}

type Unit = { kind: 'once'; process: ManagedProcess } | { kind: 'supervised'; process: SupervisedProcess };

export class ProcessGroup {
  private readonly units: Unit[] = [];
  stopping = false;
  /** Resolves with the reason when the supervisor gives up on a process. */
  readonly gaveUp: Promise<string>;
  private resolveGaveUp: (reason: string) => void = () => undefined;

  constructor(
    private readonly logDir: string,
    /** Where the supervisor's lines go: the terminal's stderr, so stdout stays the incident's. */
    private readonly writeLine: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    mkdirSync(logDir, { recursive: true });
    this.gaveUp = new Promise((resolve) => (this.resolveGaveUp = resolve));
  }

  say(line: string): void {
    if (!this.stopping) this.writeLine(`\n${line}`);
  }

  reportGiveUp(reason: string): void {
    this.resolveGaveUp(reason);
  }

  /** Starts a process once: when it ends, the terminal is told, nothing more. */
  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
    const managed = this.spawn(name, { command, args, env }, (how) => this.say(`${name} exited (${how}); its log: ${managed.logFile}`));
    this.units.push({ kind: 'once', process: managed });
    return managed;
  }

  /** Starts a process and keeps it running: restarted after a back-off whenever it dies, until the group stops. */
  supervise(
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
    options: { policy?: Partial<RestartPolicy>; ready?: () => Promise<boolean> } = {},
  ): SupervisedProcess {
    const supervised = new SupervisedProcess(name, { command, args, env }, { ...defaultRestartPolicy, ...options.policy }, this, options.ready);
    this.units.push({ kind: 'supervised', process: supervised });
    return supervised;
  }

  /** Spawns one process with its output appended to its log; `onUnexpectedExit` runs when it ends while the group is not stopping. */
  spawn(name: string, spec: ProcessSpec, onUnexpectedExit: (how: string) => void): ManagedProcess {
    const logFile = join(this.logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(spec.command, spec.args, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    // The last words on stderr say why a process died (a bad variable, a port in use).
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString()).slice(-2_000)));
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        // Its output may still be in the pipes: wait for them to close (not forever: a grandchild may hold them).
        const done = () => {
          log.end();
          resolve(signal ?? String(code));
        };
        const timer = setTimeout(done, 200);
        child.once('close', () => {
          clearTimeout(timer);
          done();
        });
      });
      child.once('error', (err) => {
        log.end();
        resolve(`failed to start: ${err.message}`);
      });
    });
    void exited.then((how) => {
      if (!this.stopping) onUnexpectedExit(how);
    });
    const lastError = () =>
      stderrTail
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .at(-1)
        ?.slice(0, 300);
    return { name, child, logFile, startedAt: Date.now(), exited, lastError };
  }

  /** Stops every process, last started first: SIGTERM, then SIGKILL after `graceMs`. No restarts from here on. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const unit of this.units) if (unit.kind === 'supervised') unit.process.cancelRestart();
    for (const unit of [...this.units].reverse()) {
      const proc = unit.kind === 'once' ? unit.process : unit.process.current;
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

export interface PatienceOptions {
  /** What is asked, for the waiting line ("the status of INC-123"). */
  what: string;
  /** How long an outage is waited out before giving up. */
  giveUpAfterMs: number;
  /** Told once when the call starts failing, and once when it answers again. */
  say: (line: string) => void;
  /** Failures that are answers, not outages: thrown at once. */
  isAnswer?: (err: unknown) => boolean;
  retryEveryMs?: number;
}

/**
 * Calls `call` until it answers, through a short outage of Temporal or of the
 * worker (a query needs a worker): says once that it waits and why, and once
 * that the answer came back; gives up after `giveUpAfterMs` of failures in a row.
 */
export async function patiently<T>(call: () => Promise<T>, options: PatienceOptions): Promise<T> {
  let since: number | undefined;
  for (;;) {
    try {
      const value = await call();
      if (since !== undefined) options.say(`${options.what} answers again after ${((Date.now() - since) / 1000).toFixed(1)} s`);
      return value;
    } catch (err) {
      if (options.isAnswer?.(err)) throw err;
      const now = Date.now();
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (since === undefined) {
        since = now;
        options.say(`waiting for ${options.what}: no answer (${reason}); Temporal or the worker may be restarting`);
      } else if (now - since > options.giveUpAfterMs) {
        throw new Error(`no answer for ${options.what} for ${Math.round((now - since) / 1000)} s: ${reason}`);
      }
      await new Promise((r) => setTimeout(r, options.retryEveryMs ?? 1_000));
    }
  }
}
