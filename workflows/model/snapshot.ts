// What one incident carries from a run to the next (continue-as-new): its data,
// the single list of fields below, and where the lifecycle resumes. The model's
// persistent state IS an IncidentData, so a field cannot be in the model and
// missing from the snapshot. Snapshots are versioned; a restore validates and
// migrates what an older build wrote.
//
// Adding a field: add it here with a default (`.default(...)`), so a snapshot
// written before it restores; bump snapshotSchemaVersion only when a field's
// meaning changes, and migrate the older version in restoreSnapshot().
import { z } from 'zod';
import type { ActionRecord, DiagnosisSummary, TimelineEntry } from '../records.js';
import { EventSchema, LogExcerptSchema, publicStates, type Notification, type PodCounters } from '../domain.js';
import type { MonitorThresholds } from '../health-verdict.js';
import { describeIssues } from '../input.js';

export const snapshotSchemaVersion = 1;

const severities = ['info', 'warning', 'error', 'critical'] as const;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const ActionRecordSchema = z.custom<ActionRecord>(
  (v) =>
    isRecord(v) &&
    typeof v['n'] === 'number' &&
    isRecord(v['action']) &&
    typeof v['command'] === 'string' &&
    typeof v['outcome'] === 'string' &&
    typeof v['idempotencyKey'] === 'string',
  'an action record needs n, action, command, idempotencyKey and outcome',
);
const DiagnosisSchema = z.custom<DiagnosisSummary>(
  (v) => isRecord(v) && typeof v['category'] === 'string' && Array.isArray(v['evidence']),
  'a diagnosis needs category and evidence',
);
const NotificationSchema = z.custom<Notification>(
  (v) => isRecord(v) && typeof v['channel'] === 'string' && typeof v['event'] === 'string' && typeof v['summary'] === 'string' && typeof v['body'] === 'string',
  'a notification needs channel, event, summary and body',
);
const TimelineEntrySchema = z.custom<TimelineEntry>(
  (v) => isRecord(v) && typeof v['at'] === 'string' && typeof v['kind'] === 'string' && typeof v['text'] === 'string',
  'a timeline entry needs at, kind and text',
);
const Person = z.object({ by: z.string(), at: z.string() });

/** Everything an incident knows that outlives a run. */
export const IncidentDataSchema = z.object({
  /** This run's number (the first is 1). */
  run: z.number().int().positive(),
  openedAt: z.number(),
  severity: z.enum(severities),
  alert: z.object({
    name: z.string(),
    summary: z.string(),
    fingerprint: z.string(),
    startsAt: z.string(),
    fired: z.number().int(),
    deliveries: z.number().int(),
    resolvedAt: z.string().optional(),
  }),
  /** Firings seen (fingerprint@startsAt), the newest last: a repeat of one changes nothing. */
  firings: z.array(z.string()),
  acknowledged: Person.optional(),
  restoredAt: z.number().optional(),
  /** Whether the last restore came from one of our actions (for the resolution). */
  restoredByAction: z.boolean().default(false),
  /** Restarts of the pods when verification declared the service restored: the monitor's baseline. */
  restartsAtRestore: z.number().default(0),
  escalationLevel: z.number().int().min(0).max(3),
  investigations: z.number().int().min(0),
  findingsSummary: z.array(z.string()),
  /** The latest RCA log excerpts an investigation found (grep -B5 -A5 "ERROR\|FATAL"), for the summary report. */
  rcaLogs: z.array(LogExcerptSchema).optional(),
  /** The latest investigation's events that had any (kubectl get events … | tail), at most rcaEventCount, for the report. */
  rcaEvents: z.array(EventSchema).optional(),
  diagnosis: DiagnosisSchema.optional(),
  actions: z.array(ActionRecordSchema),
  nextStatusAt: z.number(),
  timeline: z.array(TimelineEntrySchema),
  timelineOmitted: z.number().int().min(0),
  // People's and the alert source's input, kept until the lifecycle acts on it (in this run or the next).
  resolveRequested: z.object({ by: z.string(), reason: z.string().optional() }).optional(),
  /** A new firing while monitoring or escalated: investigate again. */
  refired: z.boolean().default(false),
  /** The alert resolved while escalated: verify the service. */
  alertResolvedPending: z.boolean().default(false),
  /** Messages written so far: the next one's id. */
  messagesSent: z.number().int().min(0).default(0),
  /** Messages not yet handed to delivery: the next run sends them first. */
  outbox: z.array(NotificationSchema).default([]),
  /** A hotfix image a person supplied, not yet taken by the lifecycle (dry-run, then approval). */
  hotfix: z.object({ by: z.string(), image: z.string(), container: z.string().optional(), comment: z.string().optional() }).optional(),
  /** An expired action a person at L2 or above asked to propose again, not yet taken by the lifecycle. */
  reproposal: z.object({ by: z.string(), action: z.number().int().positive(), comment: z.string().optional() }).optional(),
  /** The last customer-impact check (its evidence redacted by the activity). */
  customerImpact: z.object({ affected: z.boolean(), customerFacing: z.boolean(), checkedAt: z.string(), evidence: z.array(z.string()) }).optional(),
  /** The public state last sent to the status page: it is updated on every change from then on, to resolved. */
  publicState: z.enum(publicStates).optional(),
  /** When customers were told an SLA breach is imminent (once per incident). */
  customerNotifiedAt: z.number().optional(),
  /** The major incident of a storm this incident joined, and its role there (workflows/major-incident.ts). */
  major: z.object({ id: z.string(), role: z.enum(['lead', 'folded']), cause: z.string(), led: z.boolean().optional() }).optional(),
});
export type IncidentData = z.output<typeof IncidentDataSchema>;

