// Benchmark: many concurrent incidents through to resolved. A sandbox with N
// copies of the service, every one in the bad-rollout scenario; one alert per
// service (N incidents at once); the rollback auto-approved by policy
// (the worker's INCIDENT_AUTO_APPROVE=default=rollout-undo) so no person is needed, and the
// monitor shortened (30 s, a sample every 5 s, as `npm start --monitor` does).
// Run on one worker process, then on two (same task queue), each run on a fresh
// sandbox. Prints, per run: incidents resolved, alert→mitigation p50/p99 (the
// alert sent → the applyMutation activity completed, from each history),
// alert→resolved p50/p99, workflow task latency p50/p99 (WorkflowTaskScheduled
// → Started, over every task of every incident), the workers' peak RSS
// (VmHWM), and events per incident. Asserts nothing.
//   npm run bench -- incidents [--incidents 200] [--workers 1|2|1,2] [--monitor 30s] [--address HOST:PORT] [--cpu-prof DIR] [--worker-heap MiB]
// --cpu-prof writes each worker's V8 CPU profile into DIR when it stops (open it in Chrome's DevTools).
// --worker-heap MiB caps each worker's V8 old space (--max-old-space-size), as a container's memory limit would.
// Without --address it starts the Temporal dev server (SQLite) itself; with it,
// the server there must have the incident search attributes registered.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../control-plane/components.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadClientConfig } from '../client/config.js';
import { Incidents } from '../client/incidents.js';
import { sampleInterval } from '../local-stack/start.js';
import { investigationActivities } from '../local-stack/gameday/chaos.js';
import { startSandbox } from '../sandbox/index.js';
import type { ServiceRef } from '../workflows/domain.js';
import type { IncidentOutcome } from '../workflows/records.js';
import { devServerEnv, repoRoot } from '../test/helpers/temporal.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const { values } = parseArgs({
  options: {
    incidents: { type: 'string', default: '200' },
    workers: { type: 'string', default: '1,2' },
    monitor: { type: 'string', default: '30s' },
    address: { type: 'string' },
    timeout: { type: 'string', default: '900' },
    'cpu-prof': { type: 'string' },
    'worker-heap': { type: 'string' },
  },
  allowPositionals: true,
});
const count = Math.max(1, Number(values.incidents) || 1);
const runs = values.workers
  .split(',')
  .map((w) => Number(w.trim()))
  .filter((w) => Number.isInteger(w) && w >= 1 && w <= 4);
if (runs.length === 0) {
  process.stderr.write(`--workers: expected 1, 2 or 1,2, not '${values.workers}'\n`);
  process.exit(2);
}
const timeoutMs = Math.max(60, Number(values.timeout) || 900) * 1000;

