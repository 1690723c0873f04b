// The simulated application, agent-native-framework: what its container does
// given its image, environment and the world. It fails at start-up on a broken
// image, a missing API key or an invalid config value; it is OOM-killed when it
// needs more memory than its limit; it is live but not ready while its external
// dependency (the Anthropic API) is unreachable; it never finishes starting (live,
// never ready) when its CPU limit is below what its start-up needs: throttled, it
// cannot load its agent registry. Its logs, health endpoints and Prometheus
// metrics say so, as the real service would.
import { formatBytes } from './quantity.js';
import type { ServiceState, World } from './world.js';

/** A resolved environment variable; values from secrets are never kept, only whether they are set. */
export interface EnvValue {
  readonly source: 'literal' | 'configMap' | 'secret';
  readonly value?: string;
  readonly present: boolean;
}
export type Env = ReadonlyMap<string, EnvValue>;

export type StartOutcome =
  { kind: 'ok' } | { kind: 'error'; reason: string; lines: string[] } | { kind: 'oom' } | { kind: 'starved' } | { kind: 'unready'; reason: string };

/** Millicores the app needs to load its agent registry and get ready; below its CPU limit it is throttled and never does. */
export const startupCpuNeed = 200;

/** One run of the app's container, from start to exit. */
export interface AppRun {
  readonly podName: string;
  readonly image: string;
  readonly env: Env;
  readonly service: ServiceState | undefined;
  readonly startedAt: number;
  readonly memoryLimit: number | undefined;
  /** The container's CPU limit in millicores, when it has one. */
  readonly cpuLimit?: number | undefined;
  readonly outcome: StartOutcome;
  readonly finishedAt?: number;
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface LogLine {
  time: number;
  text: string;
}

const appName = 'agent-native-framework';
const dependencyUrl = 'https://api.anthropic.com/v1/health';
const requestInterval = 5_000;
// Traffic one replica serves, for the request counters.
const requestsPerSecond = 4;
// Kubelet rotates container logs; the sandbox keeps the latest lines of a long run.
const maxPeriodicLines = 2_000;

/** The app's version when the image is agent-native-framework's, otherwise undefined (a generic container). */
function appVersion(image: string): string | undefined {
  const repo = image.split('@')[0] ?? '';
  const slash = repo.lastIndexOf('/');
  const nameTag = repo.slice(slash + 1);
  const [name, tag] = nameTag.split(':');
  return name === appName ? (tag ?? 'latest') : undefined;
}

const logLevels = ['debug', 'info', 'warn', 'error'];

/** Checks the configuration the app reads at start-up; returns the first problem. */
function configProblem(env: Env, service: ServiceState | undefined): { key: string; lines: string[] } | undefined {
  const key = env.get('ANTHROPIC_API_KEY');
  if (!key?.present) {
    const from = service ? ` (expected from secret ${service.names.secret})` : '';
    return { key: 'ANTHROPIC_API_KEY', lines: [`ERROR config: required environment variable ANTHROPIC_API_KEY is not set${from}`] };
  }
  const checks: [string, (v: string) => boolean, string][] = [
    ['LOG_LEVEL', (v) => logLevels.includes(v.toLowerCase()), `must be one of ${logLevels.join(', ')}`],
    ['AGENT_MAX_WORKERS', (v) => /^[1-9]\d*$/.test(v), 'must be a positive integer'],
    ['AGENT_TIMEOUT_SECONDS', (v) => /^[1-9]\d*$/.test(v), 'must be a positive integer'],
    ['ANTHROPIC_BASE_URL', (v) => /^https?:\/\/[^\s/]+/.test(v), 'must be an http(s) URL'],
  ];
  for (const [name, ok, rule] of checks) {
    const v = env.get(name);
    if (v?.value !== undefined && !ok(v.value)) {
      return { key: name, lines: [`ERROR config: invalid value for ${name}: ${rule} (got ${JSON.stringify(v.value)})`] };
    }
  }
  return undefined;
}

/** Decides how a fresh container of this image will behave. */
export function startOutcome(
  image: string,
  env: Env,
  service: ServiceState | undefined,
  world: World,
  memoryLimit: number | undefined,
  cpuLimit?: number,
): StartOutcome {
  if (appVersion(image) === undefined) return { kind: 'ok' };
  const broken = world.brokenImages.get(image);
  if (broken) return { kind: 'error', reason: broken[0] ?? 'start-up error', lines: broken.map((l) => `ERROR ${l}`) };
  const problem = configProblem(env, service);
  if (problem) {
    return { kind: 'error', reason: `invalid configuration (${problem.key})`, lines: problem.lines };
  }
  if (memoryLimit !== undefined && service && memoryLimit < service.memoryNeed) return { kind: 'oom' };
  if (cpuLimit !== undefined && cpuLimit > 0 && cpuLimit < startupCpuNeed) return { kind: 'starved' };
  const unready = world.unreadyImages.get(image);
  if (unready) return { kind: 'unready', reason: unready };
  return { kind: 'ok' };
}

/** Scenario latency-regression: how long a pod serves at its usual speed before its agent runs slow down. */
export const slowAfterMs = 20_000;

/** When this run's agent runs start to be slow (latency-regression), or undefined when they never do. */
function slowFrom(run: AppRun): number | undefined {
  const since = run.service?.slowSince;
  return since !== undefined && run.startedAt >= since ? run.startedAt + slowAfterMs : undefined;
}

/** Whether the dependency was unreachable for this service at a time. */
export function dependencyDownAt(service: ServiceState | undefined, time: number): boolean {
  return (service?.outages ?? []).some((o) => o.from <= time && (o.to === undefined || time < o.to));
}

function level(env: Env): string {
  return (env.get('LOG_LEVEL')?.value ?? 'info').toLowerCase();
}

function line(time: number, lvl: string, text: string): LogLine {
  return { time, text: `${new Date(time).toISOString()} ${lvl.toUpperCase().padEnd(5)} ${text}` };
}

/** Lines the run printed up to `now` (or its exit), oldest first. */
export function logLines(run: AppRun, world: World, now: number): LogLine[] {
  const version = appVersion(run.image);
  const end = Math.min(now, run.finishedAt ?? now);
  const t0 = run.startedAt;
  if (version === undefined) return [line(t0, 'info', `container started (${run.image})`)];
  const lines: LogLine[] = [line(t0, 'info', `${appName} ${version} starting (node v20.19.0, pid 1)`)];
  const debug = level(run.env) === 'debug';
  const cfg = ['LOG_LEVEL', 'AGENT_MAX_WORKERS', 'AGENT_TIMEOUT_SECONDS'].map((k) => `${k}=${run.env.get(k)?.value ?? '<unset>'}`).join(' ');
  lines.push(line(t0 + 3, 'info', `config: ${cfg}`));
  if (debug) {
    const fromSecret = [...run.env].filter(([, v]) => v.source === 'secret').map(([k]) => k);
    lines.push(line(t0 + 4, 'debug', `config: keys from secrets: ${fromSecret.join(', ') || '<none>'} (values redacted)`));
  }
  const outcome = run.outcome;
  if (outcome.kind === 'error') {
    outcome.lines.forEach((l, i) => lines.push({ time: t0 + 10 + i, text: `${new Date(t0 + 10 + i).toISOString()} ${l}` }));
    lines.push(line(t0 + 20, 'fatal', `startup failed: ${outcome.reason}; exiting with code 1`));
    return lines.filter((l) => l.time <= end);
  }
  if (world.canary !== undefined) {
    // Planted on purpose: a careless app printing a credential, so other components can prove they redact it.
    lines.push(line(t0 + 5, 'warn', `db: connecting as agent with password=${world.canary} token=${world.canary}`));
  }
  lines.push(line(t0 + 8, 'info', 'agents: loading agent registry and session cache'));
  if (outcome.kind === 'oom') {
    const limit = run.memoryLimit ?? 0;
    lines.push(line(t0 + 40, 'warn', `memory: heap ${formatBytes(Math.round(limit * 0.9))} of limit ${formatBytes(limit)} while loading the session cache`));
    lines.push(line(t0 + 60, 'warn', `memory: heap ${formatBytes(Math.round(limit * 0.98))} of limit ${formatBytes(limit)} (98%), GC cannot reclaim`));
    return lines.filter((l) => l.time <= end);
  }
  if (outcome.kind === 'starved') {
    // Throttled by the CFS quota: the registry load crawls, and the event loop stalls behind it.
    const quota = `cgroup cpu.max ${Math.round((run.cpuLimit ?? 0) * 100)} 100000`;
    for (let i = 1; t0 + i * requestInterval <= end && i <= 20; i++) {
      const t = t0 + i * requestInterval;
      lines.push(
        line(
          t,
          'warn',
          `startup: event loop blocked for ${(4.2 + (i % 3) * 0.3).toFixed(1)}s while loading the agent registry (${Math.min(99, i * 2)}% loaded; ${quota})`,
        ),
      );
    }
    return lines.filter((l) => l.time <= end);
  }
  lines.push(line(t0 + 12, 'info', `anthropic: client ready (base url ${run.env.get('ANTHROPIC_BASE_URL')?.value ?? 'https://api.anthropic.com'})`));
  lines.push(line(t0 + 14, 'info', 'http: health on :8080 (/health/live, /health/ready), metrics on :8000 (/metrics)'));
  if (outcome.kind === 'unready') {
    lines.push(line(t0 + 15, 'error', `store: ${outcome.reason}; not ready`));
    const from = Math.max(1, Math.floor((end - t0) / requestInterval) - maxPeriodicLines + 1);
    for (let i = from; t0 + i * requestInterval <= end; i++) {
      lines.push(line(t0 + i * requestInterval, 'error', `request POST /v1/agents/run 500 internal error: ${outcome.reason}`));
    }
    return lines.filter((l) => l.time <= end);
  }
  if (dependencyDownAt(run.service, t0 + 15)) {
    lines.push(line(t0 + 15, 'error', `anthropic: GET ${dependencyUrl} failed: 503 Service Unavailable; not ready until it recovers`));
  } else {
    lines.push(line(t0 + 15, 'info', 'ready: accepting agent runs'));
  }
  const first = Math.max(1, Math.floor((end - t0) / requestInterval) - maxPeriodicLines + 1);
  for (let i = first; t0 + i * requestInterval <= end; i++) {
    const t = t0 + i * requestInterval;
    if (dependencyDownAt(run.service, t)) {
      lines.push(line(t, 'error', `request POST /v1/agents/run 503 upstream unavailable: anthropic API unreachable (GET ${dependencyUrl}: 503)`));
    } else if (i % 97 === 0) {
      lines.push(line(t, 'error', 'request POST /v1/agents/run 500 agent run failed: tool timeout after 30s'));
    } else {
      const slow = slowFrom(run);
      const ms = slow !== undefined && t >= slow ? 9_000 + ((i * 37) % 18_000) : 300 + ((i * 37) % 900);
      lines.push(line(t, 'info', `request POST /v1/agents/run 200 ${ms}ms`));
      if (debug) lines.push(line(t + 1, 'debug', `agent run ${i} finished: 3 tool calls, 1 model call`));
    }
  }
  return lines;
}

/** Whether the app listens for HTTP during this run (a failing start never gets that far). */
export function listening(run: AppRun): boolean {
  return run.outcome.kind === 'ok' || run.outcome.kind === 'oom' || run.outcome.kind === 'starved' || run.outcome.kind === 'unready';
}

/** Readiness as /health/ready reports it. */
export function appReady(run: AppRun, now: number, readyMs: number): boolean {
  return run.outcome.kind === 'ok' && now - run.startedAt >= readyMs && !dependencyDownAt(run.service, now);
}

const json = (status: number, body: unknown): HttpAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(body) });

