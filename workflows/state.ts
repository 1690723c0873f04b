// IncidentState: everything one incident knows, and the bodies of its signal,
// update and query handlers. The lifecycle (incident.ts) reads and changes it;
// every change refreshes what the Temporal UI shows (current details, search
// attributes). Plain data in, plain data out: snapshot() is what continue-as-new
// carries, status() is what the status query returns.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { z } from 'zod';
import type { Channel, MutationPreview, MutationResult, Notification, PodCounters, VerificationResult } from './domain.js';
import type { Diagnosis } from './diagnose.js';
import type { Alert, IncidentConfig, Severity } from './input.js';
import {
  AcknowledgeSignalSchema,
  AlertBatchSignalSchema,
  AlertFiredSignalSchema,
  AlertResolvedSignalSchema,
  ApprovalSignalSchema,
  DecideRequestSchema,
  EscalateSignalSchema,
  NoteSignalSchema,
  ResolveSignalSchema,
  type DecisionOutcome,
} from './messages.js';
import type { PlanStep } from './plan.js';
import type {
  ActionOutcome,
  ActionRecord,
  Decision,
  DiagnosisSummary,
  IncidentPhase,
  IncidentRecord,
  IncidentStatus,
  PendingApproval,
  Resolution,
  TimelineEntry,
  TimelineKind,
} from './records.js';
import { approvalRequestBody, currentDetails, incidentTitle, pageBody, statusUpdateBody } from './render.js';
import {
  AwaitingApproval,
  IncidentCluster,
  IncidentDiagnosis,
  IncidentNamespace,
  IncidentNumber,
  IncidentPhase as IncidentPhaseKey,
  IncidentService,
  IncidentSeverity,
} from './search-attributes.js';
import { formatDuration, iso, nextOnCadence } from './units.js';

/**
 * Where the lifecycle goes next, and where a new run resumes after continue-as-new.
 * Every one is a wait or a safe point (no activity running), so a run can continue
 * as new from any of them: an approval that is still open carries its action
 * (the record is in `actions`) and expiry; a monitor carries how far it got.
 */
export type ResumePoint =
  | 'investigate'
  | 'wait'
  | { approval: ApprovalWait }
  | { monitor: MonitorProgress };

export interface ApprovalWait {
  /** The action awaiting a decision. */
  action: number;
  expiresAt: number;
  /** The escalation level when the approval was asked: an expiry pages the level above. */
  askedLevel: number;
  /** The restart count verification compares against after the apply. */
  restartsBaseline: number;
}

export interface MonitorProgress {
  /** Samples taken so far. */
  sample: number;
  /** Bad samples in a row at the last one. */
  badInARow: number;
  /** The pods' traffic counters at the last sample: the next one's baseline. */
  counters?: PodCounters;
}

/** What continue-as-new carries: the incident so far, as plain JSON. */
export interface IncidentSnapshot {
  resumeAt: ResumePoint;
  run: number;
  openedAt: number;
  severity: Severity;
  alert: IncidentStatus['alert'];
  firings: string[];
  acknowledged?: { by: string; at: string };
  restoredAt?: number;
  escalationLevel: number;
  investigations: number;
  findingsSummary: string[];
  diagnosis?: DiagnosisSummary;
  actions: ActionRecord[];
  nextStatusAt: number;
  timeline: TimelineEntry[];
  timelineOmitted: number;
  // Added later: optional, so a snapshot of an older run still restores.
  restoredByAction?: boolean;
  restartsAtRestore?: number;
  /** People's and the alert source's input that arrived while the last run was closing. */
  resolveRequested?: { by: string; reason?: string };
  refired?: boolean;
  alertResolvedPending?: boolean;
  messagesSent?: number;
}

type Timer = 'main' | 'escalation' | 'status';
const severityRank: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 };
const keptTimelineHead = 10;
const maxFirings = 20;

