// Everything that talks to an incident from outside, in one module that the
// workflows, the client and the tests import: task queue, workflow IDs, signals,
// the decide update, queries, their payload schemas, and the start options.
// Signal payloads are validated in the workflow with these schemas: a bad one is
// recorded and ignored, never a crash.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import { z } from 'zod';
import type { ServiceRef } from './domain.js';
import { parseImageReference } from './image-reference.js';
import { AlertSchema, IncidentInputSchema, type IncidentConfig, type IncidentInput } from './input.js';
import type { IncidentStatus, PostIncidentStatus } from './records.js';
import type { FreezeRequest, GovernorStatus, LeaseAnswer, LeaseRelease, LeaseRequest, UnfreezeRequest } from './model/governor.js';
import { staticDetails, staticSummary } from './render.js';
import {
  AwaitingApproval,
  IncidentCluster,
  IncidentNamespace,
  IncidentNumber,
  IncidentPhase,
  IncidentService,
  IncidentSeverity,
  MajorIncident,
} from './search-attributes.js';

export { IncidentInputSchema, type IncidentConfig, type IncidentInput } from './input.js';
export type * from './records.js';

/** The task queue the incident worker polls. */
export const TASK_QUEUE = 'incident-response';

/** One open incident per service: alerts signal-with-start this ID, so a re-fired alert joins it. */
export function incidentWorkflowId(service: ServiceRef): string {
  return `incident/${service.cluster}/${service.namespace}/${service.deployment}`;
}

/**
 * The major incident of one common cause in one cluster (workflows/major-incident.ts):
 * `major-<cluster>-<8 hex digits of the cause's key>`. The same cause gives the same ID,
 * so every service that fails with it joins the same parent by signal-with-start.
 */
export function majorIncidentId(cluster: string, causeKey: string): string {
  return `major-${cluster}-${fnv1a(causeKey)}`;
}