/** The app's answer to GET <path> on a container port. */
export function httpAnswer(run: AppRun, port: number, path: string, now: number, readyMs: number): HttpAnswer {
  if (appVersion(run.image) === undefined) return { status: 404, contentType: 'text/plain; charset=utf-8', body: '404 page not found\n' };
  const route = path.split('?')[0] ?? '';
  if (port === 8080 && route === '/health/live') return json(200, { status: 'ok' });
  if (port === 8080 && route === '/health/ready') {
    if (now - run.startedAt < readyMs) return json(503, { status: 'starting', checks: { anthropic: 'pending', config: 'ok' } });
    if (run.outcome.kind === 'starved')
      return json(503, { status: 'starting', checks: { agents: 'loading agent registry', anthropic: 'pending', config: 'ok' } });
    if (run.outcome.kind === 'unready') return json(503, { status: 'not ready', checks: { store: run.outcome.reason, anthropic: 'ok', config: 'ok' } });
    if (dependencyDownAt(run.service, now)) {
      return json(503, { status: 'not ready', checks: { anthropic: `unreachable: GET ${dependencyUrl} returned 503 Service Unavailable`, config: 'ok' } });
    }
    return json(200, { status: 'ready', checks: { anthropic: 'ok', config: 'ok' } });
  }
  if (port === 8000 && route === '/metrics') {
    return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: metricsText(run, now) };
  }
  return json(404, { error: 'not found', path: route });
}