export class IncidentState {
  readonly id: string;
  /** One per incident (not per service): the pager groups every page of this incident under it. */
  readonly dedupKey: string;
  /** This incident's own reference: its number, or its first run ID. */
  readonly ref: string;
  readonly openedAt: number;
  readonly title: string;
  run: number;
  phase: IncidentPhase = 'investigating';
  severity: Severity;
  alert: IncidentStatus['alert'];
  acknowledged: { by: string; at: string } | undefined;
  restoredAt: number | undefined;
  /** Whether the last restore came from one of our actions (for the resolution). */
  restoredByAction = false;
  /** Restarts of the pods when verification declared the service restored: the monitor's baseline. */
  restartsAtRestore = 0;
  resolvedAt: number | undefined;
  resolution: Resolution | undefined;
  resolvedBy: string | undefined;
  escalationLevel = 0;
  investigations = 0;
  findingsSummary: string[] = [];
  diagnosis: DiagnosisSummary | undefined;
  actions: ActionRecord[] = [];
  pending: PendingApproval | undefined;
  monitor: IncidentStatus['monitor'];
  nextStatusAt: number;

  // Requests from people and from the alert source, consumed by the lifecycle.
  resolveRequested: { by: string; reason?: string | undefined } | undefined;
  alertResolvedPending = false;
  /** A new firing while monitoring or escalated: re-investigate. */
  refired = false;
  /** Set once: the background loops drain and stop (to resolve, or to continue as new). */
  closing = false;
  /**
   * Whether this run may continue as new while it waits for an approval or monitors.
   * Runs that started before that was possible replay without it (patched()).
   */
  readonly continuesWhileWaiting: boolean;
  /**
   * Crash safety (patched() like the above): ordered notifications with idempotency keys,
   * one catch-up status update after an outage, the monitor's counters in workflow state,
   * and a hand resolution that stops the verification in flight.
   */
  readonly crashSafe: boolean;

  private firings: string[] = [];
  private timeline: TimelineEntry[] = [];
  private timelineOmitted = 0;
  private timers: Partial<Record<Timer, { label: string; at: number }>> = {};
  private outbox: Notification[] = [];
  /** Messages sent so far: the next one's id (crash safety). */
  private messagesSent = 0;

  constructor(
    readonly config: IncidentConfig,
    snapshot?: IncidentSnapshot,
  ) {
    const info = workflowInfo();
    this.id = info.workflowId;
    this.dedupKey = `${info.workflowId}/${info.firstExecutionRunId}`;
    this.ref = config.incidentNumber ? `INC-${config.incidentNumber}` : info.firstExecutionRunId;
    this.title = incidentTitle(config.alert.name, config.service, config.incidentNumber);
    this.continuesWhileWaiting = patched('continue-as-new-while-waiting');
    this.crashSafe = patched('crash-safety');
    if (snapshot) {
      this.run = snapshot.run + 1;
      this.openedAt = snapshot.openedAt;
      this.severity = snapshot.severity;
      this.alert = snapshot.alert;
      this.firings = snapshot.firings;
      this.acknowledged = snapshot.acknowledged;
      this.restoredAt = snapshot.restoredAt;
      this.escalationLevel = snapshot.escalationLevel;
      this.investigations = snapshot.investigations;
      this.findingsSummary = snapshot.findingsSummary;
      this.diagnosis = snapshot.diagnosis;
      this.actions = snapshot.actions;
      this.nextStatusAt = snapshot.nextStatusAt;
      this.timeline = snapshot.timeline;
      this.timelineOmitted = snapshot.timelineOmitted;
      this.restoredByAction = snapshot.restoredByAction ?? false;
      this.restartsAtRestore = snapshot.restartsAtRestore ?? 0;
      this.resolveRequested = snapshot.resolveRequested;
      this.refired = snapshot.refired ?? false;
      this.alertResolvedPending = snapshot.alertResolvedPending ?? false;
      this.messagesSent = snapshot.messagesSent ?? 0;
      this.phase = phaseAt(snapshot.resumeAt);
      this.record('opened', `run ${this.run} continues the incident (history kept small)`);
    } else {
      this.run = 1;
      // The execution's start, not the first activation: escalation steps count from when the incident opened.
      this.openedAt = info.startTime.getTime();
      this.severity = config.alert.severity;
      const a = config.alert;
      this.alert = { name: a.name, summary: a.summary, fingerprint: a.fingerprint, startsAt: a.startsAt, fired: 1, deliveries: 0 };
      this.firings = [firingKey(a)];
      this.nextStatusAt = this.openedAt + config.durations.statusInterval;
      this.record('opened', `${a.name} (${a.severity}) for ${config.service.namespace}/${config.service.deployment}: ${a.summary || 'service down'}`);
    }
    this.changed();
  }

  // --- Lifecycle -------------------------------------------------------------

  setPhase(phase: IncidentPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.record('phase', phase);
    this.changed();
  }

