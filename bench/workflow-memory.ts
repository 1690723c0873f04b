// Benchmark: the worker memory one open incident costs, with zod and the schema
// modules shared by all workflows (worker/shared-workflow-modules.ts, as shipped)
// and with each workflow evaluating its own copy (the SDK's default). N incidents
// (bad-rollout, nothing auto-approved) are opened on the time-skipping server over
// the fake fleet and left waiting for approval, all cached on one worker that runs
// its workflows on the main thread (debugMode) so that V8's heap holds them; the
// heap is read after a full GC before and after. Each variant runs in a process of
// its own. Prints heap per incident; asserts nothing.
//   npm run bench -- workflow-memory [--incidents 50]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { incidentWorkflowsPath, timeSkippingEnv, uniqueId } from '../test/helpers/temporal.js';
import { FakeCluster, FakeFleet } from '../test/fixtures/fake-cluster.js';
import { incidentInput, openIncident, waitForStatus, type IncidentHandle } from '../test/fixtures/incident-driver.js';
import { TASK_QUEUE } from '../workflows/messages.js';
import { sharedModulesBundlerOptions } from '../worker/shared-workflow-modules.js';

const { values } = parseArgs({
  options: { incidents: { type: 'string', default: '50' }, variant: { type: 'string' } },
  allowPositionals: true,
});
const count = Math.max(1, Number(values.incidents) || 50);
const MiB = 1024 * 1024;

if (values.variant === undefined) {
  const variants = ['shared', 'per-workflow'] as const;
  const rows = variants.map((variant) => {
    const run = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--variant', variant, '--incidents', String(count)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    return { variant, result: run.status === 0 ? last : `failed (exit ${run.status}): ${last}` };
  });
  console.log(`\n${count} open incidents (awaiting approval) on one worker, time-skipping server, fake fleet\n`);
  console.log(`${'zod and schema modules'.padEnd(26)} heap per incident, heap for all`);
  for (const r of rows) console.log(`${r.variant.padEnd(26)} ${r.result}`);
} else {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const env = await timeSkippingEnv();
  const fleet = new FakeFleet();
  const shared = values.variant === 'shared' ? await sharedModulesBundlerOptions() : {};
  const bundle = await bundleWorkflowCode({ workflowsPath: incidentWorkflowsPath, logger: new DefaultLogger('ERROR'), ...shared });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: bundle,
    activities: fleet.activities,
    debugMode: true,
    maxCachedWorkflows: count + 10,
  });
  try {
    await worker.runUntil(async () => {
      const open = async (n: number): Promise<IncidentHandle[]> => {
        const at = await env.currentTimeMs();
        const handles: IncidentHandle[] = [];
        for (let i = 0; i < n; i++) {
          const service = { cluster: 'bench', namespace: 'default', deployment: uniqueId('memory') };
          fleet.add(new FakeCluster(service, 'bad-rollout', at));
          handles.push(await openIncident(env.client, incidentInput(service, new Date(at).toISOString())));
        }
        await Promise.all(handles.map((h) => waitForStatus(h, (s) => s.pendingApproval !== undefined, 'an approval request', 300_000)));
        return handles;
      };
      // One first, so that the bundle, the SDK and the fleet are warm before the heap is read.
      await open(1);
      const before = heap();
      await open(count);
      const after = heap();
      console.log(`${((after - before) / count / MiB).toFixed(2)} MiB, ${((after - before) / MiB).toFixed(0)} MiB`);
    });
  } finally {
    await env.teardown();
  }
}
