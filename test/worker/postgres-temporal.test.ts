// The production shape: the real Temporal server on PostgreSQL (started by
// local-stack/temporal-postgres.ts, as `npm run temporal:postgres` does), two
// worker processes on one task queue, and a storm: given 20 services of the
// sandbox in a bad rollout at once, with every change auto-approved and the
// monitor shortened, when one of the two workers is SIGKILLed while the storm's
// changes are being applied, then every incident still resolves, mitigated by
// its one rollback, and each change reached the cluster exactly once (the
// sandbox's audit log); and the incidents' histories are rows in PostgreSQL.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWrites, type AppliedChange } from '../../local-stack/gameday/exactly-once.js';
import { startPostgresTemporal, type PostgresTemporal } from '../../local-stack/temporal-postgres.js';
import { incidentWorkflowId } from '../../workflows/messages.js';
import type { IncidentStatus } from '../../workflows/records.js';
import { uniqueId } from '../helpers/temporal.js';
import { CrashDrill, type DrillTemporal } from './crash-drill.js';

const services = 20;
let cluster: PostgresTemporal | undefined;
let drill: CrashDrill | undefined;

async function onPostgres(): Promise<DrillTemporal> {
  cluster = await startPostgresTemporal();
  const { address, namespace } = cluster;
  const connection = await Connection.connect({ address });
  return {
    address,
    client: new Client({ connection, namespace }),
    teardown: async () => {
      await connection.close();
      await cluster?.stop();
    },
  };
}

beforeAll(async () => {
  drill = await CrashDrill.start({
    services,
    scenario: 'bad-rollout',
    temporal: onPostgres,
    clientEnv: { INCIDENT_MONITOR: '20s', INCIDENT_SAMPLE_INTERVAL: '5s' },
    // The governor stays in the path (its leases must survive the kill too), with a window short enough for 20 rollbacks in about a minute.
    workerEnv: { INCIDENT_AUTO_APPROVE: 'default=*', GOVERNOR_MAX_CHANGES_PER_CLUSTER: '5', GOVERNOR_MAX_CHANGES_PER_NAMESPACE: '5', GOVERNOR_WINDOW: '15s' },
  });
}, 120_000);
afterAll(async () => {
  await drill?.close();
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('two workers on the Temporal server on PostgreSQL', () => {
  it(
    'given a 20-service storm, when one worker is SIGKILLed mid-storm, then every incident resolves and each change is applied once',
    { timeout: 480_000 },
    async () => {
      if (!drill || !cluster) throw new Error('no drill');
      const { sandbox, incidents } = drill;
      const refs = drill.services;
      expect(refs).toHaveLength(services);
      const [first, second] = await Promise.all([drill.spawnWorker('a'), drill.spawnWorker('b')]);
      const context = () => drill?.workerOutput() ?? '';

      // The storm: every service's alert at once.
      const startsAt = new Date().toISOString();
      await Promise.all(
        refs.map((service) =>
          incidents.open(service, {
            name: 'ServiceDown',
            severity: 'critical',
            summary: `${service.deployment} in ${service.namespace} is down`,
            labels: { namespace: service.namespace, deployment: service.deployment },
            startsAt,
            fingerprint: uniqueId('fp'),
          }),
        ),
      );

      // Mid-storm: some changes written, not all of them.
      const realWrites = () => sandbox.audit().filter((e) => !e.dryRun && e.idempotencyKey !== undefined).length;
      const deadline = Date.now() + 240_000;
      while (realWrites() < 3) {
        if (Date.now() > deadline) throw new Error(`no change applied within 240 s\n${context()}`);
        await sleep(100);
      }
      const writesAtKill = realWrites();
      await first.kill('SIGKILL');
      expect(first.alive()).toBe(false);
      expect(second.alive()).toBe(true);

      // Every incident finishes on the worker left.
      const statuses = new Map<string, IncidentStatus>();
      for (const service of refs) {
        const id = incidentWorkflowId(service);
        for (;;) {
          const { status } = await drill.env.client.workflow.getHandle(id).describe();
          if (status.name !== 'RUNNING') {
            expect(status.name, id).toBe('COMPLETED');
            break;
          }
          if (Date.now() > deadline + 120_000) throw new Error(`${id} is still running\n${context()}`);
          await sleep(500);
        }
        statuses.set(id, await incidents.status(id));
      }

      // Resolved, each by its one rollback, and the sandbox's services are up again.
      for (const [id, status] of statuses) {
        expect([status.phase, status.resolution, status.diagnosis?.category], id).toEqual(['resolved', 'mitigated', 'bad-rollout']);
        expect(
          status.actions.filter((a) => a.appliedAt).map((a) => a.action.kind),
          id,
        ).toEqual(['rollout-undo']);
      }
      for (const name of sandbox.serviceNames) expect(sandbox.isRecovered(name), name).toBe(true);

      // Each change reached the cluster exactly once: one real write per applied change's key, none twice, none unkeyed.
      const applied: AppliedChange[] = [...statuses.values()].flatMap((s) =>
        s.actions.filter((a) => a.appliedAt).map((a) => ({ idempotencyKey: a.idempotencyKey, command: a.command })),
      );
      const writes = checkWrites(sandbox.audit(), applied);
      expect(writes).toMatchObject({ applied: services, duplicates: [], missing: [], unkeyed: [] });
      // The kill came in the middle of the storm.
      expect(writesAtKill).toBeLessThan(services);

      // The killed worker had taken part: some of the incidents' events were recorded from it.
      const identities = new Set<string>();
      for (const service of refs) {
        const history = await drill.env.client.workflow.getHandle(incidentWorkflowId(service)).fetchHistory();
        for (const e of history.events ?? []) {
          const identity = e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
          if (identity) identities.add(identity);
        }
      }
      expect([...identities]).toEqual(expect.arrayContaining([first.identity, second.identity]));

      // And it all ran on PostgreSQL: the incidents are rows of the server's executions and their histories its nodes.
      const ids = refs.map((s) => `'${incidentWorkflowId(s)}'`).join(',');
      const executions = await cluster.sql('temporal', `SELECT count(DISTINCT workflow_id) FROM executions WHERE workflow_id IN (${ids})`);
      expect(Number(executions.trim())).toBe(services);
      expect(Number((await cluster.sql('temporal', 'SELECT count(*) FROM history_node')).trim())).toBeGreaterThan(services);
    },
  );
});
