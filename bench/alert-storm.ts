// Benchmark: an alert storm through the alert receiver as users run it (its own
// process, over HTTP), with a worker (its own process) on a sandbox of S
// services so that the incidents investigate for real. Sends N Alertmanager v4
// webhooks for S services: first firings, redeliveries of the same alert (an HA
// pair, group_interval repeats), grouped deliveries (two alerts of a service, and
// one alert of five services in one webhook), resolves, re-fires (a new
// startsAt) and a last resolve, each step for every service before the next,
// at a fixed concurrency. Prints incidents created (from Temporal's visibility;
// must equal S), notifications/s, the receiver's p50/p99 as the sender saw it,
// non-2xx answers and the worker's RSS. Asserts nothing.
//   npm run bench -- alert-storm [--notifications 10000] [--services 100] [--concurrency 50] [--address HOST:PORT] [--spool] [--no-worker]
// --spool runs the receiver with RECEIVER_SPOOL_DIR (a 200 once on disk; Temporal behind it) and
// also prints how long the spool took to hand everything to Temporal after the last answer.
// --no-worker starts no worker: the incidents open in Temporal and wait, so the receiver and
// Temporal do not share the cores with 100 investigations (the receiver as its own pod would).
// Without --address it starts the Temporal dev server itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { freePort } from '../control-plane/components.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { httpAnswers, waitFor } from '../local-stack/processes.js';
import { devServerEnv, repoRoot } from '../test/helpers/temporal.js';
import type { Alert, Webhook } from '../client/receiver/alertmanager.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const { values } = parseArgs({
  options: {
    notifications: { type: 'string', default: '10000' },
    services: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '50' },
    address: { type: 'string' },
    spool: { type: 'boolean', default: false },
    'no-worker': { type: 'boolean', default: false },
  },
});
const total = Number(values.notifications);
const serviceCount = Number(values.services);
const concurrency = Number(values.concurrency);
/** The sandbox's service; with N services, its copies -001 to -N. */
const app = 'agent-native-framework';
/** A cluster name of this run's own: on a shared server (--address), an earlier storm's incidents are still open under 'local'. */
const cluster = `storm-${Date.now().toString(36)}`;
const say = (line: string) => process.stdout.write(`${line}\n`);

/** CPU seconds (user + system) of this process's children by name: where the storm's time went. */
function childCpu(): Map<string, number> {
  const ticks = 100; // USER_HZ on Linux
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    const child = children.find((c) => c.pid === Number(pid));
    const name = child ? (names.get(child) ?? 'node') : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticks);
  }
  return out;
}

/** How busy the machine was (other work slows Temporal's answers): load average and CPU pressure (PSI, some avg60). */
function machineLoad(): string {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  let pressure = 'n/a';
  try {
    pressure = `${/avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? 'n/a'}%`;
  } catch {
    // No PSI on this kernel.
  }
  return `load average ${load}, CPU pressure ${pressure}`;
}

function rssMb(pid: number | undefined): { rss: number; peak: number } {
  const status = pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

// --- The storm: what Alertmanager sends, step by step ----------------------------------

const base = Date.parse('2026-11-30T12:00:00Z');
const iso = (offsetS: number) => new Date(base + offsetS * 1000).toISOString();

function alertOf(deployment: string, alertname: string, status: 'firing' | 'resolved', startsAt: string, endsAt?: string): Alert {
  const labels = { alertname, cluster, namespace: 'default', deployment, severity: alertname === 'ServiceDown' ? 'critical' : 'warning' };
  const fingerprint = createHash('sha256').update(JSON.stringify(labels)).digest('hex').slice(0, 16);
  return {
    status,
    labels,
    annotations: { summary: `${deployment}: ${alertname}` },
    startsAt,
    endsAt: endsAt ?? '0001-01-01T00:00:00Z',
    generatorURL: 'http://localhost:9090/graph',
    fingerprint,
  };
}

function webhookOf(groupKey: string, alerts: Alert[]): Webhook {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status,
    receiver: 'incident-response',
    groupLabels: {},
    commonLabels: { cluster, namespace: 'default' },
    commonAnnotations: {},
    externalURL: 'http://localhost:9093',
    alerts,
  };
}

