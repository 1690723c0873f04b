// The runbook's world on the local control plane: the same objects the sandbox
// seeds (sandbox/world.ts: nodes, namespaces, the service's deployment, config
// map, secret, service on 8080/8000, quota, ingress, RBAC), created through the
// real API. What a real cluster makes itself is left to it: cluster IPs,
// replica sets, pods, endpoints, events. The deployment gets its history the
// way a real one does: created at v1.4.1, then updated to v1.4.2, so that
// `kubectl rollout history` shows two revisions made by the real controller.
import { R, type ResourceType } from '../sandbox/resources.js';
import { Store } from '../sandbox/store.js';
import type { Timing } from '../sandbox/timing.js';
import type { Deployment, KObject, ReplicaSet } from '../sandbox/types.js';
import { seedWorld, type World } from '../sandbox/world.js';
import { ApiStatusError, type RawApi } from './api.js';
import { apiVersionOf, collectionPath, objectPath, writable } from './mirror.js';
import { waitFor } from '../local-stack/processes.js';

/** Seeded kinds, in an order that creates what an object refers to before it. */
const order: readonly ResourceType[] = [
  R.namespaces,
  R.nodes,
  R.clusterroles,
  R.clusterrolebindings,
  R.resourcequotas,
  R.configmaps,
  R.secrets,
  R.serviceaccounts,
  R.roles,
  R.rolebindings,
  R.services,
  R.ingresses,
];

function body(resource: ResourceType, object: KObject): Record<string, unknown> {
  const out: Record<string, unknown> = { ...writable(object), apiVersion: apiVersionOf(resource), kind: resource.kind };
  const metadata = out.metadata as Record<string, unknown>;
  if (resource === R.services) {
    // The real allocator gives the cluster IP (from 127.96.0.0/16).
    const { clusterIP: _ip, clusterIPs: _ips, ...spec } = (object as unknown as { spec: Record<string, unknown> }).spec;
    out.spec = spec;
  }
  if (resource === R.nodes) {
    // kwok manages nodes with this annotation: Ready, leases, the kubelet endpoint.
    out.metadata = { ...metadata, annotations: { ...(metadata.annotations as Record<string, string>), 'kwok.x-k8s.io/node': 'fake' } };
  }
  return out;
}

/** A node with this control plane's pod range (see addresses.ts: no two control planes share one). */
function withPodRange(node: KObject, range: string): KObject {
  const spec = (node as KObject & { spec?: Record<string, unknown> }).spec ?? {};
  return { ...node, spec: { ...spec, podCIDR: range, podCIDRs: [range] } };
}

async function create(api: RawApi, resource: ResourceType, object: KObject): Promise<Record<string, unknown>> {
  try {
    return await api.call('POST', collectionPath(resource, object.metadata.namespace), body(resource, object));
  } catch (err) {
    // The API server makes some itself (the default namespaces, cluster-admin).
    if (err instanceof ApiStatusError && err.status === 409) return {};
    throw err;
  }
}

/** Creates the world through the API server; returns the world the node agent's app model reads. */
export async function seedRealWorld(
  api: RawApi,
  options: { services: number; canary?: string; timing: Timing; podRangeOf: (node: number) => string },
): Promise<World> {
  const scratch = new Store();
  const world = seedWorld(scratch, { ...options, usedClusterIPs: () => new Set() });
  for (const resource of order) {
    for (const [index, object] of scratch.list(resource).entries()) {
      await create(api, resource, resource === R.nodes ? withPodRange(object, options.podRangeOf(index + 1)) : object);
      const status = (object as { status?: unknown }).status;
      if (resource === R.ingresses && status)
        await api.call('PATCH', `${objectPath(resource, object.metadata.namespace, object.metadata.name)}/status`, { status }, 'application/merge-patch+json');
    }
  }
  for (const deployment of scratch.list<Deployment>(R.deployments)) {
    const { namespace, name } = deployment.metadata;
    const revisions = scratch
      .owned<ReplicaSet>(R.replicasets, deployment.metadata.uid ?? '')
      .sort(
        (a, b) =>
          Number(a.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) -
          Number(b.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
      );
    const first = revisions[0];
    const cause = (rs: ReplicaSet | Deployment) => rs.metadata.annotations?.['kubernetes.io/change-cause'] ?? '';
    const { 'deployment.kubernetes.io/revision': _rev, ...annotations } = deployment.metadata.annotations ?? {};
    const initial: Deployment = first
      ? {
          ...deployment,
          metadata: { ...deployment.metadata, annotations: { ...annotations, 'kubernetes.io/change-cause': cause(first) } },
          spec: { ...deployment.spec, template: first.spec.template },
        }
      : deployment;
    await create(api, R.deployments, initial);
    if (!first) continue;
    const path = objectPath(R.deployments, namespace, name);
    await waitFor(
      async () => ((await api.call<{ status?: { observedGeneration?: number } }>('GET', path)).status?.observedGeneration ?? 0) >= 1,
      `the first revision of deployment ${name}`,
      30_000,
    );
    await api.call(
      'PATCH',
      path,
      { metadata: { annotations: { 'kubernetes.io/change-cause': cause(deployment) } }, spec: { template: deployment.spec.template } },
      'application/merge-patch+json',
    );
  }
  return world;
}