const quantile = (xs: number[], q: number): number | undefined => {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};
const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);
const millis = (ms: number | undefined) => (ms === undefined ? '-' : `${Math.round(ms)} ms`);
const epochMs = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds?.toString() ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** Peak resident set (VmHWM) of a process, in bytes, from /proc (Linux). */
function peakRss(pid: number | undefined): number {
  try {
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Worker {
  child: ChildProcess;
  output: () => string;
}

/** `node --import tsx worker/main.ts`, as local-stack/start.ts runs it, in a process group of its own. */
async function spawnWorker(env: NodeJS.ProcessEnv, name: string): Promise<Worker> {
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  const profile = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
  const heap = values['worker-heap'] ? [`--max-old-space-size=${Number(values['worker-heap'])}`] : [];
  const child = spawn(process.execPath, [...profile, ...heap, '--import', 'tsx', join(repoRoot, 'worker/main.ts')], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, WORKER_HTTP_HOST: '127.0.0.1', WORKER_HTTP_PORT: String(httpPort), WORKER_METRICS_PORT: String(metricsPort) },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`worker ${name} exited:\n${output.slice(-2000)}`);
    const ok = await fetch(`http://127.0.0.1:${httpPort}/health/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, output: () => output };
    if (Date.now() > deadline) throw new Error(`worker ${name} not ready after 180 s:\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopWorker(w: Worker): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
  try {
    if (w.child.pid) process.kill(-w.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killed = setTimeout(() => {
    try {
      if (w.child.pid) process.kill(-w.child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 15_000);
  await exited;
  clearTimeout(killed);
}

interface RunFigures {
  workers: number;
  resolved: number;
  mitigated: number;
  alertToMitigation: number[];
  alertToResolved: number[];
  taskLatency: number[];
  events: number[];
  peakRss: number;
  wallMs: number;
  /** Per milestone, the times from the alert sent (ms), one per incident that reached it. */
  milestones: Map<Milestone, number[]>;
}

// Where an incident's alert → mitigation goes, in the order it passes them (from its history).
const milestones = [
  ['started', 'workflow started'],
  ['investigated', 'investigation done (last read completed)'],
  ['lease-asked', 'change lease asked'],
  ['lease-granted', 'change lease granted (signal in)'],
  ['apply-started', 'applyMutation started'],
  ['applied', 'applyMutation completed'],
] as const;
type Milestone = (typeof milestones)[number][0];

// One connection for the whole bench, never closed before exit: result() long polls still
// waiting on incidents past the timeout would retry on a closed channel and throw.
async function run(connection: Connection, address: string, workerCount: number): Promise<RunFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-incidents-'));
  const cluster = `bench-${Date.now().toString(36)}-w${workerCount}`;
  const taskQueue = `bench-incidents-${cluster}`;
  const kubeconfig = join(dir, 'kubeconfig');
  process.stdout.write(`\n${workerCount} worker(s): sandbox with ${count} services in bad-rollout ... `);
  const sandbox = await startSandbox({ scenario: 'bad-rollout', services: count, kubeconfigPath: kubeconfig, timing: { rolloutMs: 500, crashLoopMs: 1_000 } });
  const workers: Worker[] = [];
  try {
    const workerEnv = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      KUBECONFIG: kubeconfig,
      DEFAULT_CLUSTER: cluster,
      REQUIRED_ENV: 'ANTHROPIC_API_KEY',
      DEPENDENCY_URLS: `anthropic=${sandbox.url}/sandbox/dependencies/anthropic/v1/health`,
      OUTBOX_DIR: join(dir, 'outbox'),
      REPORTS_DIR: join(dir, 'reports'),
      LOG_LEVEL: 'warn',
      // What is measured is how fast incidents reach their fix, not the governor's budget
      // (bench/governor.ts measures that): every incident's rollback may land in one window.
      GOVERNOR_MAX_CHANGES_PER_CLUSTER: String(count),
      GOVERNOR_MAX_CHANGES_PER_NAMESPACE: String(count),
      // The worker's approval policy: the rollback without a human.
      INCIDENT_AUTO_APPROVE: 'default=rollout-undo',
    };
    process.stdout.write('workers starting ... ');
    for (let i = 0; i < workerCount; i++) workers.push(await spawnWorker(workerEnv, `w${i + 1}`));
    const incidents = await Incidents.connect(
      loadClientConfig({
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        DEFAULT_CLUSTER: cluster,
        INCIDENT_MONITOR: values.monitor,
        INCIDENT_SAMPLE_INTERVAL: sampleInterval(values.monitor),
      }),
    );
    const client = new Client({ connection });
    const services: ServiceRef[] = sandbox.serviceNames.map((deployment) => ({ cluster, namespace: 'default', deployment }));
    process.stdout.write(`${count} alerts\n`);
    const start = performance.now();
    const sentAt = new Map<string, number>();
    const ids = await Promise.all(
      services.map(async (service) => {
        sentAt.set(service.deployment, Date.now());
        return incidents.open(service, {
          name: 'ServiceDown',
          severity: 'critical',
          summary: `${service.deployment} in ${service.namespace} is down`,
          labels: { namespace: service.namespace, deployment: service.deployment, cluster },
          startsAt: new Date().toISOString(),
          fingerprint: `bench-${service.deployment}`,
        });
      }),
    );
    const handles = ids.map((id) => client.workflow.getHandle(id));
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, ...workers.map((w) => peakRss(w.child.pid)));
    }, 500);
    let done = 0;
    const progress = setInterval(() => process.stdout.write(`  ${done}/${count} closed after ${((performance.now() - start) / 1000).toFixed(0)} s\n`), 30_000);
    const outcomes = await Promise.all(
      handles.map((h: WorkflowHandle) =>
        Promise.race([
          h.result() as Promise<IncidentOutcome>,
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref()),
        ]).then(
          (o) => {
            done++;
            return o;
          },
          () => {
            done++;
            return undefined;
          },
        ),
      ),
    );
    const wallMs = performance.now() - start;
    clearInterval(progress);
    clearInterval(sampler);
    peak = Math.max(peak, ...workers.map((w) => peakRss(w.child.pid)));

    const figures: RunFigures = {
      workers: workerCount,
      resolved: outcomes.filter((o) => o !== undefined).length,
      mitigated: outcomes.filter((o) => o?.resolution === 'mitigated').length,
      alertToMitigation: [],
      alertToResolved: [],
      taskLatency: [],
      events: [],
      peakRss: peak,
      wallMs,
      milestones: new Map(milestones.map(([m]) => [m, []])),
    };
    const reach = (m: Milestone, at: number | undefined) => {
      if (at !== undefined) figures.milestones.get(m)?.push(at);
    };
    for (const [i, h] of handles.entries()) {
      const events = (await h.fetchHistory()).events ?? [];
      const sent = sentAt.get(services[i]?.deployment ?? '') ?? 0;
      figures.events.push(events.length);
      const scheduled = new Map<string, number>();
      const applies = new Set<string>();
      const reads = new Set<string>();
      let mitigatedAt: number | undefined;
      let investigatedAt: number | undefined;
      let leaseAskedAt: number | undefined;
      let grantedAt: number | undefined;
      let applyStartedAt: number | undefined;
      for (const e of events) {
        const id = e.eventId?.toString() ?? '';
        if (e.workflowTaskScheduledEventAttributes) scheduled.set(id, epochMs(e.eventTime));
        const started = e.workflowTaskStartedEventAttributes;
        if (started) {
          const at = scheduled.get(started.scheduledEventId?.toString() ?? '');
          if (at !== undefined) figures.taskLatency.push(epochMs(e.eventTime) - at);
        }
        const at = epochMs(e.eventTime);
        const activity = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
        if (activity === 'applyMutation') applies.add(id);
        if (investigationActivities.has(activity) && mitigatedAt === undefined) reads.add(id);
        if (activity === 'requestChangeLease') leaseAskedAt ??= at;
        if (e.workflowExecutionSignaledEventAttributes?.signalName === 'leaseAnswer' && applyStartedAt === undefined) grantedAt = at;
        const startedActivity = e.activityTaskStartedEventAttributes;
        if (startedActivity && applies.has(startedActivity.scheduledEventId?.toString() ?? '')) applyStartedAt ??= at;
        const completed = e.activityTaskCompletedEventAttributes;
        if (completed && reads.has(completed.scheduledEventId?.toString() ?? '') && leaseAskedAt === undefined) investigatedAt = at;
        if (completed && applies.has(completed.scheduledEventId?.toString() ?? '')) mitigatedAt ??= at;
      }
      const first = events[0];
      reach('started', first ? epochMs(first.eventTime) - sent : undefined);
      reach('investigated', investigatedAt === undefined ? undefined : investigatedAt - sent);
      reach('lease-asked', leaseAskedAt === undefined ? undefined : leaseAskedAt - sent);
      reach('lease-granted', grantedAt === undefined ? undefined : grantedAt - sent);
      reach('apply-started', applyStartedAt === undefined ? undefined : applyStartedAt - sent);
      reach('applied', mitigatedAt === undefined ? undefined : mitigatedAt - sent);
      if (mitigatedAt !== undefined) figures.alertToMitigation.push(mitigatedAt - sent);
      const closed = events.at(-1);
      if (closed?.workflowExecutionCompletedEventAttributes) figures.alertToResolved.push(epochMs(closed.eventTime) - sent);
    }
    // The follow-up children outlive their incidents: end them, so a shared server keeps no bench work.
    const followUps = outcomes.flatMap((o) => (o ? [o.postIncidentWorkflowId] : []));
    await Promise.all(
      followUps.map((id) =>
        client.workflow
          .getHandle(id)
          .terminate('bench over')
          .catch(() => undefined),
      ),
    );
    await incidents.close();
    return figures;
  } finally {
    await Promise.all(workers.map(stopWorker));
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(): void {
  const line = (label: string, cells: string[]) => process.stdout.write(`${label.padEnd(44)}${cells.map((c) => c.padStart(16)).join('')}\n`);
  process.stdout.write(
    `\n${count} concurrent incidents (bad-rollout, rollback auto-approved, monitor ${values.monitor}) on ${values.address ? values.address : 'the dev server'}\n\n`,
  );
  line(
    '',
    results.map((r) => `${r.workers} worker${r.workers > 1 ? 's' : ''}`),
  );
  line(
    'incidents resolved',
    results.map((r) => `${r.resolved}/${count}`),
  );
  line(
    '  of them mitigated (our rollback)',
    results.map((r) => String(r.mitigated)),
  );
  line(
    'rollback applied (applyMutation completed)',
    results.map((r) => `${r.alertToMitigation.length}/${count}`),
  );
  line(
    'alert → mitigation applied p50',
    results.map((r) => secs(quantile(r.alertToMitigation, 0.5))),
  );
  line(
    'alert → mitigation applied p99',
    results.map((r) => secs(quantile(r.alertToMitigation, 0.99))),
  );
  for (const [m, label] of milestones) {
    line(
      `  alert → ${label} p50 / p99`,
      results.map((r) => {
        const xs = r.milestones.get(m) ?? [];
        return `${secs(quantile(xs, 0.5))} / ${secs(quantile(xs, 0.99))}`;
      }),
    );
  }
  line(
    'alert → resolved p50',
    results.map((r) => secs(quantile(r.alertToResolved, 0.5))),
  );
  line(
    'alert → resolved p99',
    results.map((r) => secs(quantile(r.alertToResolved, 0.99))),
  );
  line(
    'workflow task latency (sched→started) p50',
    results.map((r) => millis(quantile(r.taskLatency, 0.5))),
  );
  line(
    'workflow task latency (sched→started) p99',
    results.map((r) => millis(quantile(r.taskLatency, 0.99))),
  );
  line(
    'worker peak RSS (largest worker, VmHWM)',
    results.map((r) => `${Math.round(r.peakRss / 2 ** 20)} MiB`),
  );
  line(
    'events per incident p50 / max',
    results.map((r) => `${quantile(r.events, 0.5) ?? '-'} / ${Math.max(0, ...r.events)}`),
  );
  line(
    'wall time, alerts sent → all closed',
    results.map((r) => secs(r.wallMs)),
  );
}

let env: TestWorkflowEnvironment | undefined;
const results: RunFigures[] = [];
try {
  let address = values.address;
  if (!address) {
    process.stdout.write('starting the Temporal dev server ... ');
    env = await devServerEnv();
    address = env.address;
    process.stdout.write(`${address}\n`);
  }
  const connection = await Connection.connect({ address });
  for (const workers of runs) results.push(await run(connection, address, workers));
  report();
} finally {
  await env?.teardown();
}
process.exit(0);
