// v1 Events as the controllers, the scheduler and the kubelet record them:
// repeats of the same event bump count and lastTimestamp instead of adding
// objects, and old events expire (the API server keeps them an hour).
import { R } from './resources.js';
import { keyOf, type Store } from './store.js';
import { isoSeconds } from './time.js';
import type { CoreEvent, KObject } from './types.js';

const ttlMs = 60 * 60 * 1000;
const maxEvents = 5_000;

export interface EventSource {
  component: string;
  host?: string;
}

export class EventRecorder {
  private readonly byIdentity = new Map<string, string>();
  private lastNanos = 0n;

  constructor(private readonly store: Store) {}

  record(involved: KObject, type: 'Normal' | 'Warning', reason: string, message: string, source: EventSource, fieldPath?: string): void {
    const namespace = involved.metadata.namespace ?? 'default';
    const identity = `${involved.metadata.uid}|${type}|${reason}|${message}|${source.component}|${fieldPath ?? ''}`;
    const now = isoSeconds(Date.now());
    const existingKey = this.byIdentity.get(identity);
    const existing = existingKey ? this.store.get<CoreEvent>(R.events, namespace, existingKey.split('/')[1] ?? '') : undefined;
    if (existing) {
      this.store.update(R.events, { ...existing, count: existing.count + 1, lastTimestamp: now });
      return;
    }
    // Named <object>.<hex nanoseconds> as client-go's recorder does, so listing by name lists by time.
    const nanos = BigInt(Date.now()) * 1_000_000n;
    this.lastNanos = nanos > this.lastNanos ? nanos : this.lastNanos + 1n;
    const name = `${involved.metadata.name}.${this.lastNanos.toString(16)}`;
    const event: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: involved.kind,
        namespace: involved.metadata.namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid ?? '',
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    };
    this.store.create(R.events, event);
    this.byIdentity.set(identity, keyOf(namespace, name));
  }

  /** Drops events older than the TTL, and the oldest beyond a cap. */
  prune(now: number): void {
    const events = this.store.list<CoreEvent>(R.events).sort((a, b) => a.lastTimestamp.localeCompare(b.lastTimestamp));
    const excess = events.length - maxEvents;
    const doomed = events.filter((e, i) => i < excess || now - Date.parse(e.lastTimestamp) > ttlMs);
    for (const e of doomed) {
      this.store.remove(R.events, e.metadata.namespace, e.metadata.name);
    }
    if (doomed.length > 0) {
      const live = new Set(this.store.list(R.events).map((e) => keyOf(e.metadata.namespace, e.metadata.name)));
      for (const [identity, key] of this.byIdentity) if (!live.has(key)) this.byIdentity.delete(identity);
    }
  }
}
