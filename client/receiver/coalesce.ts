// The receiver's way through an alert storm: Alertmanager redelivers (an HA pair
// sends everything twice, every group_interval repeats the group) and many
// deliveries for one service arrive at once. Without this each of them is one
// signal round trip, and Temporal serialises the signals of one workflow, so a
// storm queues behind itself. Two things, neither of which gives up durability
// (a 2xx still means the alerts are in Temporal):
//  - Deliveries for one service go one signal at a time (a lane per workflow);
//    those that arrive while a signal is in flight are folded into the next one
//    (single flight), and that signal's answer is every one's answer: its success
//    answers them all, its failure fails them all.
//  - A delivery that would change nothing in the incident is answered without a
//    round trip: the workflow's own rule (model/incident.ts takeAlerts) applied to
//    what this receiver already had accepted. A firing alert whose (fingerprint,
//    startsAt) the incident already has is a no-op there; a resolve is one only
//    when it repeats the last resolve with no new firing since. A re-fire (new
//    startsAt) and a resolve after a firing are always sent. What is known expires
//    (ttlMs): after an incident closes, a firing alert sent again opens the next one.
import { maxAlertsPerSignal } from '../../workflows/messages.js';
import type { Problem, ServiceDelivery } from './alertmanager.js';
import type { IncidentGateway, OpenIncidents, ServiceOutcome } from './gateway.js';

export interface CoalescingOptions {
  /** How long what was accepted for a service is known (default 60 s, far below Alertmanager's repeat_interval). */
  ttlMs?: number;
  /** Services remembered at most (default 10,000); the least recently accepted are forgotten first. */
  maxServices?: number;
  now?: () => number;
}

/** As many firing keys as the incident keeps (model/incident.ts maxFirings): one it has forgotten is new to it again. */
const firingsKept = 20;
/** Distinct deliveries whose check is remembered. */
const checksKept = 1_000;

interface Known {
  /** `fingerprint\0startsAt` of firing alerts accepted, oldest first. */
  firings: string[];
  /** The last resolved-only delivery accepted, while no new firing followed it. */
  lastResolve?: string;
  expiresAt: number;
}

interface Waiter {
  delivery: ServiceDelivery;
  resolve: (outcome: ServiceOutcome) => void;
  reject: (err: unknown) => void;
}

const firingKey = (a: { fingerprint: string; startsAt: string }) => `${a.fingerprint}\u0000${a.startsAt}`;
const resolveKey = (d: ServiceDelivery) => d.resolved.map((r) => `${r.fingerprint}\u0000${r.endsAt ?? ''}`).join('\u0001');

/** The outcome a waiter gets: its own alerts, the result of the signal that carried them. */
export function outcomeOf(delivery: ServiceDelivery, result: ServiceOutcome['result']): ServiceOutcome {
  const { service } = delivery;
  return {
    workflowId: delivery.workflowId,
    service: `${service.namespace}/${service.deployment}`,
    cluster: service.cluster,
    status: delivery.firing.length > 0 ? 'firing' : 'resolved',
    alerts: delivery.received.firing + delivery.received.resolved,
    firing: delivery.firing.length,
    resolved: delivery.resolved.length,
    result,
  };
}

/**
 * Folds `next` into `into` when one signal can carry both with the same effect as
 * two in order: both firing (the incident ignores the resolved alerts of a delivery
 * that fires) or both only resolved, within the per-signal caps. Undefined otherwise.
 */
export function fold(into: ServiceDelivery, next: ServiceDelivery): ServiceDelivery | undefined {
  if (into.workflowId !== next.workflowId) return undefined;
  if (into.firing.length > 0 !== next.firing.length > 0) return undefined;
  const firing = [...into.firing];
  const seen = new Set(firing.map(firingKey));
  for (const a of next.firing) if (!seen.has(firingKey(a)) && seen.add(firingKey(a))) firing.push(a);
  // The later resolve of an alert stands, in the later place (the incident reads the last one).
  const resolved = [...into.resolved.filter((r) => !next.resolved.some((n) => n.fingerprint === r.fingerprint)), ...next.resolved];
  if (firing.length > maxAlertsPerSignal || resolved.length > maxAlertsPerSignal) return undefined;
  return {
    service: into.service,
    workflowId: into.workflowId,
    alerts: [...into.alerts, ...next.alerts],
    received: { firing: into.received.firing + next.received.firing, resolved: into.received.resolved + next.received.resolved },
    firing,
    resolved,
  };
}

export class CoalescingGateway implements IncidentGateway {
  private readonly ttlMs: number;
  private readonly maxServices: number;
  private readonly now: () => number;
  /** By workflow ID; Map order is acceptance order, so the first entry is the one to forget first. */
  private readonly known = new Map<string, Known>();
  /** Deliveries waiting for the signal in flight of their workflow; a workflow with a lane has a signal in flight. */
  private readonly lanes = new Map<string, Waiter[]>();
  /** The answers of check by delivery, the oldest forgotten first. */
  private readonly checked = new Map<string, Problem[]>();
  /** Signals actually sent, and deliveries answered without one (for tests and the bench). */
  readonly stats = { signals: 0, folded: 0, duplicates: 0 };
  readonly openIncidents?: () => Promise<OpenIncidents>;