const ApprovalWaitSchema = z.object({
  /** The action awaiting a decision. */
  action: z.number().int().positive(),
  expiresAt: z.number(),
  /** The escalation level when the approval was asked: an expiry pages the level above. */
  askedLevel: z.number().int().min(0).max(3),
  /** The restart count verification compares against after the apply. */
  restartsBaseline: z.number(),
});
export type ApprovalWait = z.output<typeof ApprovalWaitSchema>;

const MonitorProgressSchema = z.object({
  /** Samples taken so far. */
  sample: z.number().int().min(0),
  /** Bad samples in a row at the last one. */
  badInARow: z.number().int().min(0),
  /** The pods' traffic counters at the last sample: the next one's baseline. */
  counters: z.custom<PodCounters>(isRecord).optional(),
  /** What this monitor judges by (all four key metrics), decided at its start; absent in monitors from before. */
  thresholds: z
    .custom<MonitorThresholds>(
      (v) =>
        isRecord(v) &&
        ['maxErrorRate', 'maxP99LatencyMs', 'maxNewRestarts', 'minActiveAgents'].every((k) => isRecord(v[k]) && typeof v[k]['value'] === 'number'),
      'monitor thresholds need maxErrorRate, maxP99LatencyMs, maxNewRestarts and minActiveAgents',
    )
    .optional(),
});
export type MonitorProgress = z.output<typeof MonitorProgressSchema>;

/**
 * Where the lifecycle goes next, and where a new run resumes after continue-as-new.
 * Every one is a wait or a safe point (no activity running): an open approval carries
 * its action and expiry; a monitor carries how far it got.
 */
const ResumePointSchema = z.union([
  z.literal('investigate'),
  z.literal('wait'),
  z.object({ approval: ApprovalWaitSchema }),
  z.object({ monitor: MonitorProgressSchema }),
]);
export type ResumePoint = z.output<typeof ResumePointSchema>;

const SnapshotSchema = z.object({
  schemaVersion: z.literal(snapshotSchemaVersion),
  resumeAt: ResumePointSchema,
  incident: IncidentDataSchema,
});
/** What continue-as-new passes to the next run. */
export type IncidentSnapshot = z.output<typeof SnapshotSchema>;

export function toSnapshot(incident: IncidentData, resumeAt: ResumePoint): IncidentSnapshot {
  // A copy: the run that is closing may still record (its handlers finish) after the snapshot is taken.
  return structuredCloneJson({ schemaVersion: snapshotSchemaVersion, resumeAt, incident });
}

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/**
 * The snapshot a run was started with, validated. Version 0 (no schemaVersion) is the
 * flat form that builds before versioning wrote: its fields are the incident's fields.
 * A version this build does not know (a newer build's snapshot after a rollback) or an
 * invalid one throws SnapshotError: the workflow task fails and is retried, so the
 * incident waits, visibly, for a worker that can read it instead of being lost.
 */
export function restoreSnapshot(raw: unknown): IncidentSnapshot {
  if (!isRecord(raw)) throw new SnapshotError('the incident snapshot is not an object');
  const version = raw['schemaVersion'] ?? 0;
  const candidate = version === 0 ? legacy(raw) : raw;
  if (typeof version !== 'number' || version > snapshotSchemaVersion) {
    throw new SnapshotError(
      `the incident snapshot has schemaVersion ${JSON.stringify(version)}, newer than this build reads (${snapshotSchemaVersion}): run a worker build that knows it (roll forward), then this run continues`,
    );
  }
  const parsed = SnapshotSchema.safeParse(candidate);
  if (!parsed.success) {
    const detail = describeIssues(parsed.error, '(snapshot)');
    throw new SnapshotError(`the incident snapshot (schemaVersion ${String(version)}) is invalid: ${detail}`);
  }
  return parsed.data;
}

/** Version 0: { resumeAt, ...the incident's fields }. */
function legacy(raw: Record<string, unknown>): unknown {
  const { resumeAt, ...incident } = raw;
  return { schemaVersion: snapshotSchemaVersion, resumeAt, incident };
}

function structuredCloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
