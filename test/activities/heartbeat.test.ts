// Every activity heartbeats while it runs (activities/heartbeat.ts), so the
// workflow's short heartbeatTimeout notices a dead worker in seconds; it stops
// when the activity ends, and a direct call outside an activity just runs.
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { heartbeating } from '../../activities/heartbeat.js';
import { captureLogger, clustersForThisFile, inActivity, service } from './helpers.js';

const cluster = clustersForThisFile();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function environment(): { env: MockActivityEnvironment; heartbeats: unknown[] } {
  const env = new MockActivityEnvironment(undefined, { logger: captureLogger().logger });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return { env, heartbeats };
}

describe('heartbeating', () => {
  it('beats while the body runs, and not after it has returned', async () => {
    const { env, heartbeats } = environment();
    expect(await env.run(() => heartbeating(async () => (await sleep(450), 'done'), 100))).toBe('done');
    const beats = heartbeats.length;
    expect(beats).toBeGreaterThanOrEqual(3);
    await sleep(300);
    expect(heartbeats.length).toBe(beats);
  });

  it('stops beating when the body fails, and passes the failure on', async () => {
    const { env, heartbeats } = environment();
    await expect(env.run(() => heartbeating(async () => (await sleep(250), Promise.reject(new Error('API server gone'))), 100))).rejects.toThrow(
      'API server gone',
    );
    const beats = heartbeats.length;
    await sleep(300);
    expect(heartbeats.length).toBe(beats);
  });

  it('sends progress at once and repeats it on the beats after', async () => {
    const { env, heartbeats } = environment();
    await env.run(() =>
      heartbeating(async (progress) => {
        progress({ message: 'Waiting for deployment' });
        await sleep(250);
      }, 100),
    );
    expect(heartbeats[0]).toEqual({ message: 'Waiting for deployment' });
    expect(heartbeats.slice(1).length).toBeGreaterThan(0);
    expect(heartbeats.slice(1).every((d) => (d as { message?: string }).message === 'Waiting for deployment')).toBe(true);
  });

  it('outside an activity only runs the body', async () => {
    let reported = false;
    expect(await heartbeating(async (progress) => (progress('ignored'), (reported = true), 42), 10)).toBe(42);
    expect(reported).toBe(true);
  });

  it('keeps a real read alive while the API server is slow', async () => {
    const { activities, sandbox } = await cluster('bad-rollout');
    sandbox.setFaults([{ verb: 'list', resource: 'resourcequotas', rate: 1, latencyMs: 2_500 }]);
    const { env, heartbeats } = environment();
    const findings = await inActivity(() => activities.inspectResources(service), env);
    sandbox.setFaults([]);
    expect(findings.nodes.length).toBeGreaterThan(0);
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
  });
});
