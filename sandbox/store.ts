// The object store: one map per resource, a cluster-wide resourceVersion counter
// (as etcd's revision), an owner index for controllers and garbage collection,
// and a bounded change history so a watch can resume from a list's resourceVersion.
//
// Stored objects are never mutated in place: writers pass a new object, so readers
// (and open watches) can hold references without copying.
import { randomUUID } from 'node:crypto';
import { alreadyExists, notFound } from './errors.js';
import type { ResourceType } from './resources.js';
import { isoSeconds } from './time.js';
import type { KObject } from './types.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly type: ChangeType;
  readonly resource: ResourceType;
  readonly object: KObject;
  /** The object before a modification, so a filtered watch can tell "left the selection" from "changed". */
  readonly previous?: KObject;
  readonly rv: number;
}

interface Bucket {
  objects: Map<string, KObject>;
  /** Keys in order, overall ('') and per namespace; rebuilt after an add or a delete. */
  sortedKeys: Map<string, string[]>;
  byOwner: Map<string, Set<string>>;
  /** "key=value" of every label to the objects carrying it, so a label selector need not scan them all. */
  byLabel: Map<string, Set<string>>;
}

// About what the API server's watch cache keeps; a watch resuming from an older version gets 410 Gone.
const historyLimit = 5_000;

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class Store {
  private rv = 1;
  private readonly buckets = new Map<ResourceType, Bucket>();
  private readonly history: Change[] = [];
  private truncated = false;
  private readonly listeners = new Set<(change: Change) => void>();

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(resource: ResourceType): Bucket {
    let b = this.buckets.get(resource);
    if (!b) {
      b = { objects: new Map(), sortedKeys: new Map(), byOwner: new Map(), byLabel: new Map() };
      this.buckets.set(resource, b);
    }
    return b;
  }

  get<T extends KObject = KObject>(resource: ResourceType, namespace: string | undefined, name: string): T | undefined {
    return this.bucket(resource).objects.get(keyOf(namespace, name)) as T | undefined;
  }

  /**
   * Objects in key order (namespace/name), as etcd lists them; all namespaces when
   * none is given; only those with the label when one is given.
   */
  list<T extends KObject = KObject>(resource: ResourceType, namespace?: string, label?: readonly [string, string]): T[] {
    const b = this.bucket(resource);
    let keys: string[];
    if (label) {
      const prefix = namespace ? `${namespace}/` : '';
      keys = [...(b.byLabel.get(`${label[0]}=${label[1]}`) ?? [])].filter((k) => k.startsWith(prefix)).sort();
    } else {
      const scope = namespace ?? '';
      let cached = b.sortedKeys.get(scope);
      if (!cached) {
        cached = [...b.objects.keys()].filter((k) => !namespace || k.startsWith(`${namespace}/`)).sort();
        b.sortedKeys.set(scope, cached);
      }
      keys = cached;
    }
    return keys.map((k) => b.objects.get(k)) as T[];
  }

  /** Objects of a resource with an owner reference to the given uid. */
  owned<T extends KObject = KObject>(resource: ResourceType, ownerUid: string): T[] {
    const b = this.bucket(resource);
    return [...(b.byOwner.get(ownerUid) ?? [])].map((k) => b.objects.get(k)).filter((o) => o !== undefined) as T[];
  }

  /** Stores a new object: assigns uid, creationTimestamp (unless given) and resourceVersion. */
  create<T extends KObject>(resource: ResourceType, object: T): T {
    const b = this.bucket(resource);
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    if (b.objects.has(key)) throw alreadyExists(resource.plural, resource.group, object.metadata.name);
    const rv = ++this.rv;
    const stored = {
      ...object,
      metadata: {
        ...object.metadata,
        uid: object.metadata.uid ?? randomUUID(),
        creationTimestamp: object.metadata.creationTimestamp ?? isoSeconds(Date.now()),
        resourceVersion: String(rv),
      },
    };
    b.objects.set(key, stored);
    b.sortedKeys.clear();
    this.index(b, key, undefined, stored);
    this.emit({ type: 'ADDED', resource, object: stored, rv });
    return stored;
  }

  /** Replaces an existing object; the caller has already checked preconditions. */
  update<T extends KObject>(resource: ResourceType, object: T): T {
    const b = this.bucket(resource);
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = b.objects.get(key);
    if (!previous) throw notFound(resource.plural, resource.group, object.metadata.name);
    const rv = ++this.rv;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
    b.objects.set(key, stored);
    this.index(b, key, previous, stored);
    this.emit({ type: 'MODIFIED', resource, object: stored, previous, rv });
    return stored;
  }

  remove(resource: ResourceType, namespace: string | undefined, name: string): KObject {
    const b = this.bucket(resource);
    const key = keyOf(namespace, name);
    const previous = b.objects.get(key);
    if (!previous) throw notFound(resource.plural, resource.group, name);
    b.objects.delete(key);
    b.sortedKeys.clear();
    this.index(b, key, previous, undefined);
    const rv = ++this.rv;
    // A deleted object is reported with the resourceVersion of its deletion, as the API server does.
    const object = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(rv) } };
    this.emit({ type: 'DELETED', resource, object, rv });
    return object;
  }

  private index(b: Bucket, key: string, before: KObject | undefined, after: KObject | undefined): void {
    const labelsBefore = Object.entries(before?.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    const labelsAfter = Object.entries(after?.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const l of labelsBefore) {
      if (labelsAfter.includes(l)) continue;
      const set = b.byLabel.get(l);
      set?.delete(key);
      if (set?.size === 0) b.byLabel.delete(l);
    }
    for (const l of labelsAfter) {
      let set = b.byLabel.get(l);
      if (!set) b.byLabel.set(l, (set = new Set()));
      set.add(key);
    }
    const was = (before?.metadata.ownerReferences ?? []).map((o) => o.uid);
    const now = (after?.metadata.ownerReferences ?? []).map((o) => o.uid);
    for (const uid of was) {
      if (now.includes(uid)) continue;
      const set = b.byOwner.get(uid);
      set?.delete(key);
      if (set?.size === 0) b.byOwner.delete(uid);
    }
    for (const uid of now) {
      let set = b.byOwner.get(uid);
      if (!set) b.byOwner.set(uid, (set = new Set()));
      set.add(key);
    }
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes to a resource after a resourceVersion, or 'expired' when the history no longer reaches back that far. */
  changesSince(resource: ResourceType, rv: number): Change[] | 'expired' {
    const oldest = this.history[0];
    if (this.truncated && oldest && rv < oldest.rv - 1) return 'expired';
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.history[mid]?.rv ?? 0) <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo).filter((c) => c.resource === resource);
  }

  private emit(change: Change): void {
    this.history.push(change);
    // Trim in batches: shifting a large array on every write would cost more than the write.
    if (this.history.length > historyLimit * 1.25) {
      this.history.splice(0, this.history.length - historyLimit);
      this.truncated = true;
    }
    for (const listener of this.listeners) listener(change);
  }
}