type Kind = 'first firing' | 'redelivery' | 'grouped (2 alerts)' | 'grouped (5 services)' | 'resolve' | 're-fire' | 'resolve all';

/** One service's alerts at a step, and what kind of delivery the step is. */
interface Step {
  kind: Kind;
  /** Share of the per-service notifications (the first delivery of a step counts once, the rest repeat it). */
  weight: number;
  alerts: (deployment: string) => Alert[];
  /** Grouped across services: one webhook carries this step's alerts of 5 services. */
  acrossServices?: boolean;
}

const down = (d: string, s: 'firing' | 'resolved', at: number, end?: number) => alertOf(d, 'ServiceDown', s, iso(at), end === undefined ? undefined : iso(end));
const latency = (d: string, s: 'firing' | 'resolved', end?: number) => alertOf(d, 'HighLatency', s, iso(30), end === undefined ? undefined : iso(end));
const steps: Step[] = [
  { kind: 'first firing', weight: 0.25, alerts: (d) => [down(d, 'firing', 0)] },
  { kind: 'grouped (5 services)', weight: 0.05, alerts: (d) => [down(d, 'firing', 0)], acrossServices: true },
  { kind: 'grouped (2 alerts)', weight: 0.2, alerts: (d) => [down(d, 'firing', 0), latency(d, 'firing')] },
  { kind: 'resolve', weight: 0.15, alerts: (d) => [down(d, 'resolved', 0, 300), latency(d, 'firing')] },
  { kind: 're-fire', weight: 0.2, alerts: (d) => [down(d, 'firing', 600), latency(d, 'firing')] },
  { kind: 'resolve all', weight: 0.15, alerts: (d) => [down(d, 'resolved', 600, 900), latency(d, 'resolved', 900)] },
];

interface Notification {
  kind: Kind;
  body: string;
}

/** Step-major: every service's deliveries of a step, interleaved, before the next step; the first of each is new, the rest redeliveries. */
function storm(services: string[], perService: number): Notification[] {
  const out: Notification[] = [];
  let budget = perService;
  for (const [i, step] of steps.entries()) {
    const count = i === steps.length - 1 ? budget : Math.max(1, Math.round(perService * step.weight));
    budget -= count;
    for (let n = 0; n < count; n++) {
      if (step.acrossServices) {
        // One webhook per 5 services, sent 5 times as often per group, so each service still counts `count`.
        for (let g = 0; g < services.length; g += 5) {
          const group = services.slice(g, g + 5);
          for (let k = 0; k < group.length; k++) {
            out.push({
              kind: n === 0 && k === 0 ? step.kind : 'redelivery',
              body: JSON.stringify(webhookOf(`{}:{alertname="ServiceDown", group="${g}"}`, group.flatMap(step.alerts))),
            });
          }
        }
        continue;
      }
      for (const d of services) {
        out.push({ kind: n === 0 ? step.kind : 'redelivery', body: JSON.stringify(webhookOf(`{}:{deployment="${d}"}`, step.alerts(d))) });
      }
    }
  }
  return out;
}

// --- The stack: Temporal, a sandbox of S services, the worker and the receiver ------------

const work = mkdtempSync(join(tmpdir(), 'alert-storm-'));
const children: ChildProcess[] = [];
const names = new Map<ChildProcess, string>();
let env: TestWorkflowEnvironment | undefined;

function start(name: string, script: string, vars: Record<string, string>, args: string[] = []): ChildProcess {
  const log = openSync(join(work, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...vars },
    stdio: ['ignore', log, log],
  });
  children.push(child);
  names.set(child, name);
  return child;
}

