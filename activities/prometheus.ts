// One Prometheus instant query (GET /api/v1/query), for the activities that read
// a figure from Prometheus: the monitor's baseline and the SLO burn rate of the
// customer-impact check.
import type { ActivityDeps } from './injected-deps.js';

interface PrometheusVector {
  status?: string;
  data?: { result?: { value?: [number, string] }[] };
}

/** The first series' value of an instant query (at a time, or now); undefined when there is no finite value. */
export async function instantQuery(deps: ActivityDeps, prometheusUrl: string, query: string, at?: Date): Promise<number | undefined> {
  const target = new URL('api/v1/query', prometheusUrl.endsWith('/') ? prometheusUrl : `${prometheusUrl}/`);
  target.searchParams.set('query', query);
  if (at) target.searchParams.set('time', (at.getTime() / 1000).toFixed(3));
  const response = await deps.fetch(target, { signal: AbortSignal.timeout(deps.probes.httpTimeoutMs) });
  if (!response.ok) throw new Error(`Prometheus answered ${response.status} to ${query}`);
  const body = (await response.json()) as PrometheusVector;
  const raw = body.status === 'success' ? body.data?.result?.[0]?.value?.[1] : undefined;
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(value) ? value : undefined;
}
