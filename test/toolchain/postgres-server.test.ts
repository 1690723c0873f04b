// Proof that the Temporal server on PostgreSQL (local-stack/temporal-postgres.ts)
// runs as the fleet tests and benchmarks need it: the incident search attributes
// answer a visibility query, it listens on 127.0.0.1 alone, stop() leaves no
// process behind, and a start on the same state dir finds what the last one
// stored (the schema is updated, not set up again; the namespace is reused).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgresTemporal, type PostgresTemporal } from '../../local-stack/temporal-postgres.js';
import type { markPhase } from '../fixtures/proof-workflows.js';
import { eventually, uniqueId, workflowBundle } from '../helpers/temporal.js';

const workflowsPath = new URL('../fixtures/proof-workflows.ts', import.meta.url).pathname;
const stateDir = mkdtempSync(join(tmpdir(), 'temporal-pg-proof-'));
let cluster: PostgresTemporal | undefined;

afterAll(async () => {
  await cluster?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** The local addresses the process listens on (TCP), from ss. */
function listeners(pid: number): string[] {
  const lines = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' }).split('\n');
  return lines.filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[3] ?? '');
}

const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function withClient<T>(address: string, use: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

describe('the Temporal server on PostgreSQL', () => {
  it(
    'finds a workflow by a custom search attribute, on loopback only, and again after a stop and a start on the same state dir',
    { timeout: 240_000 },
    async () => {
      cluster = await startPostgresTemporal({ stateDir });
      const first = cluster;
      const taskQueue = uniqueId('proof');
      const phase = uniqueId('phase');
      const workflowId = uniqueId('mark');
      const query = `IncidentPhase = "${phase}"`;
      const find = (client: Client) =>
        eventually(async () => {
          const ids: string[] = [];
          for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
          return ids.length > 0 ? ids : undefined;
        }, 'the visibility query to see the workflow');

      await withClient(first.address, async (client) => {
        const native = await NativeConnection.connect({ address: first.address });
        try {
          const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: await workflowBundle(workflowsPath) });
          await worker.runUntil(client.workflow.execute<typeof markPhase>('markPhase', { taskQueue, workflowId, args: [phase] }));
        } finally {
          await native.close();
        }
        expect(await find(client)).toEqual([workflowId]);
      });

      // Every listener of both processes is on 127.0.0.1.
      for (const pid of [first.pids.postgres, first.pids.temporal]) {
        const addresses = listeners(pid);
        expect(addresses.length, `pid ${pid}`).toBeGreaterThan(0);
        for (const a of addresses) expect(a, `pid ${pid}`).toMatch(/^127\.0\.0\.1:\d+$/);
      }

      await first.stop();
      cluster = undefined;
      expect([running(first.pids.temporal), running(first.pids.postgres)]).toEqual([false, false]);

      // The same state dir: the database, its schema, the namespace and the workflow are still there.
      cluster = await startPostgresTemporal({ stateDir });
      await withClient(cluster.address, async (client) => {
        expect(await find(client)).toEqual([workflowId]);
        expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
      });
    },
  );
});
