// What customers and stakeholders are told (runbook Communication). Public texts
// name the service and nothing else of the cluster: no pods, namespaces, causes,
// commands or evidence; they are sent as they are written here.
import type { CustomerImpact, PublicState, ServiceRef } from './domain.js';
import type { DiagnosisSummary } from './records.js';
import { formatDuration } from './units.js';

/** Diagnoses that name no cause: the public state stays "investigating". */
const noCause = new Set(['healthy', 'unknown', 'investigation-failed']);

/** The incident's public state, from what the incident knows. */
export function publicStateOf(incident: { resolved: boolean; restored: boolean; diagnosis?: DiagnosisSummary | undefined }): PublicState {
  if (incident.resolved) return 'resolved';
  if (incident.restored) return 'monitoring';
  if (incident.diagnosis && !noCause.has(incident.diagnosis.category)) return 'identified';
  return 'investigating';
}

const publicTexts: Record<PublicState, (name: string) => string> = {
  investigating: (name) => `We are investigating an outage of ${name}. Requests to ${name} may fail. We will post an update as we learn more.`,
  identified: (name) => `We have identified the cause of the ${name} outage and are working on a fix.`,
  monitoring: (name) => `A fix has been applied and ${name} is responding again. We are monitoring the results.`,
  resolved: (name) => `This incident has been resolved: ${name} is operating normally.`,
};

const stateLabels: Record<PublicState, string> = { investigating: 'Investigating', identified: 'Identified', monitoring: 'Monitoring', resolved: 'Resolved' };

/** The status page's update for a public state: a title and a body in public wording. */
export function statusPageUpdate(service: ServiceRef, state: PublicState): { summary: string; body: string } {
  const name = service.deployment;
  return { summary: `${name}: ${stateLabels[state]}`, body: publicTexts[state](name) };
}

/** The customer notification when an SLA breach is imminent (public wording). */
export function customerNotice(service: ServiceRef, outageMs: number): { summary: string; body: string } {
  const name = service.deployment;
  return {
    summary: `${name}: service disruption for ${formatDuration(outageMs)}`,
    body:
      `${name} has been unavailable or degraded for ${formatDuration(outageMs)}. Our engineers are working to restore it, ` +
      `and we will notify you when it is resolved. We apologise for the disruption.`,
  };
}

/** One line on customers for people inside: affected, not, or not known yet, with the first piece of evidence. */
export function customersLine(impact: CustomerImpact | undefined): string {
  if (!impact) return 'Customers: not checked yet';
  const first = impact.evidence[0] ? ` (${impact.evidence[0]})` : '';
  return `Customers: ${impact.affected ? 'affected' : impact.customerFacing ? 'not affected' : 'internal service, not affected'}${first}`;
}
