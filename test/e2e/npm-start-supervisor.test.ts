// `npm start` keeps its stack alive, as a user runs it: given a bad rollout
// being handled by `npm start -- --auto-approve --exit-when-resolved`, when the
// worker is killed with SIGKILL in the middle of the incident, and later the
// Temporal dev server too, then npm start restarts each (the dev server on the
// same SQLite database), says so, and the incident still ends recovered with the
// rollback applied once; npm start does not give up on the way.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processInGroup, startInBackground, waitForOutput, type BackgroundRun } from '../helpers/processes.js';

const basePort = 18310;
let run: BackgroundRun | undefined;

afterAll(async () => {
  await run?.stop();
});

function sigkill(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

describe('npm start supervises its stack', () => {
  it('given a bad rollout, when the worker and then Temporal are killed mid-incident, then both come back and the incident still recovers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'incident-supervisor-'));
    run = startInBackground('npm', [
      'start', '--silent', '--',
      '--scenario', 'bad-rollout', '--auto-approve', '--monitor', '30s', '--exit-when-resolved',
      '--temporal-port', String(basePort), '--ui-port', String(basePort + 1), '--sandbox-port', String(basePort + 2),
      '--receiver-port', String(basePort + 3), '--worker-port', String(basePort + 4), '--data-dir', dataDir,
    ]);
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
    const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
    expect(line, out.slice(-3000)).toBeDefined();
    const summary = JSON.parse(line ?? '{}') as { status: string; diagnosis: string; actionsApplied: string[] };
    expect(summary).toMatchObject({ status: 'recovered', diagnosis: 'bad-rollout' });
    expect(summary.actionsApplied).toHaveLength(1);
    expect(out).not.toMatch(/npm start failed/);
  }, 420_000);
});
