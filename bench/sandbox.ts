// Sandbox GET throughput on loopback: the API server in its own process (as
// other components meet it), a keep-alive load client here, for 1 service and
// for 100 services x 3 pods, so the per-request cost can be compared.
//   npx tsx bench/sandbox.ts        (or: npm run bench -- sandbox)
// Prints figures; asserts nothing (target: >= 1,000 requests/s on 2 cores).
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { startSandbox } from '../sandbox/index.js';

interface Ready {
  url: string;
  token: string;
  pods: string[];
}

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const concurrency = 32;

/** Child process: a sandbox with N services scaled to R replicas; reports its address once settled. */
async function serve(services: number, replicas: number): Promise<void> {
  const sandbox = await startSandbox({ services });
  const auth = { Authorization: `Bearer ${sandbox.token}` };
  for (const name of sandbox.serviceNames) {
    await fetch(`${sandbox.url}/apis/apps/v1/namespaces/default/deployments/${name}/scale`, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas } }),
    });
  }
  for (;;) {
    const list = (await (await fetch(`${sandbox.url}/api/v1/namespaces/default/pods`, { headers: auth })).json()) as {
      items: { metadata: { name: string }; status?: { containerStatuses?: { ready: boolean }[] } }[];
    };
    const ready = list.items.filter((p) => p.status?.containerStatuses?.[0]?.ready);
    if (ready.length === services * replicas && sandbox.isRecovered()) {
      process.send?.({ url: sandbox.url, token: sandbox.token, pods: ready.map((p) => p.metadata.name) } satisfies Ready);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.on('disconnect', () => {
    void sandbox.close().then(() => process.exit(0));
  });
}

function get(agent: Agent, url: URL, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(ready: Ready, services: number): Promise<{ requests: number; errors: number; seconds: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const base = new URL(ready.url);
  // The runbook's reads: a deployment, its pods by label, one pod, its config map.
  const paths = (i: number): string[] => {
    const n = services === 1 ? '' : `-${String((i % services) + 1).padStart(3, '0')}`;
    const pod = ready.pods[i % ready.pods.length] ?? '';
    return [
      `/apis/apps/v1/namespaces/default/deployments/agent-native-framework${n}`,
      `/api/v1/namespaces/default/pods?labelSelector=app%3Dagent-native-framework${n}`,
      `/api/v1/namespaces/default/pods/${pod}`,
      `/api/v1/namespaces/default/configmaps/agent-config${n}`,
    ];
  };
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const n = i++;
        const path = paths(n)[n % 4] ?? '/version';
        const t0 = performance.now();
        const status = await get(agent, new URL(path, base), ready.token).catch(() => 0);
        latencies.push(performance.now() - t0);
        if (status !== 200) errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { requests: latencies.length, errors, seconds, p50: pct(0.5), p99: pct(0.99) };
}

async function benchCase(services: number, replicas: number): Promise<void> {
  const child = fork(import.meta.filename, ['serve', String(services), String(replicas)], { execArgv: ['--import', 'tsx'] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (code) => reject(new Error(`sandbox process exited with ${code}`)));
  });
  const r = await load(ready, services);
  child.disconnect();
  const rate = r.requests / r.seconds;
  process.stdout.write(
    `${String(services).padStart(8)} ${String(services * replicas).padStart(5)} ${String(r.requests).padStart(9)} ${rate.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)} ${(1000 / rate).toFixed(3).padStart(10)}\n`,
  );
}

if (process.argv[2] === 'serve') {
  await serve(Number(process.argv[3]), Number(process.argv[4]));
} else {
  process.stdout.write(
    `sandbox GET throughput on loopback (${concurrency} concurrent keep-alive clients, ${durationMs / 1000} s per case; target >= 1000 req/s)\n`,
  );
  process.stdout.write('services  pods  requests    req/s  p50 ms   p99 ms  errors  ms/request\n');
  await benchCase(1, 3);
  await benchCase(100, 3);
}
