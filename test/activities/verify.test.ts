// Verification and monitoring on the sandbox and on a real control plane: `kubectl rollout status`
// waits (heartbeating, cancellable, ending on the progress deadline), the
// runbook's recovery checks, and the monitor's sample.
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RolloutStatus } from '../../workflows/domain.js';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { captureLogger, clusterKinds, clustersForThisFile, eventually, expectNoCanary, service } from './helpers.js';

function environment(): { env: MockActivityEnvironment; heartbeats: unknown[] } {
  const env = new MockActivityEnvironment(undefined, { logger: captureLogger().logger });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return { env, heartbeats };
}

describe.each(clusterKinds)('on the %s cluster', (kind) => {
  const cluster = clustersForThisFile(kind);

  describe('waitForRollout', () => {
    it("waits for a restart to roll out, heartbeating kubectl's progress messages", async () => {
      const { activities, run } = await cluster('healthy');
      await run(() =>
        activities.applyMutation({
          service,
          action: { kind: 'rollout-restart', restartedAt: '2030-01-01T00:00:00Z' },
          idempotencyKey: 'k-restart',
          approvedBy: 'alice',
        }),
      );
      const { env, heartbeats } = environment();
      // Under CI load the real cluster's deployment can pass its progress deadline before its pods are ready
      // (kubectl then says so at once); the controller calls it complete once they are: ask again until then.
      const status = await eventually(
        () => env.run<[], RolloutStatus, () => Promise<RolloutStatus>>(() => activities.waitForRollout(service, { timeoutSeconds: kind === 'real' ? 60 : 20 })),
        (s) => expect(s.complete).toBe(true),
        kind === 'real' ? 150_000 : 30_000,
      );
      expect(status).toEqual({ complete: true, message: 'deployment "agent-native-framework" successfully rolled out' });
      expect(heartbeats.length).toBeGreaterThan(0);
      expect(heartbeats[0]).toMatchObject({ message: expect.stringMatching(/^Waiting for deployment/) as unknown });
    }, 300_000);

    it('gives up at its timeout with the last message, and ends with the progress deadline on a rollout that cannot finish', async () => {
      const { activities, run } = await cluster('bad-rollout');
      const short = await run(() => activities.waitForRollout(service, { timeoutSeconds: 1 }));
      expect(short.complete).toBe(false);
      expect(short.message).toMatch(/^Waiting for deployment "agent-native-framework" rollout to finish: .*\(still not complete after 1 s\)$/);
      // The seeded progress deadline is 5 s: the rollout is declared failed, not waited on forever.
      const failed = await run(() => activities.waitForRollout(service, { timeoutSeconds: 30 }));
      expect(failed).toEqual({ complete: false, message: 'deployment "agent-native-framework" exceeded its progress deadline' });
    });

    it('stops at once when the workflow cancels it', async () => {
      // A rollout that cannot finish, cancelled long before its progress deadline.
      const { activities } = await cluster('bad-rollout');
      const { env } = environment();
      // Its own deadline is far beyond the test's time-out: only the cancellation can end it in time.
      const waiting = env.run(() => activities.waitForRollout(service, { timeoutSeconds: 3_600 }));
      setTimeout(() => env.cancel(), 300);
      await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
    });
  });

  describe('verifyRecovery', () => {
    it('passes every check on a healthy service', async () => {
      const { activities, run } = await cluster('healthy');
      // A fresh real cluster under load can take a while to settle (seen once in CI): what is tested is the verdict once it has.
      const result = await eventually(
        () => run(() => activities.verifyRecovery(service, { restartsBaseline: 0 })),
        (r) => expect(r.recovered).toBe(true),
        60_000,
      );
      expect(result).toEqual({
        recovered: true,
        restarts: 0,
        checks: [
          { name: 'rollout complete', ok: true, detail: 'deployment "agent-native-framework" successfully rolled out' },
          { name: 'pods ready', ok: true, detail: '2/2 pods ready' },
          { name: 'no new restarts', ok: true, detail: '0 restarts (baseline 0)' },
          { name: 'liveness endpoint', ok: true, detail: 'GET /health/live → 200' },
          { name: 'readiness endpoint', ok: true, detail: 'GET /health/ready → 200' },
          { name: 'metrics endpoint', ok: true, detail: 'GET /metrics → 200' },
        ],
      });
    }, 120_000);

    it.each([
      ['oom', ['rollout complete', 'pods ready', 'no new restarts', 'liveness endpoint', 'readiness endpoint', 'metrics endpoint']],
      ['selector-mismatch', ['liveness endpoint', 'readiness endpoint', 'metrics endpoint']],
    ] as const)('names what still fails: %s', async (scenario, failing) => {
      const { activities, run } = await cluster(scenario);
      const result = await eventually(
        () => run(() => activities.verifyRecovery(service, { restartsBaseline: 0 })),
        (r) => expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(failing),
      );
      expect(result.recovered).toBe(false);
      expect(result.checks.find((c) => c.name === 'liveness endpoint')?.detail).toBe(
        'GET /health/live → 503: no endpoints available for service "agent-native-framework"',
      );
    });
  });

  describe('sampleHealth', () => {
    it('samples readiness, restarts, health and the traffic since the previous sample', async () => {
      const started = await cluster('healthy');
      const { activities, run } = started;
      // The app has served a few requests (4/s) before the first sample.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const first = await run(() => activities.sampleHealth(service));
      expect(first).toMatchObject({ readyPods: 2, desiredPods: 2, restarts: 0, live: true, ready: true });
      expect(first.errorRate).toBeGreaterThanOrEqual(0);
      expect(first.errorRate).toBeLessThan(0.05);
      expect(first.p99LatencyMs).toBeGreaterThan(0);
      // agent_active_agents of both pods, summed (3 to 7 each while the app serves).
      expect(first.activeAgents).toBeGreaterThanOrEqual(6);
      expect(Date.parse(first.at)).not.toBeNaN();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const second = await run(() => activities.sampleHealth(service));
      expect(second.errorRate).toBeLessThan(0.05);
      expectNoCanary(started, first, second);
    });

    it("given a dependency outage that is over, any worker takes the next sample from the counters the workflow kept: the outage's 5xx are not counted again", async () => {
      const started = await cluster('dependency-down');
      const { controls, run } = started;
      // The outage shows (pods unready), and lasts long enough to dominate what the pods have served.
      await eventually(
        () => run(() => started.activities.sampleHealth(service)),
        (s) => expect(s.readyPods).toBe(0),
      );
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      controls.heal();
      // The pods are not replaced: their counters still hold the requests they failed.
      const first = await eventually(
        () => run(() => started.activities.sampleHealth(service)),
        (s) => expect(s.ready).toBe(true),
      );
      expect(first.counters && Object.keys(first.counters)).toHaveLength(2);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      // Another worker (its own activities, no memory of the first) takes the next sample.
      const otherWorker = createActivities({ ...started.deps, logger: captureLogger().logger });
      const next = await run(() => otherWorker.sampleHealth(service, { previous: first.counters ?? {} }));
      expect(first.errorRate).toBeGreaterThan(0.05);
      expect(next.errorRate).toBeLessThan(0.05);
      expectNoCanary(started, first, next);
    });

    it('sees a dependency outage as unready pods, failing health and the requests the pods fail', async () => {
      const { activities, run } = await cluster('dependency-down');
      // Pods that served before the outage (on the real control plane they ran healthy first) have counted good requests too:
      // judge the requests since a sample taken once the pods show the outage, as the monitor does.
      const first = await eventually(
        () => run(() => activities.sampleHealth(service)),
        (s) => expect(s).toMatchObject({ readyPods: 0, desiredPods: 2, live: false, ready: false }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const sample = await run(() => activities.sampleHealth(service, { previous: first.counters ?? {} }));
      expect(sample).toMatchObject({ readyPods: 0, desiredPods: 2, live: false, ready: false });
      expect(sample.errorRate).toBeGreaterThan(0.5);
    });
  });
});
