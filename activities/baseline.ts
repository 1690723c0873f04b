// Runbook Resolution step 4 ("Monitor Recovery"): the service's own response time
// and active agent count before the incident, read from Prometheus over a window
// that ends when the alert started. The monitor derives its default thresholds
// from them (workflows/health-verdict.ts monitorThresholds); with no Prometheus
// configured, or no data there, it says why and the documented defaults apply.
import type { MetricsBaseline, ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { instantQuery } from './prometheus.js';

/** `{namespace}`, `{deployment}` and `{window}` in a query template, filled in. */
export function fillQuery(template: string, service: ServiceRef, window: string): string {
  return template.replaceAll('{namespace}', service.namespace).replaceAll('{deployment}', service.deployment).replaceAll('{window}', window);
}

export async function metricsBaseline(deps: ActivityDeps, service: ServiceRef, options: { before: string }): Promise<MetricsBaseline> {
  const config = deps.baseline;
  if (!config?.prometheusUrl) return { from: 'no Prometheus configured (PROMETHEUS_URL)' };
  const at = new Date(options.before);
  const from = `Prometheus, ${config.window} before ${at.toISOString()}`;
  try {
    const [p99Seconds, agents] = await Promise.all([
      instantQuery(deps, config.prometheusUrl, fillQuery(config.latencyQuery, service, config.window), at),
      instantQuery(deps, config.prometheusUrl, fillQuery(config.agentsQuery, service, config.window), at),
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