  constructor(
    private readonly inner: IncidentGateway,
    options: CoalescingOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxServices = options.maxServices ?? 10_000;
    this.now = options.now ?? Date.now;
    if (inner.openIncidents) this.openIncidents = () => inner.openIncidents?.() as Promise<OpenIncidents>;
  }

  /**
   * The inner check (it serialises the signal and the incident input to measure them)
   * once per distinct delivery: a storm repeats the same ones. Same alerts, same answer.
   */
  check(delivery: ServiceDelivery): Problem[] {
    const key = JSON.stringify([delivery.service, delivery.received, delivery.firing, delivery.resolved, delivery.alerts[0]]);
    const known = this.checked.get(key);
    if (known) return known;
    const problems = this.inner.check(delivery);
    this.checked.set(key, problems);
    if (this.checked.size > checksKept) this.checked.delete(this.checked.keys().next().value as string);
    return problems;
  }

  deliveryStats(): { signals: number; folded: number; duplicates: number } {
    return { ...this.stats };
  }

  ready(): Promise<boolean> {
    return this.inner.ready();
  }

  deliver(delivery: ServiceDelivery): Promise<ServiceOutcome> {
    if (this.isDuplicate(delivery)) {
      this.stats.duplicates++;
      return Promise.resolve(outcomeOf(delivery, 'duplicate'));
    }
    return new Promise((resolve, reject) => {
      const waiting = this.lanes.get(delivery.workflowId);
      if (waiting) {
        waiting.push({ delivery, resolve, reject });
        return;
      }
      this.lanes.set(delivery.workflowId, []);
      void this.send([{ delivery, resolve, reject }], delivery);
    });
  }

  /** A delivery the incident already has, counted as a duplicate answered without a signal. */
  alreadyHas(delivery: ServiceDelivery): boolean {
    if (!this.isDuplicate(delivery)) return false;
    this.stats.duplicates++;
    return true;
  }

  /** True when every alert of the delivery is one the incident already has (see the top of this file). */
  private isDuplicate(delivery: ServiceDelivery): boolean {
    const known = this.known.get(delivery.workflowId);
    if (!known) return false;
    if (known.expiresAt <= this.now()) {
      this.known.delete(delivery.workflowId);
      return false;
    }
    if (delivery.firing.length > 0) return delivery.firing.every((a) => known.firings.includes(firingKey(a)));
    return delivery.resolved.length > 0 && known.lastResolve === resolveKey(delivery);
  }

  /** One signal for `batch` (whose deliveries `delivery` folds), then the next batch of the lane, until the lane is empty. */
  private async send(batch: Waiter[], delivery: ServiceDelivery): Promise<void> {
    const workflowId = delivery.workflowId;
    try {
      this.stats.signals++;
      this.stats.folded += batch.length - 1;
      const outcome = await this.inner.deliver(delivery);
      if (outcome.result === 'signalled') this.accepted(delivery);
      for (const w of batch) w.resolve(outcomeOf(w.delivery, outcome.result));
    } catch (err) {
      // It may or may not have landed: forget what is known, so the retries are sent.
      this.known.delete(workflowId);
      for (const w of batch) w.reject(err);
    }
    const waiting = this.lanes.get(workflowId) ?? [];
    const next: Waiter[] = [];
    let folded: ServiceDelivery | undefined;
    while (waiting.length > 0) {
      const w = waiting[0] as Waiter;
      if (this.isDuplicate(w.delivery)) {
        waiting.shift();
        this.stats.duplicates++;
        w.resolve(outcomeOf(w.delivery, 'duplicate'));
        continue;
      }
      // In arrival order, as far as one signal can carry them (Temporal's size limits included).
      const candidate = folded === undefined ? w.delivery : fold(folded, w.delivery);
      if (!candidate || (folded !== undefined && this.inner.check(candidate).length > 0)) break;
      folded = candidate;
      next.push(waiting.shift() as Waiter);
    }
    if (next.length === 0 || folded === undefined) {
      this.lanes.delete(workflowId);
      return;
    }
    await this.send(next, folded);
  }

  /** What the incident now has, after a delivery it took. */
  private accepted(delivery: ServiceDelivery): void {
    const known = this.known.get(delivery.workflowId) ?? { firings: [], expiresAt: 0 };
    this.known.delete(delivery.workflowId);
    if (delivery.firing.length > 0) {
      const fresh = delivery.firing.map(firingKey).filter((k) => !known.firings.includes(k));
      known.firings = [...known.firings, ...fresh].slice(-firingsKept);
      if (fresh.length > 0) delete known.lastResolve;
    } else {
      known.lastResolve = resolveKey(delivery);
    }
    known.expiresAt = this.now() + this.ttlMs;
    this.known.set(delivery.workflowId, known);
    while (this.known.size > this.maxServices) this.known.delete(this.known.keys().next().value as string);
  }
}
