// Benchmark: what the Temporal server and one worker on this machine can carry with
// no work in it. N workflows at once, each shaped like an incident up to its fix
// (a fan-out of 7 reads, then 7 steps one after another, no I/O in any activity),
// on the dev server (SQLite) or a server at --address (npm run temporal:postgres).
// Prints workflows/s, history events/s, start → done p50/p99 and workflow task
// latency p50/p99: the floor under bench/incidents.ts's alert → mitigation, which
// needs about as many events per incident and does real reads besides. Asserts nothing.
//   npm run bench -- server-ceiling [--workflows 200] [--fan-out 7] [--chain 7] [--address HOST:PORT]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { emptyIncident } from '../test/fixtures/proof-workflows.js';
import { devServerEnv, uniqueId, workflowBundle } from '../test/helpers/temporal.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const { values } = parseArgs({
  options: {
    workflows: { type: 'string', default: '200' },
    'fan-out': { type: 'string', default: '7' },
    chain: { type: 'string', default: '7' },
    address: { type: 'string' },
  },
});
const count = Math.max(1, Number(values.workflows) || 1);
const fanOut = Math.max(0, Number(values['fan-out']) || 0);
const chain = Math.max(0, Number(values.chain) || 0);

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? NaN;
const epochMs = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds?.toString() ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

let env: TestWorkflowEnvironment | undefined;
try {
  let address = values.address;
  if (!address) {
    env = await devServerEnv();
    address = env.address;
  }
  const taskQueue = uniqueId('ceiling');
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle: await workflowBundle(new URL('../test/fixtures/proof-workflows.ts', import.meta.url).pathname),
    activities: { step: async (i: number) => i },
  });
  const running = worker.run();
  process.stdout.write(`${count} workflows (fan-out ${fanOut}, then ${chain} steps) on ${values.address ?? 'the dev server'} ...\n`);
  const start = performance.now();
  const handles = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      client.workflow.start<typeof emptyIncident>('emptyIncident', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [fanOut, chain] }),
    ),
  );
  await Promise.all(handles.map((h) => h.result()));
  const wallMs = performance.now() - start;
  worker.shutdown();
  await running;
  await native.close();

  const durations: number[] = [];
  const taskLatency: number[] = [];
  let events = 0;
  for (const h of handles) {
    const history = (await h.fetchHistory()).events ?? [];
    events += history.length;
    durations.push(epochMs(history.at(-1)?.eventTime) - epochMs(history[0]?.eventTime));
    const scheduled = new Map<string, number>();
    for (const e of history) {
      if (e.workflowTaskScheduledEventAttributes) scheduled.set(e.eventId?.toString() ?? '', epochMs(e.eventTime));
      const at = scheduled.get(e.workflowTaskStartedEventAttributes?.scheduledEventId?.toString() ?? '');
      if (at !== undefined) taskLatency.push(epochMs(e.eventTime) - at);
    }
  }
  await connection.close();
  const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(42)}${value}\n`);
  line('wall time, all started → all done', `${(wallMs / 1000).toFixed(2)} s`);
  line('workflows/s', (count / (wallMs / 1000)).toFixed(1));
  line('history events (per workflow)', `${events} (${Math.round(events / count)})`);
  line('history events/s', Math.round(events / (wallMs / 1000)).toString());
  line('start → done p50 / p99', `${(quantile(durations, 0.5) / 1000).toFixed(2)} / ${(quantile(durations, 0.99) / 1000).toFixed(2)} s`);
  line('workflow task latency p50 / p99', `${Math.round(quantile(taskLatency, 0.5))} / ${Math.round(quantile(taskLatency, 0.99))} ms`);
} finally {
  await env?.teardown();
}
process.exit(0);
