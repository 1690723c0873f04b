// Root-cause input: `kubectl get events --sort-by=.metadata.creationTimestamp | tail -20`,
// narrowed to the service's own objects (deployment, replica sets, pods, service).
import type { CoreV1Event } from '@kubernetes/client-node';
import { EventFindingsSchema, type EventFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import { call } from './kube/call.js';
import { isoTime } from './kube/objects.js';
import { redact, truncate } from './redact.js';

const maxEvents = 20;
const maxMessage = 300;

/** When the event last happened: series and lastTimestamp before the creation time kubectl sorts by. */
function eventTime(event: CoreV1Event): string {
  return isoTime(event.series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp) ?? '';
}

/** The deployment, its replica sets (X-<hash>) and pods (X-<hash>-<id>), and the service of the same name. */
function concernsService(event: CoreV1Event, deployment: string): boolean {
  const name = event.involvedObject.name ?? '';
  return name === deployment || name.startsWith(`${deployment}-`);
}

export async function recentEvents(deps: ActivityDeps, service: ServiceRef): Promise<EventFindings> {
  const k = deps.kube.clients(service.cluster);
  const { namespace } = service;
  const list = await call(k, { verb: 'list', resource: 'events', namespace }, () => k.core.listNamespacedEvent({ namespace }));
  const events = list.items
    .filter((event) => concernsService(event, service.deployment))
    .map((event) => ({
      time: eventTime(event),
      type: event.type ?? 'Normal',
      reason: event.reason ?? '',
      object: `${event.involvedObject.kind ?? ''}/${event.involvedObject.name ?? ''}`,
      message: truncate(redact.text(event.message ?? ''), maxMessage),
      count: event.series?.count ?? event.count ?? 1,
    }))
    .sort((a, b) => a.time.localeCompare(b.time));
  return EventFindingsSchema.parse({ events: events.slice(-maxEvents) });
}
