// Reaching a service and its pods on the pod network (PROBE_VIA=pod-network):
// the worker runs inside the cluster's network and dials pod addresses itself,
// the way kube-proxy routes a service: to a ready pod its selector matches, on
// the target port of the service port asked for. Answers that never reached the
// app are worded as the API server's proxy words them ("no endpoints
// available", "dial tcp …: connection refused"), so findings read the same
// whichever way the worker reaches the service.
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { ActivityDeps } from './injected-deps.js';
import { call, callOptional } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { isPodReady } from './kube/objects.js';

export interface Answer {
  status: number;
  body: string;
  /** Nothing answered for the app (no backend, refused, timed out). */
  fromProxy: boolean;
}

const refused = (what: string): Answer => ({ status: 503, body: JSON.stringify({ kind: 'Status', message: what }), fromProxy: true });

function containerPort(pod: V1Pod, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port)?.containerPort;
}

async function dial(deps: ActivityDeps, ip: string, port: number, path: string): Promise<Answer> {
  const url = `http://${ip}:${port}/${path.replace(/^\/+/, '')}`;
  try {
    const res = await deps.fetch(url, { signal: AbortSignal.timeout(deps.probes.httpTimeoutMs), redirect: 'manual' });
    return { status: res.status, body: await res.text(), fromProxy: false };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    const why =
      err instanceof Error && err.name === 'TimeoutError'
        ? 'i/o timeout'
        : code === 'ECONNREFUSED'
          ? 'connect: connection refused'
          : `${code ?? (err instanceof Error ? err.message : String(err))}`;
    return refused(`error trying to reach service: dial tcp ${ip}:${port}: ${why}`);
  }
}

/** GET <path> on one pod's port, at the pod's own address. */
export async function podGet(deps: ActivityDeps, k: KubeClients, namespace: string, name: string, port: number | string, path: string): Promise<Answer> {
  const pod = await callOptional(k, { verb: 'get', resource: 'pods', name, namespace }, () => k.core.readNamespacedPod({ name, namespace }));
  if (!pod) return { status: 404, body: JSON.stringify({ kind: 'Status', message: `pods "${name}" not found` }), fromProxy: true };
  const ip = pod.status?.podIP;
  const target = containerPort(pod, port);
  if (!ip) return refused(`pod ${name} does not have an IP address`);
  if (target === undefined) return refused(`pod ${name} has no port named ${port}`);
  return dial(deps, ip, target, path);
}

/** The ready pods a service's selector matches, by name: where kube-proxy would send its traffic. */
export async function serviceBackends(k: KubeClients, service: V1Service): Promise<V1Pod[]> {
  const namespace = service.metadata?.namespace ?? 'default';
  const selector = service.spec?.selector ?? {};
  if (Object.keys(selector).length === 0) return [];
  const labelSelector = Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const pods = await call(k, { verb: 'list', resource: 'pods', namespace }, () => k.core.listNamespacedPod({ namespace, labelSelector }));
  return pods.items
    .filter((p) => !p.metadata?.deletionTimestamp && p.status?.podIP && isPodReady(p))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** GET <path> on a service's port, at one of its ready backends. */
export async function serviceGet(deps: ActivityDeps, k: KubeClients, namespace: string, name: string, port: number | string, path: string): Promise<Answer> {
  const service = await callOptional(k, { verb: 'get', resource: 'services', name, namespace }, () => k.core.readNamespacedService({ name, namespace }));
  if (!service) return { status: 404, body: JSON.stringify({ kind: 'Status', message: `services "${name}" not found` }), fromProxy: true };
  const servicePort = (service.spec?.ports ?? []).find((p) => p.port === Number(port) || p.name === port);
  if (!servicePort) return refused(`no endpoints available for service "${name}:${port}"`);
  const backend = (await serviceBackends(k, service))[0];
  if (!backend) return refused(`no endpoints available for service "${name}"`);
  const target = containerPort(backend, servicePort.targetPort ?? servicePort.port);
  if (target === undefined) return refused(`no endpoints available for service "${name}:${port}"`);
  return dial(deps, backend.status?.podIP ?? '', target, path);
}
