// Benchmark: a shared-dependency storm over N services (default 50) in one cluster and
// namespace, through the remediation governor, on the fake fleet's activities (no
// Kubernetes). Half the services are the dependency's direct victims (dependency-down:
// they page and hand over, nothing to change); the other half were scaled to zero by
// it and each needs an automatic change (scale, auto-approved). Prints pages sent,
// changes applied, the largest number of changes inside one window, waits, and
// refusals by reason; asserts nothing.
//   npm run bench -- governor [--services 50] [--budget 5] [--window 10m] [--address HOST:PORT]
// Without --address: the Java time-skipping server (workflow time skips; the 30-minute
// monitors take seconds). With --address (an already-running server, e.g. the dev server
// or the PostgreSQL-backed one): real time, so the window defaults to 1m and the incidents'
// monitor to 2m with a sample every 10s.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { timeSkippingEnv, uniqueId, workflowBundle } from '../test/helpers/temporal.js';
import { FakeCluster, FakeFleet, type Scenario } from '../test/fixtures/fake-cluster.js';
import { incidentInput, openIncident, type IncidentHandle } from '../test/fixtures/incident-driver.js';
import { TASK_QUEUE, governorStatusQuery, governorWorkflowId, statusQuery, type IncidentInput } from '../workflows/messages.js';
import { parseDuration } from '../workflows/units.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '50' },
    budget: { type: 'string', default: '5' },
    window: { type: 'string' },
    address: { type: 'string' },
  },
});
const services = Number(values.services);
const budget = Number(values.budget);
const real = values.address !== undefined;
const window = parseDuration(values.window ?? (real ? '1m' : '10m')) ?? 600_000;

Runtime.install({ logger: new DefaultLogger('ERROR') });
const policy = { maxChangesPerCluster: budget, maxChangesPerNamespace: budget, window, maxWait: 20 * window, leaseTtl: 30 * 60_000 };
const fleet = new FakeFleet(policy);

const env = real ? undefined : await timeSkippingEnv();
const nativeConnection = env ? env.nativeConnection : await NativeConnection.connect({ address: values.address ?? '' });
const client = env ? env.client : new Client({ connection: await Connection.connect({ address: values.address ?? '' }) });
const now = async (): Promise<number> => (env ? env.currentTimeMs() : Date.now());
const worker = await Worker.create({
  connection: nativeConnection,
  taskQueue: TASK_QUEUE,
  workflowBundle: await workflowBundle(new URL('../workflows/index.ts', import.meta.url).pathname),
  activities: fleet.activities,
});

try {
  await worker.runUntil(async () => {
    const cluster = uniqueId('storm');
    const start = performance.now();
    const opened: { handle: IncidentHandle; fake: FakeCluster }[] = [];
    const overrides: Partial<IncidentInput> = real ? { durations: { monitor: 2 * 60_000, sampleInterval: 10_000 } } : {};
    const at = await now();
    for (let i = 0; i < services; i++) {
      const scenario: Scenario = i % 2 === 0 ? 'dependency-down' : 'scaled-to-zero';
      const service = { cluster, namespace: 'default', deployment: `svc-${i}-${scenario}` };
      // The worker's approval policy: scale without a human.
      const fake = fleet.add(new FakeCluster(service, scenario, at).withPolicy({ autoApprove: ['scale'] }));
      opened.push({ fake, handle: await openIncident(client, incidentInput(service, new Date(at).toISOString(), overrides)) });
    }
    // Every change waits for its turn: enough time for all of them at `budget` per window, plus the monitors.
    const enough = Math.ceil(services / 2 / budget + 1) * window + 40 * 60_000;
    if (env) await env.sleep(enough);
    const changers = opened.filter((o) => o.fake.world.podLabel.endsWith('scaled-to-zero'));
    const deadline = Date.now() + (real ? enough + 60_000 : 120_000);
    while (changers.some((c) => c.fake.mutations.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1_000));

    const applies = opened.flatMap((o) => o.fake.mutations.map((m) => m.at)).sort((a, b) => a - b);
    const most = Math.max(0, ...applies.map((t) => applies.filter((a) => a >= t && a < t + window).length));
    const pages = opened.reduce((n, o) => n + o.fake.pages.filter((p) => p.notification.event === 'trigger').length, 0);
    const statuses = await Promise.all(opened.map((o) => o.handle.query(statusQuery)));
    const waited = statuses.filter((s) => s.timeline.some((e) => /waits for a change lease/.test(e.text))).length;
    const governor = await client.workflow.getHandle(governorWorkflowId(cluster)).query(governorStatusQuery);
    const line = (label: string, value: string | number): void => console.log(`${label.padEnd(48)} ${value}`);

    console.log(`\nshared-dependency storm over ${services} services (${env ? 'time-skipping server' : `server at ${values.address}`}, fake activities)\n`);
    line('budget', `${budget} changes per ${values.window ?? (real ? '1m' : '10m')} (cluster and namespace)`);
    line('pages sent (L1-L3 triggers)', pages);
    line('changes applied', `${applies.length} of ${changers.length} services needing one`);
    line('most leases granted inside one window', governor.stats.mostInOneWindow);
    // Applies trail their grants by the moment the answer and the apply take: a window of applies can hold one more.
    line('most changes applied inside one window', most);
    line('incidents that waited for a lease', waited);
    line('refusals by reason', JSON.stringify(governor.stats.refused));
    line('handed to people (cooldown)', governor.stats.handedToPeople);
    line('leases granted / released / expired', `${governor.stats.granted} / ${governor.stats.released} / ${governor.stats.expired}`);
    line('first to last change (workflow time)', `${Math.round(((applies.at(-1) ?? 0) - (applies[0] ?? 0)) / 60_000)} min`);
    line('wall time', `${Math.round(performance.now() - start)} ms`);
    await Promise.all(opened.map((o) => o.handle.terminate('bench over').catch(() => undefined)));
    await client.workflow
      .getHandle(governorWorkflowId(cluster))
      .terminate('bench over')
      .catch(() => undefined);
  });
} finally {
  await env?.teardown();
}
