// Benchmark: how long the alert receiver takes to answer 503 when Temporal is
// unreachable: a webhook (Alertmanager retries it) and /health/ready (a probe).
// Two outages: nothing listens on Temporal's port, and a dev server the receiver
// was connected to has stopped. Also, for comparison, a receiver on Temporal
// that is up. Prints figures; asserts nothing (target: the 503 within a few
// seconds, not the SDK's ~20 s of retries).
//   npx tsx bench/receiver-outage.ts [--samples N] [--call-timeout-ms MS]
//   (or: npm run bench -- receiver-outage)
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { pino } from 'pino';
import { serviceDownWebhook } from '../client/alerts/webhook.js';
import { ClientEnvSchema } from '../client/config.js';
import { Incidents } from '../client/incidents.js';
import { buildReceiver } from '../client/receiver/server.js';
import { devServerEnv, uniqueId } from '../test/helpers/temporal.js';
import { deadPort } from '../test/helpers/processes.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const { values } = parseArgs({ options: { samples: { type: 'string', default: '5' }, 'call-timeout-ms': { type: 'string' } } });
const samples = Number(values.samples);
const callTimeoutMs = values['call-timeout-ms'] === undefined ? undefined : Number(values['call-timeout-ms']);
const token = 'bench-receiver-token-0123456789';
const config = ClientEnvSchema.parse({});

const ms = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `min ${sorted[0]?.toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`;
};

/** Times `samples` webhooks and readiness checks through a receiver over `client`; prints one line each. */
async function measure(label: string, client: Client): Promise<void> {
  const incidents = new Incidents(client, config, callTimeoutMs === undefined ? {} : { callTimeoutMs });
  const app = buildReceiver({ token, defaultCluster: 'local', clusters: ['local'], gateway: incidents, log: pino({ level: 'silent' }) });
  const webhook: number[] = [];
  const ready: number[] = [];
  const codes = new Set<string>();
  for (let i = 0; i < samples; i++) {
    const body = serviceDownWebhook({ cluster: 'local', namespace: uniqueId('bench'), deployment: 'checkout' }, 'firing', new Date().toISOString());
    let t = performance.now();
    const res = await app.inject({ method: 'POST', url: '/alerts/alertmanager', headers: { authorization: `Bearer ${token}` }, payload: body });
    webhook.push(performance.now() - t);
    codes.add(`webhook ${res.statusCode}`);
    t = performance.now();
    const probe = await app.inject({ method: 'GET', url: '/health/ready' });
    ready.push(performance.now() - t);
    codes.add(`ready ${probe.statusCode}`);
  }
  process.stdout.write(`${label}\n  ${[...codes].join(', ')}\n  webhook:      ${ms(webhook)}\n  /health/ready: ${ms(ready)}\n`);
  await app.close();
  await incidents.close();
}

process.stdout.write(`receiver outage: ${samples} samples each, call deadline ${callTimeoutMs ?? 'default (3000)'} ms\n`);

const env = await devServerEnv();
await measure('Temporal up (dev server)', env.client);
const connection = await Connection.connect({ address: env.address });
await env.teardown();
await measure('Temporal stopped (the dev server the receiver was connected to)', new Client({ connection }));

const lazy = Connection.lazy({ address: `127.0.0.1:${await deadPort()}` });
await measure('Temporal unreachable (nothing listens on its port)', new Client({ connection: lazy }));
