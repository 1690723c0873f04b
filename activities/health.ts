// "Pods running but unhealthy": the service and its endpoints, `/health/live`,
// `/health/ready` and `/metrics` through the API server's service proxy, the
// same endpoints on one pod directly when the service reaches none (the
// runbook's port-forward + curl, without port-forward rights), and the
// ingresses routing to the service.
import { ApiException, Observable, type ObservableMiddleware, type V1Ingress } from '@kubernetes/client-node';
import { HealthFindingsSchema, type HealthFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { call, callOptional, statusMessage } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { isPodRunning, listPods, readDeployment } from './kube/objects.js';
import { podGet, serviceBackends, serviceGet } from './pod-network.js';
import { redact, truncate } from './redact.js';

const maxBody = 200;
const maxIngresses = 10;

export interface ProxyAnswer {
  status: number;
  /** The body as it came, unredacted: callers redact what they keep. */
  body: string;
  /** The API server's proxy answered itself (no endpoints, pod unreachable): the app was not reached. */
  fromProxy: boolean;
}

/**
 * The generated client percent-encodes the proxied path ("health%2Flive") and
 * the "name:port" segment; the proxy wants them as kubectl sends them.
 */
function rawUrl(url: string): ObservableMiddleware {
  return {
    pre: (request) => {
      request.setUrl(url);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
}

function kubernetesStatus(body: unknown): { message?: unknown } | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body) as { kind?: unknown; message?: unknown };
    return parsed.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The proxy's own word that it could not reach the service or pod: a finding, not an API failure. */
const unreachable = /no endpoints available|error trying to reach service|connection refused|dial tcp|no route to host|not running/i;

/**
 * Failures of the API server itself (refusing us, throttled, overloaded) are
 * thrown and retried; everything else the proxy returns is an answer.
 */
function isApiServerFailure(err: ApiException<unknown>): boolean {
  if (err.code === 401 || err.code === 403) return true;
  if (err.code !== 429 && err.code < 500) return false;
  const status = kubernetesStatus(err.body);
  return status !== undefined && !(typeof status.message === 'string' && unreachable.test(status.message));
}

/** GET <path> on a service's or pod's port through the API server, as data: an unhealthy answer is a finding. */
export async function proxyGet(
  k: KubeClients,
  target: { kind: 'services' | 'pods'; namespace: string; name: string },
  port: number | string,
  path: string,
): Promise<ProxyAnswer> {
  const { kind, namespace } = target;
  const name = `${target.name}:${port}`;
  const cleanPath = path.replace(/^\/+/, '');
  const options = {
    middleware: [rawUrl(`${k.server}/api/v1/namespaces/${namespace}/${kind}/${name}/proxy/${cleanPath}`)],
    middlewareMergeStrategy: 'append' as const,
  };
  return call(k, { verb: 'get', resource: `${kind}/proxy`, name: target.name, namespace }, async () => {
    try {
      const request = { name, namespace, path: cleanPath };
      const body: unknown = await (kind === 'services'
        ? k.core.connectGetNamespacedServiceProxyWithPath(request, options)
        : k.core.connectGetNamespacedPodProxyWithPath(request, options));
      return { status: 200, body: typeof body === 'string' ? body : JSON.stringify(body), fromProxy: false };
    } catch (err) {
      if (!(err instanceof ApiException) || isApiServerFailure(err)) throw err;
      const body = typeof err.body === 'string' ? err.body : '';
      return { status: err.code, body, fromProxy: kubernetesStatus(body) !== undefined };
    }
  });
}

/**
 * GET <path> on a service's or pod's port the way the worker is set to reach
 * them (PROBE_VIA): through the API server's proxy, or on the pod network.
 */
export function probeGet(
  deps: ActivityDeps,
  k: KubeClients,
  target: { kind: 'services' | 'pods'; namespace: string; name: string },
  port: number | string,
  path: string,
): Promise<ProxyAnswer> {
  if (deps.probes.via === 'api-proxy') return proxyGet(k, target, port, path);
  return target.kind === 'services'
    ? serviceGet(deps, k, target.namespace, target.name, port, path)
    : podGet(deps, k, target.namespace, target.name, port, path);
}

/** What findings keep of an answer: the app's body, or the proxy's message, redacted and short. */
export function shownAnswer(answer: ProxyAnswer): { status: number; body: string } {
  const body = answer.fromProxy ? statusMessage(answer.body) : truncate(redact.text(answer.body.trim()), maxBody);
  return { status: answer.status, body };
}

export function routesTo(ingress: V1Ingress, service: string): boolean {
  const backends = [ingress.spec?.defaultBackend, ...(ingress.spec?.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((p) => p.backend))];
  return backends.some((backend) => backend?.service?.name === service);
}

export async function checkServiceHealth(deps: ActivityDeps, service: ServiceRef): Promise<HealthFindings> {
  const k = deps.kube.clients(service.cluster);
  const { namespace, deployment: name } = service;
  const { healthPort, metricsPort, livePath, readyPath, metricsPath } = deps.probes;
  const onService = { kind: 'services' as const, namespace, name };
  const [deployment, svc, endpoints, live, ready, metrics, ingresses] = await Promise.all([
    readDeployment(k, service),
    callOptional(k, { verb: 'get', resource: 'services', name, namespace }, () => k.core.readNamespacedService({ name, namespace })),
    callOptional(k, { verb: 'get', resource: 'endpoints', name, namespace }, () => k.core.readNamespacedEndpoints({ name, namespace })),
    probeGet(deps, k, onService, healthPort, livePath),
    probeGet(deps, k, onService, healthPort, readyPath),
    probeGet(deps, k, onService, metricsPort, metricsPath),
    call(k, { verb: 'list', resource: 'ingresses', namespace }, () => k.networking.listNamespacedIngress({ namespace })),
  ]);
  let direct: HealthFindings['direct'];
  if (deployment && (live.fromProxy || ready.fromProxy)) {
    const pod = (await listPods(k, namespace, deployment)).find(isPodRunning);
    if (pod?.metadata?.name) {
      const onPod = { kind: 'pods' as const, namespace, name: pod.metadata.name };
      const [podLive, podReady] = await Promise.all([probeGet(deps, k, onPod, healthPort, livePath), probeGet(deps, k, onPod, healthPort, readyPath)]);
      direct = { pod: pod.metadata.name, live: shownAnswer(podLive), ready: shownAnswer(podReady) };
    }
  }
  // On the pod network the worker routes as kube-proxy does: the ready pods the selector matches.
  const endpointCount =
    deps.probes.via === 'pod-network'
      ? svc
        ? (await serviceBackends(k, svc)).length
        : 0
      : (endpoints?.subsets ?? []).reduce((sum, subset) => sum + (subset.addresses?.length ?? 0), 0);
  return HealthFindingsSchema.parse({
    service: {
      exists: svc !== undefined,
      name: svc?.metadata?.name,
      selector: svc?.spec?.selector ?? {},
      endpoints: endpointCount,
    },
    podLabels: deployment?.spec?.selector?.matchLabels ?? {},
    live: shownAnswer(live),
    ready: shownAnswer(ready),
    direct,
    metricsUp: metrics.status === 200,
    ingresses: ingresses.items
      .filter((ingress) => routesTo(ingress, name))
      .slice(0, maxIngresses)
      .map((ingress) => ({ name: ingress.metadata?.name ?? '', hosts: (ingress.spec?.rules ?? []).map((rule) => rule.host ?? '*') })),
  });
}