/** `incident show MAJOR-…`: the workflow ID of a major incident, whatever the case of its prefix. */
export function majorIncidentIdFrom(ref: string): string | undefined {
  return /^major-/i.test(ref) ? `major-${ref.slice('major-'.length)}` : undefined;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable name (not a security hash). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * The post-incident child of one incident. The incident ID is reused by the next
 * incident of the same service (and a number can come back with the same alert),
 * so the child's ID adds what no other incident has: the incident's first run ID
 * (workflowInfo().firstExecutionRunId, the same across continue-as-new).
 * Incidents resolved before kept their number here (`INC-<n>`).
 */
export function postIncidentWorkflowId(incidentId: string, firstRunId: string): string {
  return `${incidentId}/post-incident/${firstRunId}`;
}

// --- Payloads ----------------------------------------------------------------

const Actor = z.string().trim().min(1).max(200);

export const ApprovalSignalSchema = z.object({
  by: Actor,
  /** The action number; omitted means the one awaiting approval now. */
  action: z.number().int().positive().optional(),
  comment: z.string().max(2000).optional(),
  /** An approval channel's signature of this decision (workflows/decision-signature.ts); checked by the incident, not here. */
  signature: z.unknown().optional(),
});
export type ApprovalSignal = z.input<typeof ApprovalSignalSchema>;

export const DecideRequestSchema = ApprovalSignalSchema.extend({ decision: z.enum(['approve', 'reject']) });
export type DecideRequest = z.input<typeof DecideRequestSchema>;

/**
 * A hotfix image a person supplies (the runbook's "Code Issues": kubectl set image
 * deployment/X agent-manager=IMAGE). The incident dry-runs it and asks for approval
 * like any action; nothing proposes a set image without it.
 */
export const HotfixRequestSchema = z.object({
  by: Actor,
  image: z.string().superRefine((text, ctx) => {
    const parsed = parseImageReference(text);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  }),
  /** The container to change; omitted means the deployment's first (the runbook's agent-manager). */
  container: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a container name (lower case letters, digits and -)')
    .max(63)
    .optional(),
  comment: z.string().max(2000).optional(),
});
export type HotfixRequest = z.input<typeof HotfixRequestSchema>;

/** An action whose approval expired, proposed again by a person at L2 or above: looked at again, dry-run again, asked again. */
export const ReproposeRequestSchema = z.object({
  by: Actor,
  action: z.number().int().positive(),
  comment: z.string().max(2000).optional(),
});
export type ReproposeRequest = z.input<typeof ReproposeRequestSchema>;

export interface ReproposeOutcome {
  action: number;
  command: string;
  by: string;
  /** When it is taken. */
  next: string;
}

export interface HotfixOutcome {
  /** What the incident will dry-run and then ask approval for. */
  image: string;
  container?: string;
  by: string;
  /** When it is taken: now, or after the pending approval is decided. */
  next: string;
}

export interface DecisionOutcome {
  action: number;
  /** False for a rejection, and for a first approval that waits for a second approver (then `needs` says so). */
  approved: boolean;
  by: string;
  at: string;
  command: string;
  /** The two-person rule: who else must approve before it is applied. */
  needs?: string;
}

export const AcknowledgeSignalSchema = z.object({ by: Actor });
export type AcknowledgeSignal = z.input<typeof AcknowledgeSignalSchema>;

export const NoteSignalSchema = z.object({ by: Actor, text: z.string().trim().min(1).max(2000) });
export type NoteSignal = z.input<typeof NoteSignalSchema>;

export const AlertFiredSignalSchema = AlertSchema;
export type AlertFiredSignal = z.input<typeof AlertFiredSignalSchema>;

export const AlertResolvedSignalSchema = z.object({
  fingerprint: z.string().min(1).max(128),
  endsAt: z.iso.datetime({ offset: true }).optional(),
});
export type AlertResolvedSignal = z.input<typeof AlertResolvedSignalSchema>;

/** The most alerts of one service that one `alerts` signal carries of each kind; the rest are only counted. */
export const maxAlertsPerSignal = 20;

/**
 * The alerts of one service in one webhook delivery, folded into one signal:
 * however large the Alertmanager group, each delivery adds one signal (and a
 * bounded payload) to the incident's history. Firing alerts are deduplicated by
 * (fingerprint, startsAt), resolved ones by fingerprint, most severe first.
 */
export const AlertBatchSignalSchema = z.object({
  firing: z.array(AlertFiredSignalSchema).max(maxAlertsPerSignal).default([]),
  resolved: z.array(AlertResolvedSignalSchema).max(maxAlertsPerSignal).default([]),
  /** How many alerts of this service the delivery carried, before deduplication and the cap. */
  received: z.number().int().min(0),
});
export type AlertBatchSignal = z.input<typeof AlertBatchSignalSchema>;

export const EscalateSignalSchema = z.object({
  by: Actor,
  reason: z.string().trim().min(1).max(2000),
  /** Omitted means the next level. */
  level: z.number().int().min(1).max(3).optional(),
});
export type EscalateSignal = z.input<typeof EscalateSignalSchema>;

export const ResolveSignalSchema = z.object({ by: Actor, reason: z.string().max(2000).optional() });
export type ResolveSignal = z.input<typeof ResolveSignalSchema>;

export const CompleteTaskSignalSchema = z.object({ taskId: z.string().min(1).max(100), by: Actor, note: z.string().max(2000).optional() });
export type CompleteTaskSignal = z.input<typeof CompleteTaskSignalSchema>;

// --- The incident workflow ---------------------------------------------------

export const approveSignal = defineSignal<[ApprovalSignal]>('approve');
export const rejectSignal = defineSignal<[ApprovalSignal]>('reject');
export const acknowledgeSignal = defineSignal<[AcknowledgeSignal]>('acknowledge');
export const addNoteSignal = defineSignal<[NoteSignal]>('addNote');
export const alertFiredSignal = defineSignal<[AlertFiredSignal]>('alertFired');
export const alertResolvedSignal = defineSignal<[AlertResolvedSignal]>('alertResolved');
/** One webhook delivery's alerts for this service (the receiver sends this; the two above stay for incidents started before it). */
export const alertsSignal = defineSignal<[AlertBatchSignal]>('alerts');
export const escalateSignal = defineSignal<[EscalateSignal]>('escalate');
export const resolveSignal = defineSignal<[ResolveSignal]>('resolve');
/** Approve or reject with validation first: unknown or decided action, or approver not allowed, is refused. */
export const decideUpdate = defineUpdate<DecisionOutcome, [DecideRequest]>('decide');
/** A person's hotfix image: validated (grammar, approver, phase), then dry-run and approval as any action. */
export const hotfixUpdate = defineUpdate<HotfixOutcome, [HotfixRequest]>('proposeHotfix');
/** An expired action proposed again by a person at L2 or above: validated (approver, expired, level), then as any action. */
export const reproposeUpdate = defineUpdate<ReproposeOutcome, [ReproposeRequest]>('repropose');
export const statusQuery = defineQuery<IncidentStatus>('status');

// --- The post-incident workflow ----------------------------------------------

export const completeTaskSignal = defineSignal<[CompleteTaskSignal]>('completeTask');
export const tasksQuery = defineQuery<PostIncidentStatus>('tasks');

// --- The major incident (workflows/major-incident.ts) ------------------------

/** What a child incident tells its major incident when it joins (by signal-with-start, from the joinMajorIncident activity). */
export interface MajorJoin {
  incidentId: string;
  service: ServiceRef;
  title: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  openedAt: string;
  phase: string;
  /** Whether the child has paged L1 already (its hold ran out before its diagnosis). */
  paged: boolean;
  diagnosis: { category: string; cause: string; evidence: string[] };
  /** The child's ladder and status cadence: the parent's, when this child leads. */
  durations: { escalationL2: number; escalationL3: number; statusInterval: number };
}

/** The major incident's input: its cause, and the cluster it is in. */
export interface MajorIncidentInput {
  majorId: string;
  cluster: string;
  cause: { key: string; label: string };
  /** The parent continues as new past this many events (the lead's limits.continueAsNewAfterEvents). */
  continueAsNewAfterEvents?: number;
}

/** What the parent tells a child: lead (it pages as usual) or folded (the parent pages and posts status). */
export interface MajorRole {
  majorId: string;
  role: 'lead' | 'folded';
  /** A lead folded when the second service joined: its ladder stops, the parent's carries on from its page. */
  leadFolded?: boolean;
  cause: string;
}

/** A child's phase, sent on each change and when it resolves. */
export interface ChildPhase {
  incidentId: string;
  phase: string;
  restored: boolean;
}

export interface MajorChild {
  incidentId: string;
  service: ServiceRef;
  title: string;
  role: 'lead' | 'folded';
  joinedAt: string;
  phase: string;
  restored: boolean;
  diagnosis: string;
  /** The child's workflow ended without telling the parent it resolved (terminated, failed, timed out): its Temporal status. */
  ended?: string;
}

export interface MajorStatus {
  majorId: string;
  cause: { key: string; label: string };
  cluster: string;
  /** Two services or more: a major incident, which pages and posts status for all. */
  major: boolean;
  phase: 'open' | 'major' | 'resolved';
  openedAt: string;
  majorAt?: string;
  resolvedAt?: string;
  leadId?: string;
  escalationLevel: number;
  /** The lead's diagnosis, which every child shares. */
  diagnosis?: { category: string; cause: string; evidence: string[] };
  children: MajorChild[];
  timeline: { at: string; text: string }[];
}

/** Options of the signal-with-start that opens (or joins) a major incident. */
export function majorIncidentStartOptions(input: MajorIncidentInput): {
  workflowId: string;
  taskQueue: string;
  args: [MajorIncidentInput];
  staticSummary: string;
  typedSearchAttributes: SearchAttributePair[];
} {
  return {
    workflowId: input.majorId,
    taskQueue: TASK_QUEUE,
    args: [input],
    staticSummary: `Major incident candidate in ${input.cluster}: ${input.cause.label}`.slice(0, 200),
    typedSearchAttributes: [
      { key: MajorIncident, value: input.majorId },
      { key: IncidentCluster, value: input.cluster },
      { key: IncidentPhase, value: 'open' },
    ],
  };
}

export const joinMajorSignal = defineSignal<[MajorJoin]>('joinMajor');
export const childPhaseSignal = defineSignal<[ChildPhase]>('childPhase');
export const majorRoleSignal = defineSignal<[MajorRole]>('majorRole');
export const majorStatusQuery = defineQuery<MajorStatus>('majorStatus');

// --- Starting an incident ----------------------------------------------------

/** The search attributes every incident carries from its start (the workflow keeps them current). */
export function incidentSearchAttributes(config: IncidentConfig, phase: string): SearchAttributePair[] {
  return [
    { key: IncidentService, value: config.service.deployment },
    { key: IncidentNamespace, value: config.service.namespace },
    { key: IncidentCluster, value: config.service.cluster },
    { key: IncidentSeverity, value: config.alert.severity },
    { key: IncidentPhase, value: phase },
    { key: AwaitingApproval, value: false },
    ...(config.incidentNumber === undefined ? [] : [{ key: IncidentNumber, value: config.incidentNumber }]),
  ];
}

/**
 * Options for client.workflow.start / signalWithStart of an incident: ID, task
 * queue, the UI's static summary and details, and typed search attributes.
 * Throws a ZodError on bad input, before anything starts.
 */
export function incidentStartOptions(input: IncidentInput): {
  workflowId: string;
  taskQueue: string;
  args: [IncidentInput];
  staticSummary: string;
  staticDetails: string;
  typedSearchAttributes: SearchAttributePair[];
} {
  const config = IncidentInputSchema.parse(input);
  return {
    workflowId: incidentWorkflowId(config.service),
    taskQueue: TASK_QUEUE,
    // The parsed form: the history shows the effective policy, every default filled in.
    args: [config],
    staticSummary: staticSummary(config),
    staticDetails: staticDetails(config),
    typedSearchAttributes: incidentSearchAttributes(config, 'investigating'),
  };
}

// --- The remediation governor (one per cluster) ------------------------------

export {
  FreezeRequestSchema,
  LeaseReleaseSchema,
  LeaseRequestSchema,
  UnfreezeRequestSchema,
  type FreezeRequest,
  type GovernorStatus,
  type LeaseAnswer,
  type LeaseRelease,
  type LeaseRequest,
  type UnfreezeRequest,
} from './model/governor.js';

/** One governor per cluster: incidents' lease requests and the CLI's freezes signal-with-start this ID. */
export function governorWorkflowId(cluster: string): string {
  return `governor/${cluster}`;
}

/** A change lease asked for by an incident (sent by the requestChangeLease activity, which adds the worker's policy). */
export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
/** The change was verified or failed: the lease ends (and an applied automatic fix starts the service's cooldown). */
export const releaseLeaseSignal = defineSignal<[LeaseRelease]>('releaseLease');
export const freezeSignal = defineSignal<[FreezeRequest]>('freeze');
export const unfreezeSignal = defineSignal<[UnfreezeRequest]>('unfreeze');
export const governorStatusQuery = defineQuery<GovernorStatus>('governorStatus');
/** The governor's answer, signalled to the incident that asked: granted, queued (why), refused (why), or needs a person (the cooldown). */
export const leaseAnswerSignal = defineSignal<[LeaseAnswer]>('leaseAnswer');
