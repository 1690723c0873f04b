// Given an incident whose investigation is in flight on a worker process, when
// that worker is killed with SIGKILL in the middle of a read and a new worker
// process starts, then the investigation finishes on the new worker, and the
// killed attempt was ended by its heartbeat timeout (seconds after the death),
// not by its start-to-close timeout. Real processes: the Temporal dev server,
// the sandbox cluster, `node --import tsx worker/main.ts`. The seconds it takes
// are printed by `npm run bench -- worker-crash`, not asserted here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrashDrill, slowRead, type CrashOutcome } from './crash-drill.js';

let drill: CrashDrill | undefined;

beforeAll(async () => {
  drill = await CrashDrill.start();
});
afterAll(async () => {
  await drill?.close();
});

describe('a worker killed mid-investigation', () => {
  it('is noticed by the heartbeat timeout, and a new worker finishes the investigation', { timeout: 240_000 }, async () => {
    if (!drill) throw new Error('no drill');
    const [service] = drill.services;
    if (!service) throw new Error('the sandbox runs no service');
    await drill.spawnWorker('first');

    let outcome: CrashOutcome;
    try {
      outcome = await drill.crash(service, 'restart');
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${drill.workerOutput()}`);
    }

    expect(outcome.killed.alive()).toBe(false);
    expect(outcome.status.investigations).toBeGreaterThanOrEqual(1);
    expect(outcome.status.diagnosis?.category).toBe('bad-rollout');
    // The read that was running when the worker died finished on the new worker, as a retry...
    expect(outcome.retried.identity).toBe(outcome.successor.identity);
    expect(outcome.retried.attempt).toBeGreaterThanOrEqual(2);
    // ...of an attempt that Temporal ended because its heartbeats stopped.
    expect(outcome.retried.lastFailure, `${slowRead.activity}'s attempt before the retry`).toMatchObject({ timeoutType: 'HEARTBEAT' });
    expect(outcome.timedOut).toEqual([]);
  });
});