  setFindings(summary: string[]): void {
    this.investigations += 1;
    this.findingsSummary = summary;
    this.record('investigation', `investigation ${this.investigations}: ${summary[0] ?? ''}`);
    this.changed();
  }

  setDiagnosis(d: Diagnosis): void {
    this.diagnosis = { category: d.category, symptom: d.symptom, cause: d.cause, evidence: d.evidence };
    this.record('diagnosis', `${d.category}: ${d.cause}`);
    this.changed();
  }

  setTimer(timer: Timer, label: string, at: number): void {
    this.timers[timer] = { label, at };
    this.changed();
  }

  clearTimer(timer: Timer): void {
    delete this.timers[timer];
  }

  historyIsLong(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= this.config.limits.continueAsNewAfterEvents;
  }

  /** A wait (approval, monitor) ends early to continue as new: signals must never fill one run's history. */
  shouldContinueWhileWaiting(): boolean {
    return this.continuesWhileWaiting && this.historyIsLong();
  }

  /** `<workflowId>/<first run ID>/action-<n>`: unique per incident, the same on every retry. */
  idempotencyKey(n: number): string {
    return `${this.id}/${workflowInfo().firstExecutionRunId}/action-${n}`;
  }

  addAction(step: Extract<PlanStep, { kind: 'mitigate' }>): ActionRecord {
    const n = (this.actions.at(-1)?.n ?? 0) + 1;
    const record: ActionRecord = {
      n,
      action: step.action,
      command: step.command,
      why: step.why,
      approval: step.approval,
      ...(step.humanFix ? { humanFix: step.humanFix } : {}),
      idempotencyKey: this.idempotencyKey(n),
      requestedAt: iso(Date.now()),
      outcome: step.approval === 'auto' ? 'applying' : 'awaiting-approval',
    };
    this.actions.push(record);
    this.record('action', `#${n} proposed: ${step.command} (${step.why})`);
    this.changed();
    return record;
  }

  setPreview(record: ActionRecord, preview: MutationPreview): void {
    record.preview = { command: preview.command, changes: preview.changes.slice(0, 20), wouldChange: preview.wouldChange };
    this.changed();
  }

  /** The approval request: shown in the UI and the status query, posted to chat; pages when a human must act first. */
  openApproval(record: ActionRecord, expiresAt: number): void {
    this.showApproval(record, expiresAt);
    this.setPhase('awaiting-approval');
    this.record('approval', `#${record.n} awaits approval until ${iso(expiresAt)}: ${record.command}`);
    if (!this.pending) return;
    this.send('chat', 'approval-request', `Approve #${record.n}? ${record.command}`, approvalRequestBody(this.pending));
    if (record.humanFix) this.handOver(`human fix required before action #${record.n}: ${record.humanFix}`, []);
    this.changed();
  }

  /** The same approval, open again in a new run: people were asked already, nobody is asked twice. */
  reopenApproval(record: ActionRecord, expiresAt: number): void {
    this.showApproval(record, expiresAt);
    this.setPhase('awaiting-approval');
    this.changed();
  }

  private showApproval(record: ActionRecord, expiresAt: number): void {
    const preview = record.preview ?? { command: record.command, changes: [], wouldChange: true };
    this.pending = {
      action: record.n,
      kind: record.action.kind,
      command: record.command,
      why: record.why,
      ...(record.humanFix ? { humanFix: record.humanFix } : {}),
      preview,
      requestedAt: record.requestedAt,
      expiresAt: iso(expiresAt),
      approvers: this.config.approval.approvers,
    };
  }

  closeApproval(): void {
    this.pending = undefined;
    this.changed();
  }

  decisionFor(n: number): Decision | undefined {
    return this.actions.find((a) => a.n === n)?.decision;
  }

  approveByPolicy(record: ActionRecord): void {
    record.decision = { approved: true, by: 'policy:auto', at: iso(Date.now()) };
    this.record('approval', `#${record.n} auto-approved by policy for namespace ${this.config.service.namespace}`);
    this.changed();
  }

  finishAction(record: ActionRecord, outcome: ActionOutcome, detail?: string): void {
    record.outcome = outcome;
    if (detail) record.detail = detail.slice(0, 500);
    if (outcome !== 'applying') record.finishedAt = iso(Date.now());
    this.record('action', `#${record.n} ${outcome}${detail ? `: ${detail}` : ''}`);
    this.changed();
  }

