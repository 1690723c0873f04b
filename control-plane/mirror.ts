// The sandbox's store, kept in step with a real API server, so that the
// sandbox's kubelet and scenarios run unchanged on a real control plane:
// - what the API server holds arrives by list-and-watch and replaces the local copy;
// - what the kubelet or a scenario writes is applied locally at once (they read
//   their own writes) and sent to the API server in order: a JSON merge patch of
//   what changed (status through the status subresource), a DELETE for a pod
//   given a deletionTimestamp or removed, a POST for a new object.
// A new object is not stored locally: the API server gives it its uid, and the
// watch brings it back with that.
import { R, type ResourceType } from '../sandbox/resources.js';
import { Store } from '../sandbox/store.js';
import type { KObject } from '../sandbox/types.js';
import { ApiStatusError, type RawApi, type WatchEvent } from './api.js';

/** Resources the node agent and the scenarios read. */
export const mirrored: readonly ResourceType[] = [R.namespaces, R.nodes, R.pods, R.configmaps, R.secrets, R.services, R.endpoints, R.deployments, R.events];

export function collectionPath(resource: ResourceType, namespace: string | undefined): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  return resource.namespaced && namespace ? `${base}/namespaces/${namespace}/${resource.plural}` : `${base}/${resource.plural}`;
}

export function objectPath(resource: ResourceType, namespace: string | undefined, name: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}

type Json = unknown;
const isPlain = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 merge patch that turns `from` into `to`; undefined when they are equal. */
export function mergePatch(from: Json, to: Json): Json {
  if (!isPlain(from) || !isPlain(to)) return JSON.stringify(from) === JSON.stringify(to) ? undefined : to;
  const patch: Record<string, Json> = {};
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    const d = mergePatch(from[k], v);
    if (d !== undefined) patch[k] = d;
  }
  for (const k of Object.keys(from)) if (from[k] !== undefined && to[k] === undefined) patch[k] = null;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** `v1`, `apps/v1`: a resource's apiVersion. */
export const apiVersionOf = (resource: ResourceType) => (resource.group ? `${resource.group}/${resource.version}` : resource.version);

/** Fields the API server owns (status, uid, resourceVersion, …): never part of a write. */
export function writable(object: KObject): Record<string, Json> {
  const { status: _status, ...rest } = object as KObject & { status?: unknown };
  const {
    resourceVersion: _rv,
    uid: _uid,
    creationTimestamp: _ct,
    generation: _g,
    managedFields: _mf,
    deletionTimestamp: _dt,
    deletionGracePeriodSeconds: _dg,
    ...metadata
  } = object.metadata as Record<string, Json>;
  return { ...rest, metadata };
}