/** Working-set memory of the run now, for metrics.k8s.io and process_resident_memory_bytes. */
export function memoryUsage(run: AppRun, now: number): number {
  if (appVersion(run.image) === undefined) return 96 * 2 ** 20;
  const need = run.service?.memoryNeed ?? 512 * 2 ** 20;
  if (run.outcome.kind === 'oom') return Math.round((run.memoryLimit ?? need) * 0.98);
  const warmup = Math.min(1, (now - run.startedAt) / 10_000);
  return Math.round(need * (0.55 + 0.25 * warmup));
}

/** CPU use in millicores, steady with a little per-pod variation. */
export function cpuUsage(run: AppRun): number {
  if (appVersion(run.image) === undefined) return 5;
  // Throttled: it would use more, and gets exactly its quota.
  if (run.outcome.kind === 'starved') return run.cpuLimit ?? startupCpuNeed;
  let h = 0;
  for (const c of run.podName) h = (h * 31 + c.charCodeAt(0)) % 997;
  return 80 + (h % 90);
}

const buckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Share of agent runs finishing under each bucket bound: most take 0.3 to 1.2 s (p99 about 4.2 s), none
// over 5 s. Counts are rounded, not floored: a floor puts a request of every small window in the top bucket.
const bucketShare = [0.01, 0.04, 0.35, 0.82, 0.97, 1, 1, 1];
// Slowed down (latency-regression): most take 5 to 30 s (p99 about 29 s).
const slowBucketShare = [0, 0.002, 0.01, 0.05, 0.2, 0.45, 0.7, 1];

