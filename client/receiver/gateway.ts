// What the receiver needs from Temporal, and the two answers of Temporal it
// treats apart: client/incidents.ts implements it; tests pass their own.
import type { Problem, ServiceDelivery } from './alertmanager.js';

/** What became of one service's alerts. */
export interface ServiceOutcome {
  workflowId: string;
  /** `namespace/deployment` */
  service: string;
  cluster: string;
  /** firing when any alert of the delivery fires for this service, else resolved. */
  status: 'firing' | 'resolved';
  /** How many alerts of the delivery were about this service. */
  alerts: number;
  /** How many of them the `alerts` signal carried, after deduplication and the cap. */
  firing: number;
  resolved: number;
  /**
   * signalled: joined or started; no-open-incident: only resolved alerts, and no incident open; duplicate: the
   * incident has these alerts already (nothing sent); spooled: on the receiver's disk, sent to Temporal behind the answer.
   */
  result: 'signalled' | 'no-open-incident' | 'duplicate' | 'spooled';
}

/** Temporal could not be reached, or did not answer in time: the delivery may be retried (503). */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

/** Temporal refused what the checks let through: the same delivery would be refused again (422). */
export class TemporalRefusedError extends Error {
  override name = 'TemporalRefusedError';
}

/** What the receiver needs from Temporal (client/incidents.ts implements it). */
export interface IncidentGateway {
  /** Checks what `deliver` would send for this service against the workflow's and Temporal's limits; sends nothing. */
  check(delivery: ServiceDelivery): Problem[];
  /**
   * Firing alerts: signal-with-start; only resolved ones: signal the open incident, if any.
   * Throws TemporalUnavailableError or TemporalRefusedError for Temporal's answers; anything else is a fault.
   */
  deliver(delivery: ServiceDelivery): Promise<ServiceOutcome>;
  /** Temporal answers (within a short deadline). */
  ready(): Promise<boolean>;
  /** True when the incident already has everything this delivery carries (coalesce.ts): it would change nothing. */
  alreadyHas?(delivery: ServiceDelivery): boolean;
  /** Signals sent, deliveries folded into another's signal, and duplicates answered without one (for /metrics). */
  deliveryStats?(): { signals: number; folded: number; duplicates: number };
  /** Open incidents by phase, and those waiting for an approval, from Temporal's visibility (for /metrics). */
  openIncidents?(): Promise<OpenIncidents>;
}

export interface OpenIncidents {
  byPhase: Record<string, number>;
  awaitingApproval: number;
}
