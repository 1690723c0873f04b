// `npm start` keeps its stack alive, as a user runs it: given a bad rollout
// being handled by `npm start -- --auto-approve --exit-when-resolved`, when the
// worker is killed with SIGKILL in the middle of the incident, and later the
// Temporal dev server too, then npm start restarts each (the dev server on the
// same SQLite database), says so, and the incident still ends recovered with the
// rollback applied once; npm start does not give up on the way. Beside it, the
// supervisor's policy on small processes: back-off restarts, giving up after
// repeated fast crashes or at once on a bad configuration, nothing restarted
// once the group stops.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../../local-stack/processes.js';
import { npmStartArgs } from '../helpers/npm-start.js';
import { processInGroup, startInBackground, waitForOutput, type BackgroundRun } from '../helpers/processes.js';

const basePort = 18310;
let run: BackgroundRun | undefined;
const groups: ProcessGroup[] = [];

afterAll(async () => {
  await run?.stop();
  for (const group of groups) await group.stopAll(2_000);
});

function newGroup(lines: string[]): ProcessGroup {
  const group = new ProcessGroup(mkdtempSync(join(tmpdir(), 'incident-group-')), (line) => lines.push(line.trim()));
  groups.push(group);
  return group;
}

const node = process.execPath;
const fast = { initialDelayMs: 10, maxDelayMs: 40 };

describe('the supervisor', () => {
  it('given a process that keeps crashing at start, then it is restarted with a back-off and given up on with one line', async () => {
    const lines: string[] = [];
    const group = newGroup(lines);
    const crasher = group.supervise('crasher', node, ['-e', 'process.exit(3)'], {}, { policy: { ...fast, maxFastCrashes: 3 } });
    const reason = await group.gaveUp;
    expect(reason).toMatch(/^crasher exited \(3\) 4 times in a row, each within 15 s of its start: giving up on it/);
    expect(crasher.restarts).toBe(3);
    expect(lines.filter((l) => /^crasher exited \(3\) after [\d.]+ s; restarting it in [\d.]+ s/.test(l))).toHaveLength(3);
  });

  it('given an exit code no restart cures (a bad configuration), then it is given up on at once', async () => {
    const group = newGroup([]);
    const misconfigured = group.supervise(
      'worker',
      node,
      ['-e', 'console.error("LOG_LEVEL: expected one of trace, debug"); process.exit(2)'],
      {},
      { policy: { ...fast, fatalExitCodes: ['2'] } },
    );
    expect(await group.gaveUp).toMatch(/^worker exited \(2\): "LOG_LEVEL: expected one of trace, debug", which no restart cures/);
    expect(misconfigured.restarts).toBe(0);
  });

  it('given a process that served and is killed with SIGKILL, again and again, then a new one runs each time; once the group stops, nothing is restarted', async () => {
    const lines: string[] = [];
    const group = newGroup(lines);
    // It serves as soon as it runs: kills after that are not a crash loop, however many.
    const sleeper = group.supervise(
      'sleeper',
      node,
      ['-e', 'setInterval(() => {}, 1000)'],
      {},
      { policy: { ...fast, maxFastCrashes: 1, fastAfterServingMs: 0 }, ready: async () => true },
    );
    const pids = [sleeper.pid];
    for (let kill = 1; kill <= 3; kill++) {
      const deadline = Date.now() + 20_000;
      while (sleeper.current.servedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const before = sleeper.pid;
      sleeper.kill('SIGKILL');
      while (!(sleeper.alive && sleeper.pid !== before) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      pids.push(sleeper.pid);
    }
    expect(new Set(pids).size).toBe(4);
    expect(sleeper.restarts).toBe(3);
    expect(sleeper.gaveUp).toBeUndefined();
    expect(lines.filter((l) => l.startsWith('sleeper exited (SIGKILL)'))).toHaveLength(3);
    await group.stopAll(2_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(sleeper.alive).toBe(false);
    expect(sleeper.restarts).toBe(3);
  });
});

function sigkill(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

describe('npm start supervises its stack', () => {
  it('given a bad rollout, when the worker and then Temporal are killed mid-incident, then both come back and the incident still recovers', async () => {
    run = startInBackground(
      'npm',
      npmStartArgs(['--scenario', 'bad-rollout', '--auto-approve', '--monitor', '30s', '--exit-when-resolved'], basePort, 'incident-supervisor-').args,
    );
    const stack = run;
    const group = stack.pid;
    if (group === undefined) throw new Error('npm start did not start');

    // The incident is open and being investigated: the worker dies under it.
    await waitForOutput(stack, /incident INC-\d+ opened/, 180_000);
    const firstWorker = processInGroup(group, /worker\/main\.ts/);
    sigkill(firstWorker);
    await waitForOutput(stack, /worker exited \(SIGKILL\).*restart/, 60_000);

    // A new worker carries the incident on to its monitor; then Temporal itself dies.
    await waitForOutput(stack, /phase\s+monitoring/, 120_000);
    const secondWorker = processInGroup(group, /worker\/main\.ts/);
    expect(secondWorker).not.toBe(firstWorker);
    const temporal = processInGroup(group, /temporal server start-dev/);
    sigkill(temporal);
    await waitForOutput(stack, /temporal exited \(SIGKILL\).*restart/, 60_000);

    const code = await Promise.race([stack.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 180_000))]);
    const out = stack.stdout();
    expect(code, `npm start did not end well:\n${out.slice(-5000)}`).toBe(0);
    const line = out
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.startsWith('{'));
    expect(line, out.slice(-3000)).toBeDefined();
    const summary = JSON.parse(line ?? '{}') as { status: string; diagnosis: string; actionsApplied: string[] };
    expect(summary).toMatchObject({ status: 'recovered', diagnosis: 'bad-rollout' });
    expect(summary.actionsApplied).toHaveLength(1);
    expect(out).not.toMatch(/npm start failed/);
  }, 420_000);
});