  applied(record: ActionRecord, result: MutationResult): void {
    record.appliedAt = iso(Date.now());
    record.outcome = 'applying';
    this.record('action', `#${record.n} applied${result.alreadyApplied ? ' (already applied by an earlier attempt)' : ''}: ${result.changes.join('; ') || result.command}`);
    this.changed();
  }

  recordVerification(result: VerificationResult): void {
    const failed = result.checks.filter((c) => !c.ok);
    this.record('verification', result.recovered ? `recovered: ${result.checks.length} checks pass` : `not recovered: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
    this.changed();
  }

  markRestored(byAction: boolean, restarts: number): void {
    this.restoredAt = Date.now();
    this.restoredByAction = byAction;
    this.restartsAtRestore = restarts;
    this.record('verification', `service restored after ${formatDuration(this.restoredAt - this.openedAt)}`);
    this.send('chat', 'restored', `${this.title}: restored, monitoring for ${formatDuration(this.config.durations.monitor)}`, pageBody(this.status(), 'Service restored; monitoring'));
    this.changed();
  }

  markRegressed(reason: string): void {
    this.restoredAt = undefined;
    this.monitor = undefined;
    this.record('monitor', `regression: ${reason}; mitigation re-opens`);
    this.send('chat', 'regression', `${this.title}: regressed (${reason})`, pageBody(this.status(), `Regression: ${reason}`));
    this.changed();
  }

  setMonitor(samples: number, of: number, lastSample?: string): void {
    this.monitor = { samples, of, ...(lastSample ? { lastSample } : {}) };
    this.changed();
  }

  // --- Escalation and communication -----------------------------------------

  /** Page a higher level (L1 at once, L2/L3 by the ladder, a timeout or a person). */
  escalate(level: number, reason: string, evidence: string[] = []): void {
    const to = Math.min(3, level);
    if (to <= this.escalationLevel) {
      this.record('escalation', `already at L${this.escalationLevel}: ${reason}`);
      this.changed();
      return;
    }
    this.escalationLevel = to;
    this.record('escalation', `L${to}: ${reason}`);
    this.send('pager', 'trigger', `[L${to}] ${this.title}: ${reason}`, pageBody(this.status(), reason, evidence), to);
    this.changed();
  }

  /** Hand over to people at the current level: the automation has no safe fix left. */
  handOver(reason: string, evidence: string[]): void {
    const level = Math.max(1, this.escalationLevel);
    this.record('escalation', `handed over at L${level}: ${reason}`);
    this.send('pager', 'trigger', `[L${level}] ${this.title}: human action required: ${reason}`, pageBody(this.status(), `Human action required: ${reason}`, evidence), level);
    this.changed();
  }

  postStatusUpdate(): void {
    const now = Date.now();
    this.send('chat', 'status-update', `${this.title}: ${this.phase}, open ${formatDuration(now - this.openedAt)}`, statusUpdateBody(this.status(), now));
    const interval = this.config.durations.statusInterval;
    // After an outage of the worker or of Temporal, one catch-up update, then the usual cadence: never a burst.
    this.nextStatusAt = this.crashSafe ? nextOnCadence(this.nextStatusAt, now, interval) : this.nextStatusAt + interval;
  }

  resolve(resolution: Resolution, by?: string, reason?: string): void {
    this.resolvedAt = Date.now();
    this.resolution = resolution;
    this.resolvedBy = by;
    this.pending = undefined;
    this.monitor = undefined;
    this.timers = {};
    this.setPhase('resolved');
    const text = `${resolution}${by ? ` by ${by}` : ''}${reason ? `: ${reason}` : ''} after ${formatDuration(this.resolvedAt - this.openedAt)}`;
    this.record('resolved', text);
    this.send('pager', 'resolve', `${this.title}: resolved (${resolution})`, pageBody(this.status(), `Resolved: ${text}`));
    this.send('chat', 'resolved', `${this.title}: resolved (${resolution})`, pageBody(this.status(), `Resolved: ${text}`));
  }

  send(channel: Channel, event: string, summary: string, body: string, level?: number): void {
    this.outbox.push({
      channel,
      event,
      incidentId: this.id,
      dedupKey: this.dedupKey,
      ...(this.crashSafe ? { id: `${this.dedupKey}/message-${++this.messagesSent}` } : {}),
      severity: this.severity,
      ...(level ? { level } : {}),
      summary: summary.slice(0, 300),
      body,
    });
  }

  takeOutbound(): Notification | undefined {
    return this.outbox.shift();
  }

  hasOutbound(): boolean {
    return this.outbox.length > 0;
  }

  // --- Handlers --------------------------------------------------------------

  onApprove(raw: unknown): void {
    this.decideFromSignal(raw, true);
  }

  onReject(raw: unknown): void {
    this.decideFromSignal(raw, false);
  }

  /** The decide update's validator: throwing refuses the update, and nothing is written to history. */
  validateDecision(raw: unknown): void {
    const parsed = DecideRequestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`bad decide request: ${issues(parsed.error)}`);
    const refusal = this.refuseDecision(parsed.data);
    if (refusal) throw new Error(refusal);
  }

  onDecide(raw: unknown): DecisionOutcome {
    const request = DecideRequestSchema.parse(raw);
    // Validated already; checked again because another decision may have landed in between.
    const refusal = this.refuseDecision(request);
    if (refusal) throw new Error(refusal);
    return this.applyDecision(request, request.decision === 'approve');
  }

  onAcknowledge(raw: unknown): void {
    const p = this.parse(AcknowledgeSignalSchema, raw, 'acknowledge');
    if (!p) return;
    if (this.acknowledged) {
      this.record('ack', `${p.by} acknowledged (already acknowledged by ${this.acknowledged.by})`);
    } else {
      this.acknowledged = { by: p.by, at: iso(Date.now()) };
      this.record('ack', `acknowledged by ${p.by}`);
      this.send('pager', 'acknowledge', `${this.title}: acknowledged by ${p.by}`, `Acknowledged by ${p.by}`);
    }
    this.changed();
  }

  onAddNote(raw: unknown): void {
    const p = this.parse(NoteSignalSchema, raw, 'addNote');
    if (!p) return;
    this.record('note', `${p.by}: ${p.text}`);
    this.changed();
  }

  onAlertFired(raw: unknown): void {
    const alert = this.parse(AlertFiredSignalSchema, raw, 'alertFired');
    if (alert) this.takeAlerts([alert], [], 1);
  }

  onAlertResolved(raw: unknown): void {
    const p = this.parse(AlertResolvedSignalSchema, raw, 'alertResolved');
    if (p) this.takeAlerts([], [p], 1);
  }

  /** One webhook delivery's alerts for this service: one timeline entry at most per kind, whatever the group size. */
  onAlerts(raw: unknown): void {
    const batch = this.parse(AlertBatchSignalSchema, raw, 'alerts');
    if (batch) this.takeAlerts(batch.firing, batch.resolved, batch.received);
  }

  private takeAlerts(firing: Alert[], resolved: z.output<typeof AlertResolvedSignalSchema>[], received: number): void {
    this.alert = { ...this.alert, deliveries: this.alert.deliveries + 1 };
    // New firings: a re-fire after a resolve, or another alert of the service. Repeats of a
    // known firing (Alertmanager's repeat_interval, the opening alert's own delivery) change nothing.
    const fresh = firing.filter((alert) => !this.firings.includes(firingKey(alert)));
    for (const alert of fresh) {
      this.firings = [...this.firings, firingKey(alert)].slice(-maxFirings);
      this.alert = { ...this.alert, fired: this.alert.fired + 1, startsAt: alert.startsAt, summary: alert.summary || this.alert.summary };
      if (severityRank[alert.severity] > severityRank[this.severity]) this.severity = alert.severity;
    }
    if (fresh.length > 0) {
      delete this.alert.resolvedAt;
      const first = fresh[0] as Alert;
      const more = fresh.length > 1 ? ` and ${fresh.length - 1} more` : '';
      this.record('alert', `alert fired again (${first.name}, ${first.severity}, since ${first.startsAt})${more}${received > firing.length + resolved.length ? ` (${received} alerts in the delivery)` : ''}`);
      if (this.phase === 'monitoring' || this.phase === 'escalated') this.refired = true;
    }
    // The service's alert is over only when the delivery has nothing firing for it.
    const last = resolved.at(-1);
    if (firing.length === 0 && last) {
      this.alert = { ...this.alert, resolvedAt: last.endsAt ?? iso(Date.now()) };
      const more = resolved.length > 1 ? ` and ${resolved.length - 1} more` : '';
      this.record('alert', `alert resolved (${last.fingerprint})${more}${this.phase === 'escalated' ? ': verifying the service' : ''}`);
      if (this.phase === 'escalated') this.alertResolvedPending = true;
    }
    this.changed();
  }

  onEscalate(raw: unknown): void {
    const p = this.parse(EscalateSignalSchema, raw, 'escalate');
    if (!p) return;
    this.escalate(p.level ?? this.escalationLevel + 1, `escalated by ${p.by}: ${p.reason}`);
  }

  onResolve(raw: unknown): void {
    const p = this.parse(ResolveSignalSchema, raw, 'resolve');
    if (!p) return;
    // While a run closes to continue as new, a resolve is kept: the snapshot carries it to the next run.
    if (this.resolution || this.resolveRequested) {
      this.ignore(`resolve from ${p.by}: already ${this.resolution ? 'resolved' : 'resolving'}`);
      return;
    }
    this.resolveRequested = { by: p.by, reason: p.reason };
    this.record('note', `resolve requested by ${p.by}${p.reason ? `: ${p.reason}` : ''}`);
    this.changed();
  }

  // --- Decisions -------------------------------------------------------------

  private decideFromSignal(raw: unknown, approved: boolean): void {
    const p = this.parse(ApprovalSignalSchema, raw, approved ? 'approve' : 'reject');
    if (!p) return;
    const refusal = this.refuseDecision(p);
    if (refusal) {
      this.ignore(`${approved ? 'approve' : 'reject'} from ${p.by}: ${refusal}`);
      return;
    }
    this.applyDecision(p, approved);
  }

  /** Why a decision cannot be taken, or undefined when it can. The first valid decision wins. */
  private refuseDecision(req: { by: string; action?: number | undefined }): string | undefined {
    if (req.by.startsWith('policy:')) return `"${req.by}" is reserved for the approval policy`;
    const allowed = this.config.approval.approvers;
    if (allowed.length > 0 && !allowed.includes(req.by)) {
      return `${req.by} is not an allowed approver for ${this.config.service.namespace}/${this.config.service.deployment} (allowed: ${allowed.join(', ')})`;
    }
    const n = req.action ?? this.pending?.action;
    if (n === undefined) return 'no action is awaiting approval';
    const record = this.actions.find((a) => a.n === n);
    if (!record) return `unknown action #${n}: this incident has ${this.actions.length} action(s)`;
    if (record.decision) return `action #${n} was already ${record.decision.approved ? 'approved' : 'rejected'} by ${record.decision.by}`;
    if (this.pending?.action !== n) return `action #${n} is not awaiting approval (${record.outcome})`;
    return undefined;
  }

  private applyDecision(req: { by: string; action?: number | undefined; comment?: string | undefined }, approved: boolean): DecisionOutcome {
    const n = req.action ?? this.pending?.action ?? 0;
    const record = this.actions.find((a) => a.n === n);
    if (!record) throw new Error(`unknown action #${n}`);
    const at = iso(Date.now());
    record.decision = { approved, by: req.by, at, ...(req.comment ? { comment: req.comment } : {}) };
    this.record('approval', `#${n} ${approved ? 'approved' : 'rejected'} by ${req.by}${req.comment ? `: ${req.comment}` : ''}`);
    this.changed();
    return { action: n, approved, by: req.by, at, command: record.command };
  }

  private parse<S extends z.ZodType>(schema: S, raw: unknown, signal: string): z.output<S> | undefined {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.ignore(`bad ${signal} payload: ${issues(parsed.error)}`);
    return undefined;
  }

  private ignore(reason: string): void {
    this.record('ignored', reason);
    this.changed();
  }

  // --- Views -----------------------------------------------------------------

  record(kind: TimelineKind, text: string): void {
    this.timeline.push({ at: iso(Date.now()), kind, text: text.slice(0, 400) });
    // Keep how it started and what happened last; count what falls out in between.
    if (this.timeline.length > this.config.limits.maxTimelineEntries) {
      this.timeline.splice(keptTimelineHead, 1);
      this.timelineOmitted += 1;
    }
  }

  status(): IncidentStatus {
    const c = this.config;
    return {
      incidentId: this.id,
      ...(c.incidentNumber ? { incidentNumber: c.incidentNumber } : {}),
      service: c.service,
      phase: this.phase,
      severity: this.severity,
      openedAt: iso(this.openedAt),
      ...(this.acknowledged ? { acknowledged: this.acknowledged } : {}),
      ...(this.restoredAt ? { restoredAt: iso(this.restoredAt) } : {}),
      ...(this.resolvedAt ? { resolvedAt: iso(this.resolvedAt) } : {}),
      ...(this.resolution ? { resolution: this.resolution } : {}),
      alert: this.alert,
      findingsSummary: this.findingsSummary,
      investigations: this.investigations,
      ...(this.diagnosis ? { diagnosis: this.diagnosis } : {}),
      ...(this.pending ? { pendingApproval: this.pending } : {}),
      actions: this.actions,
      escalationLevel: this.escalationLevel,
      ...(this.monitor ? { monitor: this.monitor } : {}),
      timers: Object.values(this.timers)
        .sort((a, b) => a.at - b.at)
        .map((t) => ({ label: t.label, at: iso(t.at) })),
      timeline: this.timeline,
      timelineOmitted: this.timelineOmitted,
      run: this.run,
    };
  }

  incidentRecord(): IncidentRecord {
    const c = this.config;
    return {
      incidentId: this.id,
      ...(c.incidentNumber ? { incidentNumber: c.incidentNumber } : {}),
      service: c.service,
      severity: this.severity,
      alert: c.alert satisfies Alert,
      openedAt: iso(this.openedAt),
      ...(this.acknowledged ? { acknowledged: this.acknowledged } : {}),
      ...(this.restoredAt ? { restoredAt: iso(this.restoredAt) } : {}),
      resolvedAt: iso(this.resolvedAt ?? Date.now()),
      resolution: this.resolution ?? 'manual',
      ...(this.resolvedBy ? { resolvedBy: this.resolvedBy } : {}),
      escalationLevel: this.escalationLevel,
      ...(this.diagnosis ? { diagnosis: this.diagnosis } : {}),
      findingsSummary: this.findingsSummary,
      actions: this.actions,
      timeline: this.timeline,
      timelineOmitted: this.timelineOmitted,
    };
  }

  snapshot(resumeAt: ResumePoint): IncidentSnapshot {
    return {
      resumeAt,
      run: this.run,
      openedAt: this.openedAt,
      severity: this.severity,
      alert: this.alert,
      firings: this.firings,
      ...(this.acknowledged ? { acknowledged: this.acknowledged } : {}),
      ...(this.restoredAt ? { restoredAt: this.restoredAt } : {}),
      escalationLevel: this.escalationLevel,
      investigations: this.investigations,
      findingsSummary: this.findingsSummary,
      ...(this.diagnosis ? { diagnosis: this.diagnosis } : {}),
      actions: this.actions,
      nextStatusAt: this.nextStatusAt,
      timeline: this.timeline,
      timelineOmitted: this.timelineOmitted,
      restoredByAction: this.restoredByAction,
      restartsAtRestore: this.restartsAtRestore,
      ...(this.resolveRequested ? { resolveRequested: this.resolveRequested } : {}),
      refired: this.refired,
      alertResolvedPending: this.alertResolvedPending,
      messagesSent: this.messagesSent,
    };
  }

  /** Keeps the UI current: search attributes (only the ones that changed) and the markdown details. */
  changed(): void {
    const c = this.config;
    // Set by incidentStartOptions at start; upserted here too for incidents started some other way.
    const wanted: SearchAttributeUpdatePair[] = [
      { key: IncidentService, value: c.service.deployment },
      { key: IncidentNamespace, value: c.service.namespace },
      { key: IncidentCluster, value: c.service.cluster },
      ...(c.incidentNumber === undefined ? [] : [{ key: IncidentNumber, value: c.incidentNumber }]),
      { key: IncidentPhaseKey, value: this.phase },
      { key: AwaitingApproval, value: this.pending !== undefined },
      { key: IncidentSeverity, value: this.severity },
      ...(this.diagnosis ? [{ key: IncidentDiagnosis, value: this.diagnosis.category }] : []),
    ];
    const current = workflowInfo().typedSearchAttributes;
    const updates = wanted.filter((pair) => current.get(pair.key) !== pair.value);
    if (updates.length > 0) upsertSearchAttributes(updates);
    setCurrentDetails(currentDetails(this.status()));
  }
}

function phaseAt(resume: ResumePoint): IncidentPhase {
  if (resume === 'wait') return 'escalated';
  if (resume === 'investigate') return 'investigating';
  return 'approval' in resume ? 'awaiting-approval' : 'monitoring';
}

function firingKey(alert: { fingerprint: string; startsAt: string }): string {
  return `${alert.fingerprint}@${Date.parse(alert.startsAt)}`;
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
}

