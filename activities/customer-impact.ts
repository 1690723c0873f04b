// Whether customers are affected (runbook Escalation Level 3: "extended outage
// affecting customers"; Communication: "update status page if customer-facing
// impact", "customer notification if SLA breach imminent"): a synthetic probe of
// the customer-facing entry and/or an SLO burn rate from Prometheus.
//
// The probe, by default, is each path of the ingresses that route to the
// service, requested through the cluster (the ingress's backend service and
// port, the way PROBE_VIA reaches services): a 5xx or no answer means customers
// get errors. A service no ingress routes to, with no URL and no SLO configured,
// is internal only. Evidence is redacted and short: it goes into history.
import type { V1Ingress } from '@kubernetes/client-node';
import type { CustomerImpact, ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { call } from './kube/call.js';
import { instantQuery } from './prometheus.js';
import { probeGet, routesTo, shownAnswer } from './health.js';
import { redact, truncate } from './redact.js';
import { describeFetchError } from './service-dependencies.js';

const maxEvidence = 10;
const maxProbes = 5;

interface Probe {
  /** What customers would call it: the ingress rule's host and path. */
  label: string;
  failing: boolean;
  detail: string;
}

/** The ingress rules' paths that reach the service: [ingress, host, path, backend port]. */
function ingressPaths(ingresses: V1Ingress[], service: string): { ingress: string; host: string; path: string; port: number | string }[] {
  const paths: { ingress: string; host: string; path: string; port: number | string }[] = [];
  for (const ingress of ingresses.filter((i) => routesTo(i, service))) {
    const name = ingress.metadata?.name ?? '';
    for (const rule of ingress.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const backend = p.backend.service;
        if (backend?.name !== service) continue;
        paths.push({ ingress: name, host: rule.host ?? '*', path: p.path ?? '/', port: backend.port?.number ?? backend.port?.name ?? 80 });
      }
    }
    const fallback = ingress.spec?.defaultBackend?.service;
    if (fallback?.name === service) paths.push({ ingress: name, host: '*', path: '/', port: fallback.port?.number ?? fallback.port?.name ?? 80 });
  }
  return paths.slice(0, maxProbes);
}

async function probeIngress(deps: ActivityDeps, service: ServiceRef): Promise<Probe[]> {
  const k = deps.kube.clients(service.cluster);
  const { namespace, deployment: name } = service;
  const list = await call(k, { verb: 'list', resource: 'ingresses', namespace }, () => k.networking.listNamespacedIngress({ namespace }));
  return Promise.all(
    ingressPaths(list.items, name).map(async (p) => {
      const answer = await probeGet(deps, k, { kind: 'services', namespace, name }, p.port, p.path);
      const shown = shownAnswer(answer);
      const failing = answer.fromProxy || answer.status >= 500;
      return { label: `ingress ${p.ingress} ${p.host}${p.path}`, failing, detail: `${shown.status}${failing ? ` ${shown.body}` : ''}` };
    }),
  );
}

async function probeUrl(deps: ActivityDeps, url: string): Promise<Probe> {
  const label = `probe ${new URL(url).host}${new URL(url).pathname}`;
  try {
    const response = await deps.fetch(url, { signal: AbortSignal.timeout(deps.probes.httpTimeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    return { label, failing: response.status >= 500, detail: String(response.status) };
  } catch (err) {
    return { label, failing: true, detail: `no answer (${describeFetchError(err)})` };
  }
}

/** The SLO burn rate: the query's first value, or why there is none. */
async function sloBurn(deps: ActivityDeps, service: ServiceRef, prometheusUrl: string, query: string): Promise<Probe> {
  const threshold = deps.customerImpact.sloBurnThreshold;
  const promql = query.replaceAll('$namespace', service.namespace).replaceAll('$service', service.deployment);
  const label = 'SLO burn rate';
  try {
    const value = await instantQuery(deps, prometheusUrl, promql);
    if (value === undefined) return { label, failing: false, detail: 'no value (unknown)' };
    return { label, failing: value >= threshold, detail: `${value.toFixed(2)} (threshold ${threshold})` };
  } catch (err) {
    return { label, failing: false, detail: `Prometheus did not answer (${describeFetchError(err)})` };
  }
}

export async function checkCustomerImpact(deps: ActivityDeps, service: ServiceRef): Promise<CustomerImpact> {
  const config = deps.customerImpact;
  const probes: Probe[] = [];
  if (config.probe === 'ingress') probes.push(...(await probeIngress(deps, service)));
  else if (config.probe !== 'none') probes.push(await probeUrl(deps, config.probe));
  if (config.prometheusUrl && config.sloBurnQuery) probes.push(await sloBurn(deps, service, config.prometheusUrl, config.sloBurnQuery));
  const customerFacing = probes.length > 0;
  const affected = probes.some((p) => p.failing);
  const evidence = customerFacing
    ? probes.map((p) => `${p.label}: ${p.failing ? 'failing' : 'ok'} (${p.detail})`)
    : [`no customer-facing entry: no ingress routes to ${service.deployment}, and no probe URL or SLO is configured (internal only)`];
  return {
    affected,
    customerFacing,
    checkedAt: deps.clock().toISOString(),
    evidence: evidence.slice(0, maxEvidence).map((line) => truncate(redact.text(line), 200)),
  };
}
