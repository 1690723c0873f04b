// Runbook Resolution step 4 ("Monitor Recovery"): the service's own response time
// and active agent count before the incident, read from Prometheus over a window
// that ends when the alert started. The monitor derives its default thresholds
// from them (workflows/health-verdict.ts monitorThresholds); with no Prometheus
// configured, or no data there, it says why and the documented defaults apply.
import type { MetricsBaseline, ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';

interface PrometheusVector {
  status: string;
  data?: { resultType?: string; result?: { value?: [number, string] }[] };
}

/** `{namespace}`, `{deployment}` and `{window}` in a query template, filled in. */
export function fillQuery(template: string, service: ServiceRef, window: string): string {
  return template.replaceAll('{namespace}', service.namespace).replaceAll('{deployment}', service.deployment).replaceAll('{window}', window);
}

/** One instant query's scalar (the first series' value); undefined when there is no finite value. */
async function instant(deps: ActivityDeps, url: string, query: string, at: Date): Promise<number | undefined> {
  const target = new URL('api/v1/query', url.endsWith('/') ? url : `${url}/`);
  target.searchParams.set('query', query);
  target.searchParams.set('time', (at.getTime() / 1000).toFixed(3));
  const response = await deps.fetch(target, { signal: AbortSignal.timeout(deps.probes.httpTimeoutMs) });
  if (!response.ok) throw new Error(`Prometheus answered ${response.status} to ${query}`);
  const body = (await response.json()) as PrometheusVector;
  const raw = body.data?.result?.[0]?.value?.[1];
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

export async function metricsBaseline(deps: ActivityDeps, service: ServiceRef, options: { before: string }): Promise<MetricsBaseline> {
  const config = deps.baseline;
  if (!config?.prometheusUrl) return { from: 'no Prometheus configured (PROMETHEUS_URL)' };
  const at = new Date(options.before);
  const from = `Prometheus, ${config.window} before ${at.toISOString()}`;
  try {
    const [p99Seconds, agents] = await Promise.all([
      instant(deps, config.prometheusUrl, fillQuery(config.latencyQuery, service, config.window), at),
      instant(deps, config.prometheusUrl, fillQuery(config.agentsQuery, service, config.window), at),
    ]);
    if (p99Seconds === undefined && agents === undefined) return { from: `${from}: no data` };
    return {
      ...(p99Seconds === undefined ? {} : { p99LatencyMs: p99Seconds * 1000 }),
      ...(agents === undefined ? {} : { activeAgents: agents }),
      from,
    };
  } catch (err) {
    // The monitor goes on with its defaults; the reason is on the timeline.
    deps.logger.warn('no metrics baseline', { error: err instanceof Error ? err.message : String(err) });
    return { from: `Prometheus unreadable: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}` };
  }
}