export class MirrorStore extends Store {
  private remote = false;
  /** The last status sent for each object, by resource/namespace/name. */
  private readonly sentStatus = new Map<string, Json>();
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly api: RawApi,
    private readonly warn: (line: string) => void,
  ) {
    super();
  }

  /** Writes sent and not yet answered. */
  get inFlight(): number {
    return this.pending;
  }

  /** Waits until every write so far has been answered. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private fromRemote<T>(fn: () => T): T {
    this.remote = true;
    try {
      return fn();
    } finally {
      this.remote = false;
    }
  }

  private upsert(resource: ResourceType, object: KObject): void {
    const existing = this.get(resource, object.metadata.namespace, object.metadata.name);
    if (existing) super.update(resource, object);
    else super.create(resource, object);
  }

  /** A full list from the API server: it replaces whatever the mirror held of that resource. */
  applyList(resource: ResourceType, items: WatchEvent['object'][]): void {
    this.fromRemote(() => {
      const keep = new Set(items.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`));
      for (const o of this.list(resource))
        if (!keep.has(`${o.metadata.namespace ?? ''}/${o.metadata.name}`)) super.remove(resource, o.metadata.namespace, o.metadata.name);
      for (const item of items) this.upsert(resource, withKind(resource, item));
    });
  }

  /** One watch event from the API server. */
  applyEvent(resource: ResourceType, event: WatchEvent): void {
    this.fromRemote(() => {
      const object = withKind(resource, event.object);
      if (event.type === 'DELETED') {
        if (this.get(resource, object.metadata.namespace, object.metadata.name)) super.remove(resource, object.metadata.namespace, object.metadata.name);
      } else this.upsert(resource, object);
    });
  }

  override create<T extends KObject>(resource: ResourceType, object: T): T {
    if (this.remote) return super.create(resource, object);
    const body = { ...writable(object), apiVersion: apiVersionOf(resource), kind: resource.kind };
    this.send(
      `create ${resource.plural} ${object.metadata.name}`,
      () => this.api.call('POST', collectionPath(resource, object.metadata.namespace), body),
      [409],
    );
    return object;
  }

  override update<T extends KObject>(resource: ResourceType, object: T): T {
    if (this.remote) return super.update(resource, object);
    const { namespace, name } = object.metadata;
    const previous = this.get(resource, namespace, name);
    const stored = super.update(resource, object);
    if (!previous) return stored;
    const path = objectPath(resource, namespace, name);
    if (resource === R.pods && object.metadata.deletionTimestamp && !previous.metadata.deletionTimestamp) {
      const grace = (object.metadata as { deletionGracePeriodSeconds?: number }).deletionGracePeriodSeconds ?? 30;
      this.send(`delete pod ${name}`, () => this.api.call('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: grace }), [404]);
      return stored;
    }
    const spec = mergePatch(writable(previous), writable(object));
    if (spec !== undefined) this.send(`patch ${resource.plural} ${name}`, () => this.api.call('PATCH', path, spec, 'application/merge-patch+json'), [404]);
    // Status is compared with the last one sent, and sent whole: the local copy may be older than
    // the API server's (a watch event of an earlier write can land between two writes), and a
    // comparison or a diff against it could leave a newer write's field standing on the server.
    const key = `${resource.plural}/${namespace ?? ''}/${name}`;
    const before = (this.sentStatus.get(key) ?? (previous as { status?: Json }).status ?? {}) as Record<string, Json>;
    const after = ((object as { status?: Json }).status ?? {}) as Record<string, Json>;
    if (resource.subresources.status && mergePatch(before, after) !== undefined) {
      const status = { ...Object.fromEntries(Object.keys(before).map((k) => [k, null])), ...after };
      this.sentStatus.set(key, after);
      this.send(`patch ${resource.plural}/status ${name}`, () => this.api.call('PATCH', `${path}/status`, { status }, 'application/merge-patch+json'), [404]);
    }
    return stored;
  }

  override remove(resource: ResourceType, namespace: string | undefined, name: string): KObject {
    if (this.remote) return super.remove(resource, namespace, name);
    const removed = super.remove(resource, namespace, name);
    this.sentStatus.delete(`${resource.plural}/${namespace ?? ''}/${name}`);
    // The kubelet removes a pod once its containers stopped: with no grace left, as the real one does.
    const options = resource === R.pods ? { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } : undefined;
    this.send(`delete ${resource.plural} ${name}`, () => this.api.call('DELETE', objectPath(resource, namespace, name), options), [404]);
    return removed;
  }

  /** Queues a write; statuses in `expected` (already there, already gone) are answers, not failures. */
  private send(what: string, write: () => Promise<unknown>, expected: number[]): void {
    this.pending++;
    this.chain = this.chain
      .then(async () => void (await write()))
      .catch((err: unknown) => {
        if (err instanceof ApiStatusError && expected.includes(err.status)) return;
        this.warn(`node agent: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => this.pending--);
  }
}

function withKind(resource: ResourceType, object: WatchEvent['object']): KObject {
  return { apiVersion: apiVersionOf(resource), kind: resource.kind, ...object } as KObject;
}
