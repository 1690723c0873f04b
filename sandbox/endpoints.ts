// The endpoints controllers (a service's Endpoints and its EndpointSlice list the
// pods its selector matches, ready or not; `kubectl describe service` reads the
// slices) and the API server's service proxy target selection, which only ever
// picks a ready address: a service that selects nothing, or nothing ready,
// answers 503 "no endpoints available".
import { isReady } from './controller.js';
import { ApiError, notFound } from './errors.js';
import { R } from './resources.js';
import { mapSelectorMatcher } from './selectors.js';
import { keyOf, type Store } from './store.js';
import { createHash } from 'node:crypto';
import type { EndpointAddress, EndpointSubset, Endpoints, KObject, Pod, Service } from './types.js';

type ServicePort = NonNullable<Service['spec']['ports']>[number];

function targetPort(port: ServicePort, pod: Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  for (const c of pod.spec.containers) {
    const named = c.ports?.find((p) => p.name === target);
    if (named) return named.containerPort;
  }
  return Number(target) || undefined;
}

function address(pod: Pod): EndpointAddress {
  return {
    ip: pod.status?.podIP ?? '',
    ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid ?? '' },
  };
}

const byIp = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip, undefined, { numeric: true });

export class EndpointsController {
  private readonly dirty = new Set<string>();
  private readonly roundRobin = new Map<string, number>();

  constructor(private readonly store: Store) {
    store.subscribe((change) => {
      const o = change.object;
      if (change.resource === R.services) this.dirty.add(keyOf(o.metadata.namespace, o.metadata.name));
      if (change.resource !== R.pods) return;
      const labels = [o.metadata.labels, change.previous?.metadata.labels];
      for (const svc of store.list<Service>(R.services, o.metadata.namespace)) {
        const matches = mapSelectorMatcher(svc.spec.selector);
        if (labels.some((l) => matches(l))) this.dirty.add(keyOf(svc.metadata.namespace, svc.metadata.name));
      }
    });
  }

  sync(): void {
    for (const key of [...this.dirty]) {
      this.dirty.delete(key);
      const [ns, name] = key.split('/') as [string, string];
      this.syncService(ns, name);
    }
  }

  private syncService(namespace: string, name: string): void {
    const svc = this.store.get<Service>(R.services, namespace, name);
    const existing = this.store.get<Endpoints>(R.endpoints, namespace, name);
    const sliceName = `${name}-${createHash('sha256').update(name).digest('hex').slice(0, 5)}`;
    const slice = this.store.get(R.endpointslices, namespace, sliceName);
    if (!svc) {
      if (existing) this.store.remove(R.endpoints, namespace, name);
      if (slice) this.store.remove(R.endpointslices, namespace, sliceName);
      return;
    }
    // Services without a selector have endpoints their users manage.
    if (!svc.spec.selector || Object.keys(svc.spec.selector).length === 0) return;
    const matches = mapSelectorMatcher(svc.spec.selector);
    const pods = this.store.list<Pod>(R.pods, namespace).filter((p) => matches(p.metadata.labels) && p.status?.podIP && !p.metadata.deletionTimestamp);
    const ports = svc.spec.ports ?? [];
    const subsets: EndpointSubset[] = [];
    if (pods.length > 0 && ports.length > 0) {
      const sample = pods[0] as Pod;
      const ready = pods.filter(isReady).map(address).sort(byIp);
      const notReady = pods
        .filter((p) => !isReady(p))
        .map(address)
        .sort(byIp);
      subsets.push({
        ...(ready.length ? { addresses: ready } : {}),
        ...(notReady.length ? { notReadyAddresses: notReady } : {}),
        ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: targetPort(p, sample) ?? p.port, protocol: p.protocol ?? 'TCP' })),
      });
    }
    const next: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { ...(existing?.metadata ?? {}), name, namespace, labels: svc.metadata.labels ?? {} },
      ...(subsets.length ? { subsets } : {}),
    };
    if (!existing) this.store.create(R.endpoints, next);
    else if (
      JSON.stringify(next.subsets) !== JSON.stringify(existing.subsets) ||
      JSON.stringify(next.metadata.labels) !== JSON.stringify(existing.metadata.labels)
    ) {
      this.store.update(R.endpoints, next);
    }
    const nextSlice: KObject = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        ...(slice?.metadata ?? {}),
        name: sliceName,
        namespace,
        labels: { ...svc.metadata.labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints: pods
        .sort((a, b) => byIp(address(a), address(b)))
        .map((p) => ({
          addresses: [p.status?.podIP ?? ''],
          conditions: { ready: isReady(p), serving: isReady(p), terminating: false },
          ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
          targetRef: { kind: 'Pod', namespace, name: p.metadata.name, uid: p.metadata.uid ?? '' },
        })),
      ports: subsets[0]?.ports ?? [],
    };
    if (!slice) this.store.create(R.endpointslices, nextSlice);
    else if (JSON.stringify({ ...nextSlice, metadata: undefined }) !== JSON.stringify({ ...slice, metadata: undefined }))
      this.store.update(R.endpointslices, nextSlice);
  }

  /**
   * Picks a ready pod behind a service port (by name or number; the first port
   * when none is given), round-robin, as the API server's service proxy does.
   */
  proxyTarget(namespace: string, name: string, portName: string | undefined): { pod: Pod; port: number } {
    const svc = this.store.get<Service>(R.services, namespace, name);
    if (!svc) throw notFound('services', '', name);
    const ports = svc.spec.ports ?? [];
    const port = portName ? ports.find((p) => p.name === portName || String(p.port) === portName) : ports[0];
    if (!port) throw new ApiError(503, 'ServiceUnavailable', `no service port "${portName}" found for service "${name}"`);
    const endpoints = this.store.get<Endpoints>(R.endpoints, namespace, name);
    const candidates = (endpoints?.subsets ?? []).flatMap((s) => {
      const epPort = s.ports?.find((p) => (port.name ? p.name === port.name : true));
      return epPort ? (s.addresses ?? []).map((a) => ({ a, port: epPort.port })) : [];
    });
    if (candidates.length === 0) throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${name}"`);
    const key = keyOf(namespace, name);
    const n = this.roundRobin.get(key) ?? 0;
    this.roundRobin.set(key, n + 1);
    const chosen = candidates[n % candidates.length] as { a: EndpointAddress; port: number };
    const pod = this.store.get<Pod>(R.pods, chosen.a.targetRef?.namespace ?? namespace, chosen.a.targetRef?.name ?? '');
    if (!pod)
      throw new ApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${chosen.a.ip}:${chosen.port}: connect: connection refused`);
    return { pod, port: chosen.port };
  }
}