async function main(): Promise<void> {
  let address = values.address;
  if (!address) {
    say('starting the Temporal dev server...');
    env = await devServerEnv();
    address = env.address;
  }
  // The sandbox in its own process, so that serving the investigations does not slow the sender down.
  const [sandboxPort, workerPort, receiverPort] = [await freePort(), await freePort(), await freePort()];
  start('sandbox', 'sandbox/cli.ts', {}, ['--services', String(serviceCount), '--port', String(sandboxPort), '--kubeconfig', join(work, 'kubeconfig')]);
  await waitFor(() => httpAnswers(`http://127.0.0.1:${sandboxPort}/readyz`), 'the sandbox', 60_000);
  const services = Array.from({ length: serviceCount }, (_, i) => (serviceCount === 1 ? app : `${app}-${String(i + 1).padStart(3, '0')}`));
  const token = 'alert-storm-bench-token-0123456789';
  writeFileSync(join(work, 'token'), token, { mode: 0o600 });
  const common = { TEMPORAL_ADDRESS: address, DEFAULT_CLUSTER: cluster, WORKER_BUILD_ID: '' };
  const worker = values['no-worker']
    ? undefined
    : start('worker', 'worker/main.ts', {
        ...common,
        KUBECONFIG: join(work, 'kubeconfig'),
        PROBE_VIA: 'api-proxy',
        OUTBOX_DIR: join(work, 'outbox'),
        REPORTS_DIR: join(work, 'reports'),
        WORKER_HTTP_HOST: '127.0.0.1',
        WORKER_HTTP_PORT: String(workerPort),
        WORKER_METRICS_PORT: String(await freePort()),
      });
  start('receiver', 'client/receiver/main.ts', {
    ...common,
    RECEIVER_HOST: '127.0.0.1',
    RECEIVER_PORT: String(receiverPort),
    RECEIVER_TOKEN_FILE: join(work, 'token'),
    ...(values.spool ? { RECEIVER_SPOOL_DIR: join(work, 'spool') } : {}),
  });
  const receiverUrl = `http://127.0.0.1:${receiverPort}`;
  await waitFor(() => httpAnswers(`${receiverUrl}/health/ready`), 'the receiver', 60_000);
  if (worker) await waitFor(() => httpAnswers(`http://127.0.0.1:${workerPort}/health/ready`), 'the worker', 120_000);
  const rssBefore = worker ? rssMb(worker.pid) : undefined;

  const notifications = storm(services, Math.floor(total / services.length));
  say(
    `alert storm: ${notifications.length} notifications for ${services.length} services, ${concurrency} concurrent, Temporal at ${address}${values.address ? '' : ' (dev server)'}${values.spool ? ', receiver with a spool' : ''}`,
  );
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const post = (body: string): Promise<number> =>
    new Promise((resolve) => {
      const req = request(
        `${receiverUrl}/alerts/alertmanager`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const latencies: number[] = [];
  /** New information (the first delivery of a step) must wait for Temporal; a redelivery need not. */
  const byKind = { new: [] as number[], redelivery: [] as number[] };
  const codes = new Map<number, number>();
  let next = 0;
  const loadBefore = machineLoad();
  const cpuBefore = childCpu();
  const ownCpuBefore = process.cpuUsage();
  // On a server that already ran incidents (--address), only those this storm started count.
  const startedAt = new Date(Date.now() - 1_000).toISOString();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < notifications.length; i = next++) {
        const t = performance.now();
        const code = await post(notifications[i]?.body ?? '');
        const ms = performance.now() - t;
        latencies.push(ms);
        byKind[notifications[i]?.kind === 'redelivery' ? 'redelivery' : 'new'].push(ms);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const ownCpu = process.cpuUsage(ownCpuBefore);
  const loadAfter = machineLoad();
  const cpu = [...childCpu()].map(([name, s]) => `${name} ${(s - (cpuBefore.get(name) ?? 0)).toFixed(1)}`);
  cpu.push(`sender ${((ownCpu.user + ownCpu.system) / 1e6).toFixed(1)}`);
  agent.destroy();

  // With a spool, the storm is in Temporal once the spool is empty.
  let drainSeconds: number | undefined;
  if (values.spool) {
    const pendingNow = async () => Number(/^incident_receiver_spool_pending (\d+)/m.exec(await (await fetch(`${receiverUrl}/metrics`)).text())?.[1] ?? NaN);
    while ((await pendingNow()) > 0) await new Promise((r) => setTimeout(r, 100));
    drainSeconds = (performance.now() - started) / 1000 - seconds;
  }
  // What the receiver sent to Temporal for them, from its /metrics (absent before it folded and deduplicated).
  const metrics = await (await fetch(`${receiverUrl}/metrics`)).text();
  const signals = [...metrics.matchAll(/^incident_receiver_signals\{kind="(\w+)"\} (\d+)/gm)].map(([, kind, n]) => `${kind} ${n}`);

  const client = new Client({ connection: await Connection.connect({ address }) });
  // Visibility is eventually consistent: wait until two reads agree.
  let ids = new Set<string>();
  let runs = 0;
  for (let tries = 0; tries < 20; tries++) {
    const seen = new Set<string>(); // workflow IDs: one per service
    let n = 0;
    for await (const wf of client.workflow.list({ query: `WorkflowType = "incidentWorkflow" AND StartTime >= "${startedAt}"` })) {
      seen.add(wf.workflowId);
      n++;
    }
    if (n === runs && seen.size === ids.size && n > 0) break;
    ids = seen;
    runs = n;
    await new Promise((r) => setTimeout(r, 500));
  }
  await client.connection.close();
  const rssAfter = worker ? rssMb(worker.pid) : undefined;

  const percentile = (xs: number[], p: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  };
  const pct = (p: number) => percentile(latencies, p);
  const split = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`;
  const non2xx = [...codes].filter(([c]) => c < 200 || c > 299).reduce((n, [, k]) => n + k, 0);
  const kinds = new Map<Kind, number>();
  for (const n of notifications) kinds.set(n.kind, (kinds.get(n.kind) ?? 0) + 1);
  const line = (label: string, value: string) => say(`  ${label.padEnd(34)} ${value}`);
  line('mix', [...kinds].map(([k, n]) => `${k} ${n}`).join(', '));
  line('incidents created (services)', `${ids.size} workflows, ${runs} runs (${services.length} services)`);
  line('notifications/s', `${Math.round(notifications.length / seconds)} (${seconds.toFixed(1)} s)`);
  line('receiver latency', `p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${pct(100).toFixed(1)} ms`);
  line('  new alerts / redeliveries', `${split(byKind.new)} / ${split(byKind.redelivery)}`);
  line('non-2xx answers', `${non2xx} (${[...codes].map(([c, n]) => `${c === 0 ? 'no answer' : c}: ${n}`).join(', ')})`);
  if (drainSeconds !== undefined) line('spool drained after the last answer', `${drainSeconds.toFixed(1)} s`);
  line('receiver signals', signals.length > 0 ? signals.join(', ') : 'one per service of each delivery (no figures in /metrics)');
  line('CPU seconds during the storm', cpu.join(', '));
  line('machine (before / after)', `${loadBefore} / ${loadAfter}`);
  line(
    'worker RSS',
    rssBefore && rssAfter
      ? `${rssBefore.rss} MB before, ${rssAfter.rss} MB after, peak ${rssAfter.peak} MB`
      : 'no worker (--no-worker): the incidents wait in Temporal',
  );
}

try {
  await main();
} finally {
  for (const child of children) {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
  }
  await env?.teardown();
  rmSync(work, { recursive: true, force: true });
}