function metricsText(run: AppRun, now: number): string {
  const seconds = Math.max(0, (now - run.startedAt) / 1000);
  const total = Math.floor(seconds * requestsPerSecond);
  let unavailable = 0;
  for (const o of run.service?.outages ?? []) {
    const from = Math.max(o.from, run.startedAt);
    const to = Math.min(o.to ?? now, now);
    if (to > from) unavailable += Math.floor(((to - from) / 1000) * requestsPerSecond);
  }
  unavailable = Math.min(unavailable, total);
  const failed = Math.floor((total - unavailable) / 500);
  const ok = total - unavailable - failed;
  const probes = Math.floor(seconds / 5);
  const out = [
    '# HELP http_requests_total Total HTTP requests handled, by method, route and status code.',
    '# TYPE http_requests_total counter',
    `http_requests_total{method="POST",route="/v1/agents/run",code="200"} ${ok}`,
    `http_requests_total{method="POST",route="/v1/agents/run",code="500"} ${failed}`,
    `http_requests_total{method="POST",route="/v1/agents/run",code="503"} ${unavailable}`,
    `http_requests_total{method="GET",route="/health/ready",code="200"} ${probes}`,
    '# HELP http_request_duration_seconds Latency of agent runs.',
    '# TYPE http_request_duration_seconds histogram',
  ];
  const served = ok + failed;
  const slow = slowFrom(run);
  const slowServed = slow === undefined ? 0 : Math.min(served, Math.floor((Math.max(0, now - slow) / 1000) * requestsPerSecond));
  const fastServed = served - slowServed;
  buckets.forEach((le, i) =>
    out.push(
      `http_request_duration_seconds_bucket{route="/v1/agents/run",le="${le}"} ${Math.round(fastServed * (bucketShare[i] ?? 1)) + Math.round(slowServed * (slowBucketShare[i] ?? 1))}`,
    ),
  );
  out.push(`http_request_duration_seconds_bucket{route="/v1/agents/run",le="+Inf"} ${served}`);
  out.push(`http_request_duration_seconds_sum{route="/v1/agents/run"} ${(fastServed * 0.74 + slowServed * 12.5).toFixed(3)}`);
  out.push(`http_request_duration_seconds_count{route="/v1/agents/run"} ${served}`);
  out.push('# HELP agent_active_agents Agents currently running.', '# TYPE agent_active_agents gauge');
  out.push(`agent_active_agents ${dependencyDownAt(run.service, now) ? 0 : 3 + (Math.floor(seconds) % 5)}`);
  out.push('# HELP process_resident_memory_bytes Resident memory size in bytes.', '# TYPE process_resident_memory_bytes gauge');
  out.push(`process_resident_memory_bytes ${memoryUsage(run, now)}`);
  out.push('# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.', '# TYPE process_start_time_seconds gauge');
  out.push(`process_start_time_seconds ${Math.floor(run.startedAt / 1000)}`);
  return `${out.join('\n')}\n`;
}
