// The incident: its data and every transition, in plain TypeScript. No Temporal
// here: the lifecycle (workflows/incident.ts) drives it, the message handlers
// (workflows/handlers.ts) validate people's input and call it, the projection
// (workflows/projection.ts) shows it in the Temporal UI after each change, and
// test/workflows/model.test.ts exercises it without a server.
//
// What outlives a run is one IncidentData (model/snapshot.ts); the rest (phase,
// the open approval, the monitor's progress, timers, the closing state) is
// rebuilt by the lifecycle from where it resumes.
import { maxPreviewChanges } from '../domain.js';
import type {
  Channel,
  CustomerImpact,
  LogExcerpt,
  MutationPreview,
  MutationResult,
  Notification,
  PublicState,
  ServiceEvent,
  VerificationResult,
} from '../domain.js';
import type { Diagnosis } from '../diagnose.js';
import { ApprovalPolicySchema, type Alert, type ApprovalPolicy, type IncidentConfig } from '../input.js';
import { refuseSignature } from '../decision-signature.js';
import type { DecisionOutcome } from '../messages.js';
import type { PlanStep } from '../plan.js';
import type {
  ActionOutcome,
  ActionRecord,
  Decision,
  IncidentPhase,
  IncidentRecord,
  IncidentStatus,
  PendingApproval,
  Resolution,
  TimelineKind,
} from '../records.js';
import { approvalRequestBody, incidentTitle, pageBody, statusUpdateBody } from '../render.js';
import { formatDuration, iso, nextOnCadence } from '../units.js';
import { customerNotice, customersLine, publicStateOf, statusPageUpdate } from '../public-comms.js';
import { toSnapshot, type IncidentData, type IncidentSnapshot, type ResumePoint } from './snapshot.js';

/** What the model needs of the run it lives in. */
export interface RunContext {
  workflowId: string;
  /** The same across continue-as-new: with the workflow ID, this incident's identity. */
  firstRunId: string;
  /** When the execution started (the first run's start for a new incident). */
  startTime: number;
  /**
   * Behaviors added while incidents were open, each behind patched() in the workflow, so
   * runs started before a change replay as they ran (see workflows/incident.ts).
   */
  features: {
    /** Continue as new while an approval is open or the monitor runs. */
    continuesWhileWaiting: boolean;
    /** Ordered notifications with ids, one catch-up status update after an outage, monitor counters in state. */
    crashSafe: boolean;
    /** People's input while the run closes is kept: undelivered messages cross continue-as-new; a resolved incident pages nobody. */
    keepsInputWhileClosing: boolean;
    /** Customer impact gates L3; the status page, customers and stakeholders are told (runbook Communication). */
    customerComms?: boolean;
    /** L1 waits for the first diagnosis (at most durations.pageHold); a storm's incidents fold into one major incident. */
    majorIncident?: boolean;
    /** A folded incident posts no restored/resolved chat of its own: the major incident's status stream covers it. */
    foldedQuiet?: boolean;
  };
  /** Called after each change (the Temporal UI projection). */
  changed?: (model: IncidentModel) => void;
}

/** A decision as the approve/reject signals and the decide update carry it, validated. */
export interface DecisionRequest {
  by: string;
  action?: number | undefined;
  comment?: string | undefined;
  /** The approval channel's signature (workflows/decision-signature.ts), when the policy asks for one. */
  signature?: unknown;
}

/** An alert resolution, validated. */
export interface AlertResolution {
  fingerprint: string;
  endsAt?: string | undefined;
}

/**
 * Why a run is ending: to continue as new (everything pending is carried) or because
 * the incident is resolved (input is recorded for its record; nobody is paged again).
 */
export type Closing = 'continue' | 'resolve';

type Timer = 'main' | 'escalation' | 'status';
const severityRank: Record<Alert['severity'], number> = { info: 0, warning: 1, error: 2, critical: 3 };
/** Timeline entries kept from the start when the timeline is full: how it began. */
const keptTimelineHead = 10;
const maxFirings = 20;

/** Events the report keeps: the runbook's `| tail -20`, halved to keep the record small. */
const rcaEventCount = 10;

export class IncidentModel {
  readonly id: string;
  /** One per incident (not per service): the pager groups every page of this incident under it. */
  readonly dedupKey: string;
  /** This incident's own reference: its number, or its first run ID. */
  readonly ref: string;
  readonly title: string;
  /** Everything that outlives this run: the snapshot is exactly this. The lifecycle reads it; transitions change it. */
  readonly data: IncidentData;

  phase: IncidentPhase = 'investigating';
  pending: PendingApproval | undefined;
  monitor: IncidentStatus['monitor'];
  resolvedAt: number | undefined;
  resolution: Resolution | undefined;
  resolvedBy: string | undefined;
  closing: Closing | undefined;
  /** L1 is held (majorIncident): until the first diagnosis decides lead or folded, or the hold runs out. */
  holdingPage = false;
  /** The common cause of the first diagnosis (null: none), set once by the lifecycle. */
  firstCause: { key: string; label: string } | null | undefined;
  /** A hand-over while L1 was held: the L1 page carries it, or the major incident does. */
  private heldHandOver: { reason: string; evidence: string[] } | undefined;
  private timers: Partial<Record<Timer, { label: string; at: number }>> = {};

  constructor(
    readonly config: IncidentConfig,
    private readonly run: RunContext,
    snapshot?: IncidentSnapshot,
  ) {
    this.id = run.workflowId;
    this.dedupKey = `${run.workflowId}/${run.firstRunId}`;
    this.ref = config.incidentNumber ? `INC-${config.incidentNumber}` : run.firstRunId;
    this.title = incidentTitle(config.alert.name, config.service, config.incidentNumber);
    if (snapshot) {
      this.data = snapshot.incident;
      this.data.run += 1;
      this.phase = phaseAt(snapshot.resumeAt);
      this.record('opened', `run ${this.data.run} continues the incident (history kept small)`);
    } else {
      const a = config.alert;
      // The execution's start, not the first activation: escalation steps count from when the incident opened.
      const openedAt = run.startTime;
      this.data = {
        run: 1,
        openedAt,
        severity: a.severity,
        alert: { name: a.name, summary: a.summary, fingerprint: a.fingerprint, startsAt: a.startsAt, fired: 1, deliveries: 0 },
        firings: [firingKey(a)],
        restoredByAction: false,
        restartsAtRestore: 0,
        escalationLevel: 0,
        investigations: 0,
        findingsSummary: [],
        actions: [],
        nextStatusAt: openedAt + config.durations.statusInterval,
        timeline: [],
        timelineOmitted: 0,
        refired: false,
        alertResolvedPending: false,
        messagesSent: 0,
        outbox: [],
      };
      this.record('opened', `${a.name} (${a.severity}) for ${config.service.namespace}/${config.service.deployment}: ${a.summary || 'service down'}`);
    }
    this.changed();
  }

  get features(): RunContext['features'] {
    return this.run.features;
  }

  /** The re-fire, taken by the lifecycle that acts on it. */
  takeRefire(): boolean {
    const refired = this.data.refired;
    this.data.refired = false;
    return refired;
  }

  /** The alert's resolution while escalated, taken by the lifecycle that verifies it. */
  takeAlertResolved(): boolean {
    const pending = this.data.alertResolvedPending;
    this.data.alertResolvedPending = false;
    return pending;
  }

  snapshot(resumeAt: ResumePoint): IncidentSnapshot {
    return toSnapshot(this.data, resumeAt);
  }

  // --- Approval policy -------------------------------------------------------

  /** The worker's policy again (before an approval request): said on the timeline only when it changed. */
  refreshApprovalPolicy(loaded: ApprovalPolicy): void {
    const policy = ApprovalPolicySchema.parse(loaded);
    const changed = JSON.stringify(policy) !== JSON.stringify(this.config.approval);
    this.config.approval = policy;
    this.policyLoading = false;
    if (changed) this.record('note', `approval policy of the worker changed: ${describePolicy(policy, this.config.service.namespace)}`);
    this.changed();
  }

  /** Set while the run loads its worker's approval policy: no decision or hotfix is taken meanwhile. */
  private policyLoading = false;

  /** The run asks its worker for the approval policy (the `approvalPolicy` activity). */
  loadingApprovalPolicy(): void {
    this.policyLoading = true;
  }

  /**
   * The worker's policy replaces whatever the incident's input carried (anyone who can start
   * a workflow writes its input). A policy asked for in the input that differs is said on the timeline.
   */
  adoptApprovalPolicy(loaded: ApprovalPolicy): void {
    // Parsed: a policy recorded by an older worker has no approvalsRequired.
    const policy = ApprovalPolicySchema.parse(loaded);
    const given = this.config.approval;
    const asked = given.approvers.length > 0 || Object.keys(given.autoApprove).length > 0;
    if (asked && JSON.stringify(given) !== JSON.stringify(policy)) {
      this.record(
        'ignored',
        `the approval policy in the start request (${describePolicy(given, this.config.service.namespace)}) is not used: this worker's applies`,
      );
    }
    this.config.approval = policy;
    this.policyLoading = false;
    this.record('note', `approval policy of the worker: ${describePolicy(policy, this.config.service.namespace)}`);
    this.changed();
  }

  // --- Lifecycle -------------------------------------------------------------

  setPhase(phase: IncidentPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.record('phase', phase);
    this.changed();
  }

  /** rca: the investigation's log excerpts and events; the latest non-empty ones are kept for the report's root cause analysis. */
  setFindings(summary: string[], rca: { logs?: LogExcerpt[]; events?: ServiceEvent[] } = {}): void {
    this.data.investigations += 1;
    this.data.findingsSummary = summary;
    if (rca.logs?.length) this.data.rcaLogs = rca.logs;
    if (rca.events?.length) this.data.rcaEvents = rca.events.slice(-rcaEventCount);
    this.record('investigation', `investigation ${this.data.investigations}: ${summary[0] ?? ''}`);
    this.changed();
  }

  setDiagnosis(d: Diagnosis): void {
    const before = this.data.diagnosis?.category;
    this.data.diagnosis = {
      category: d.category,
      symptom: d.symptom,
      cause: d.cause,
      evidence: d.evidence,
      ...(d.commonCause ? { commonCause: d.commonCause } : {}),
    };
    this.record('diagnosis', `${d.category}: ${d.cause}`);
    if (before !== d.category && publicStateOf({ resolved: false, restored: false, diagnosis: this.data.diagnosis }) === 'identified') {
      this.tellStakeholders('identified', `cause identified: ${d.cause}`);
    }
    this.syncStatusPage();
    this.changed();
  }

  setTimer(timer: Timer, label: string, at: number): void {
    this.timers[timer] = { label, at };
    this.changed();
  }

  clearTimer(timer: Timer): void {
    delete this.timers[timer];
  }

  /** `<workflowId>/<first run ID>/action-<n>`: unique per incident, the same on every retry. */
  idempotencyKey(n: number): string {
    return `${this.id}/${this.run.firstRunId}/action-${n}`;
  }

  addAction(step: Extract<PlanStep, { kind: 'mitigate' }>): ActionRecord {
    const n = (this.data.actions.at(-1)?.n ?? 0) + 1;
    const record: ActionRecord = {
      n,
      action: step.action,
      command: step.command,
      why: step.why,
      approval: step.approval,
      ...(step.humanFix ? { humanFix: step.humanFix } : {}),
      ...(step.requestedBy ? { requestedBy: step.requestedBy } : {}),
      idempotencyKey: this.idempotencyKey(n),
      requestedAt: iso(Date.now()),
      outcome: step.approval === 'auto' ? 'applying' : 'awaiting-approval',
    };
    this.data.actions.push(record);
    this.record('action', `#${n} proposed: ${step.command} (${step.why})`);
    this.changed();
    return record;
  }

  setPreview(record: ActionRecord, preview: MutationPreview): void {
    record.preview = { command: preview.command, changes: preview.changes.slice(0, maxPreviewChanges), wouldChange: preview.wouldChange };
    this.changed();
  }

  /**
   * The object changed between the dry-run that was approved and the apply: nothing was written.
   * The approval is void; the new dry-run is shown and asked about (or, showing nothing to do, ends the action).
   */
  previewChanged(record: ActionRecord, preview: MutationPreview, reason: string): void {
    delete record.decision;
    delete record.approvals;
    this.setPreview(record, preview);
    record.outcome = 'awaiting-approval';
    this.record('approval', `#${record.n} not applied, its approval is void: ${reason}`.slice(0, 1000));
    this.changed();
  }

  /** The approval request: shown in the UI and the status query, posted to chat; pages when a human must act first. */
  openApproval(record: ActionRecord, expiresAt: number): void {
    this.showApproval(record, expiresAt);
    this.setPhase('awaiting-approval');
    this.record('approval', `#${record.n} awaits approval until ${iso(expiresAt)}: ${record.command}`);
    if (!this.pending) return;
    this.send('chat', 'approval-request', `Approve #${record.n}? ${record.command}`, approvalRequestBody(this.pending), undefined, record.n);
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
      approvalsRequired: this.config.approval.approvalsRequired,
      actionKey: record.idempotencyKey,
      ...(Object.keys(this.config.approval.decisionKeys).length > 0 ? { signedDecisions: true } : {}),
      approvedBy: (record.approvals ?? []).map((a) => a.by),
      ...(record.requestedBy ? { requestedBy: record.requestedBy } : {}),
    };
  }

  closeApproval(): void {
    this.pending = undefined;
    this.changed();
  }

  decisionFor(n: number): Decision | undefined {
    return this.data.actions.find((a) => a.n === n)?.decision;
  }

  /** The values a diagnostic change overwrites: the incident puts them back when it ends. */
  noteOverwrites(record: ActionRecord, overwrites: Record<string, string | null>): void {
    record.overwrites = overwrites;
    this.changed();
  }

  /** A restore of what action #of overwrote: approved with it, never asked again. */
  approveRestore(record: ActionRecord, of: number): void {
    record.restoresAction = of;
    record.decision = { approved: true, by: `policy:restore-of-#${of}`, at: iso(Date.now()) };
    this.record('approval', `#${record.n} puts back what #${of} overwrote (approved with #${of})`);
    this.changed();
  }

  approveByPolicy(record: ActionRecord): void {
    record.decision = { approved: true, by: 'policy:auto', at: iso(Date.now()) };
    this.record('approval', `#${record.n} auto-approved by policy for namespace ${this.config.service.namespace}`);
    this.changed();
  }

  /** The governor's cooldown: an action the policy approved waits for a person after all, who sees why (and the earlier fix) in the request. */
  requirePerson(record: ActionRecord, reason: string): void {
    record.approval = 'human';
    delete record.decision;
    record.outcome = 'awaiting-approval';
    record.why = `${record.why}; ${reason}`.slice(0, 1000);
    this.record('approval', `#${record.n} is not applied automatically: ${reason}`);
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
    this.record(
      'action',
      `#${record.n} applied${result.alreadyApplied ? ' (already applied by an earlier attempt)' : ''}: ${result.changes.join('; ') || result.command}`,
    );
    this.changed();
  }

  recordVerification(result: VerificationResult): void {
    const failed = result.checks.filter((c) => !c.ok);
    this.record(
      'verification',
      result.recovered ? `recovered: ${result.checks.length} checks pass` : `not recovered: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
    );
    this.changed();
  }

  markRestored(byAction: boolean, restarts: number): void {
    const at = Date.now();
    const hotfix = this.takeHotfix();
    if (hotfix) this.record('ignored', `hotfix image ${hotfix.image} from ${hotfix.by} not proposed: the service is restored`);
    this.data.restoredAt = at;
    this.data.restoredByAction = byAction;
    this.data.restartsAtRestore = restarts;
    this.record('verification', `service restored after ${formatDuration(at - this.data.openedAt)}`);
    if (!this.quietInStorm())
      this.send(
        'chat',
        'restored',
        `${this.title}: restored, monitoring for ${formatDuration(this.config.durations.monitor)}`,
        pageBody(this.status(), 'Service restored; monitoring'),
      );
    this.tellStakeholders('mitigated', `mitigated: service restored after ${formatDuration(at - this.data.openedAt)}, monitoring`);
    this.syncStatusPage();
    this.changed();
  }

  markRegressed(reason: string): void {
    delete this.data.restoredAt;
    this.monitor = undefined;
    this.record('monitor', `regression: ${reason}; mitigation re-opens`);
    this.send('chat', 'regression', `${this.title}: regressed (${reason})`, pageBody(this.status(), `Regression: ${reason}`));
    this.syncStatusPage();
    this.changed();
  }

  setMonitor(samples: number, of: number, lastSample?: string): void {
    this.monitor = { samples, of, ...(lastSample ? { lastSample } : {}) };
    this.changed();
  }

  // --- Escalation and communication -----------------------------------------

  /** Page a higher level (L1 at once, L2/L3 by the ladder, a timeout or a person). */
  escalate(level: number, reason: string, evidence: string[] = [], byPerson = false): void {
    const to = Math.min(3, level);
    // Folded into a major incident: the parent pages for the storm; only a person's escalation pages from here.
    if (this.isFolded() && !byPerson) {
      this.record('escalation', `L${to} not paged: ${reason}; the major incident ${this.data.major?.id ?? ''} pages for this storm`);
      this.changed();
      return;
    }
    this.page(to, reason, evidence);
  }

  private page(to: number, reason: string, evidence: string[]): void {
    if (to <= this.data.escalationLevel) {
      this.record('escalation', `already at L${this.data.escalationLevel}: ${reason}`);
      this.changed();
      return;
    }
    this.data.escalationLevel = to;
    this.record('escalation', `L${to}: ${reason}`);
    this.send('pager', 'trigger', `[L${to}] ${this.title}: ${reason}`, pageBody(this.status(), reason, evidence), to);
    this.changed();
  }

  /** Hand over to people at the current level: the automation has no safe fix left. */
  handOver(reason: string, evidence: string[]): void {
    if (this.holdingPage) {
      this.heldHandOver ??= { reason, evidence };
      this.record('escalation', `human action required: ${reason} (the L1 page, held for the diagnosis, carries it)`);
      this.changed();
      return;
    }
    if (this.isFolded()) {
      this.record('escalation', `human action required: ${reason}; not paged: the major incident ${this.data.major?.id ?? ''} pages for this storm`);
      this.changed();
      return;
    }
    const level = Math.max(1, this.data.escalationLevel);
    this.record('escalation', `handed over at L${level}: ${reason}`);
    this.send(
      'pager',
      'trigger',
      `[L${level}] ${this.title}: human action required: ${reason}`,
      pageBody(this.status(), `Human action required: ${reason}`, evidence),
      level,
    );
    this.changed();
  }

  /** Folded into a major incident: the parent pages L1-L3 and posts the status updates for it. */
  isFolded(): boolean {
    return this.data.major?.role === 'folded';
  }

  /** Folded: its restored and resolved go to the parent's status stream, not to chat one service at a time (50 services, 100 messages). */
  private quietInStorm(): boolean {
    return this.features.foldedQuiet === true && this.isFolded();
  }

  /** The held L1 is decided: paged now (alone, the storm's lead, or the hold ran out), or folded (no page). */
  releasePage(why: string): void {
    if (!this.holdingPage) return;
    this.holdingPage = false;
    const held = this.heldHandOver;
    this.heldHandOver = undefined;
    if (this.resolution || this.data.resolveRequested) {
      this.record('escalation', `L1 not paged: the incident was resolved before its page was due`);
      this.changed();
      return;
    }
    // The lead folded before its held page went out still pages L1: the storm's one L1 page is the lead's.
    if (this.isFolded() && !this.data.major?.led) {
      this.record('escalation', `L1 not paged: ${why}`);
      this.changed();
      return;
    }
    const reason = `service down: paging the on-call engineer (${why})`;
    const full = held ? `${reason}; human action required: ${held.reason}` : reason;
    // The lead, even folded meanwhile, pages: its L1 is the storm's one L1 page.
    if (this.data.major?.led) this.page(1, full, held?.evidence ?? []);
    else this.escalate(1, full, held?.evidence ?? []);
  }

  /** The major incident's answer to this incident's join (majorRole signal). */
  takeMajorRole(r: { majorId: string; role: 'lead' | 'folded'; leadFolded?: boolean | undefined; cause: string }): void {
    if (typeof r?.majorId !== 'string' || (r.role !== 'lead' && r.role !== 'folded')) return;
    const before = this.data.major;
    if (before?.role === 'folded' || (before?.role === r.role && before.id === r.majorId)) return;
    const led = before?.role === 'lead' || r.leadFolded === true;
    this.data.major = { id: r.majorId, role: r.role, cause: String(r.cause).slice(0, 200), ...(led ? { led } : {}) };
    if (r.role === 'lead') {
      this.record('escalation', `first of ${r.cause}: leads ${r.majorId}; pages as usual until another service fails with it`);
    } else if (r.leadFolded) {
      this.record(
        'escalation',
        `another service failed with ${r.cause}: ${r.majorId} is a major incident; it pages L2/L3 and posts the status updates for this incident from here`,
      );
    } else {
      this.record(
        'escalation',
        `folded into major incident ${r.majorId} (${r.cause}): the parent pages L1-L3 and posts the status updates; this incident investigates, mitigates and verifies its own recovery`,
      );
    }
    this.changed();
  }

  postStatusUpdate(): void {
    const now = Date.now();
    this.send('chat', 'status-update', `${this.title}: ${this.phase}, open ${formatDuration(now - this.data.openedAt)}`, statusUpdateBody(this.status(), now));
    const interval = this.config.durations.statusInterval;
    // After an outage of the worker or of Temporal, one catch-up update, then the usual cadence: never a burst.
    this.data.nextStatusAt = this.features.crashSafe ? nextOnCadence(this.data.nextStatusAt, now, interval) : this.data.nextStatusAt + interval;
  }

  resolve(resolution: Resolution, by?: string, reason?: string): void {
    this.resolvedAt = Date.now();
    this.resolution = resolution;
    this.resolvedBy = by;
    this.pending = undefined;
    this.monitor = undefined;
    this.timers = {};
    this.setPhase('resolved');
    const text = `${resolution}${by ? ` by ${by}` : ''}${reason ? `: ${reason}` : ''} after ${formatDuration(this.resolvedAt - this.data.openedAt)}`;
    this.record('resolved', text);
    // A folded incident that never paged has no page to resolve.
    if (!(this.isFolded() && this.data.escalationLevel === 0))
      // Its level is the highest paged: each level's own page is resolved.
      this.send('pager', 'resolve', `${this.title}: resolved (${resolution})`, pageBody(this.status(), `Resolved: ${text}`), this.data.escalationLevel);
    if (!this.quietInStorm()) this.send('chat', 'resolved', `${this.title}: resolved (${resolution})`, pageBody(this.status(), `Resolved: ${text}`));
    this.tellStakeholders('resolved', `resolved (${resolution}) after ${formatDuration(this.resolvedAt - this.data.openedAt)}`);
    this.syncStatusPage();
  }

  // --- Customers and stakeholders (runbook Escalation L3, Communication) ------

  /** The latest customer-impact check. The status page follows from the first time customers are affected. */
  setCustomerImpact(impact: CustomerImpact): void {
    const before = this.data.customerImpact;
    this.data.customerImpact = {
      affected: impact.affected,
      customerFacing: impact.customerFacing,
      checkedAt: impact.checkedAt,
      evidence: impact.evidence.slice(0, 10),
    };
    if (before?.affected !== impact.affected) this.record('notification', customersLine(impact));
    this.syncStatusPage();
    this.changed();
  }

  /** The ladder's L3 is due but customers are not affected: recorded with why, and looked at again later. */
  holdBackEscalation(level: number, impact: CustomerImpact, recheck: number): void {
    const text = `L${level} held back: customers not affected; looking again in ${formatDuration(recheck)} (${impact.evidence[0] ?? 'no evidence'})`;
    // One entry per reason, not one per look.
    if (this.data.timeline.at(-1)?.text !== text.slice(0, 400)) this.record('escalation', text);
    this.changed();
  }

  /** Runbook, External Communication: "Customer notification: if SLA breach imminent". Once per incident. */
  notifyCustomers(budget: number): void {
    if (this.data.customerNotifiedAt !== undefined) return;
    const at = Date.now();
    this.data.customerNotifiedAt = at;
    const outage = at - this.data.openedAt;
    this.record('notification', `customers notified: SLA breach imminent (outage ${formatDuration(outage)} of a ${formatDuration(budget)} budget)`);
    const notice = customerNotice(this.config.service, outage);
    this.send('status-page', 'customer-notification', notice.summary, notice.body);
    this.changed();
  }

  /** The public state the status page should show now. */
  publicState(): PublicState {
    return publicStateOf({ resolved: this.resolution !== undefined, restored: this.data.restoredAt !== undefined, diagnosis: this.data.diagnosis });
  }

  /** Sends the public state when it changed: from the first time customers are affected, to resolved. */
  private syncStatusPage(): void {
    if (!this.features.customerComms) return;
    const d = this.data;
    if (d.publicState === undefined && !d.customerImpact?.affected) return;
    const state = this.publicState();
    if (state === d.publicState) return;
    d.publicState = state;
    this.record('notification', `status page: ${state}`);
    const update = statusPageUpdate(this.config.service, state);
    this.send('status-page', state, update.summary, update.body);
  }

  /** Runbook, Internal Communication: "Notify stakeholders: keep relevant teams informed". */
  private tellStakeholders(event: 'identified' | 'mitigated' | 'resolved', text: string): void {
    if (!this.features.customerComms) return;
    const d = this.data;
    const body = [
      `**${text}**`,
      `Service: ${this.config.service.namespace}/${this.config.service.deployment} · open since ${iso(d.openedAt)} · L${d.escalationLevel}`,
      customersLine(d.customerImpact),
      ...(d.publicState ? [`Status page: ${d.publicState}`] : []),
    ].join('\n');
    this.send('stakeholders', event, `${this.title}: ${text}`, body);
  }

  /** The background loops drain and stop; what arrives meanwhile is handled as `why` says. */
  close(why: Closing): void {
    this.closing = why;
  }

  /** Whether a resolved incident is closing: input is recorded, nobody is paged again. */
  private closedForPaging(): boolean {
    return this.features.keepsInputWhileClosing && this.resolution !== undefined;
  }

  send(channel: Channel, event: string, summary: string, body: string, level?: number, action?: number): void {
    this.data.outbox.push({
      channel,
      event,
      incidentId: this.id,
      dedupKey: this.dedupKey,
      ...(this.features.crashSafe ? { id: `${this.dedupKey}/message-${++this.data.messagesSent}` } : {}),
      severity: this.data.severity,
      ...(level ? { level } : {}),
      ...(action ? { action } : {}),
      summary: summary.slice(0, 300),
      body,
    });
  }

  takeOutbound(): Notification | undefined {
    return this.data.outbox.shift();
  }

  hasOutbound(): boolean {
    return this.data.outbox.length > 0;
  }

  // --- People's and the alert source's input (validated by the handlers) ------

  acknowledge(by: string): void {
    if (this.data.acknowledged) {
      this.record('ack', `${by} acknowledged (already acknowledged by ${this.data.acknowledged.by})`);
    } else {
      this.data.acknowledged = { by, at: iso(Date.now()) };
      this.record('ack', `acknowledged by ${by}`);
      if (!this.closedForPaging())
        this.send('pager', 'acknowledge', `${this.title}: acknowledged by ${by}`, `Acknowledged by ${by}`, this.data.escalationLevel);
    }
    this.changed();
  }

  addNote(by: string, text: string): void {
    this.record('note', `${by}: ${text}`);
    this.changed();
  }

  /** One webhook delivery's alerts for this service: one timeline entry at most per kind, whatever the group size. */
  takeAlerts(firing: Alert[], resolved: AlertResolution[], received: number): void {
    const d = this.data;
    d.alert = { ...d.alert, deliveries: d.alert.deliveries + 1 };
    // New firings: a re-fire after a resolve, or another alert of the service. Repeats of a
    // known firing (Alertmanager's repeat_interval, the opening alert's own delivery) change nothing.
    const fresh = firing.filter((alert) => !d.firings.includes(firingKey(alert)));
    for (const alert of fresh) {
      d.firings = [...d.firings, firingKey(alert)].slice(-maxFirings);
      d.alert = { ...d.alert, fired: d.alert.fired + 1, startsAt: alert.startsAt, summary: alert.summary || d.alert.summary };
      if (severityRank[alert.severity] > severityRank[d.severity]) d.severity = alert.severity;
    }
    if (fresh.length > 0) {
      delete d.alert.resolvedAt;
      const first = fresh[0] as Alert;
      const more = fresh.length > 1 ? ` and ${fresh.length - 1} more` : '';
      const afterResolve = this.closedForPaging()
        ? ': the incident is resolved; the alert source re-sends a firing alert, and that opens the next incident'
        : '';
      this.record(
        'alert',
        `alert fired again (${first.name}, ${first.severity}, since ${first.startsAt})${more}${received > firing.length + resolved.length ? ` (${received} alerts in the delivery)` : ''}${afterResolve}`,
      );
      if (this.phase === 'monitoring' || this.phase === 'escalated') d.refired = true;
    }
    // The service's alert is over only when the delivery has nothing firing for it.
    const last = resolved.at(-1);
    if (firing.length === 0 && last) {
      d.alert = { ...d.alert, resolvedAt: last.endsAt ?? iso(Date.now()) };
      const more = resolved.length > 1 ? ` and ${resolved.length - 1} more` : '';
      this.record('alert', `alert resolved (${last.fingerprint})${more}${this.phase === 'escalated' ? ': verifying the service' : ''}`);
      if (this.phase === 'escalated') d.alertResolvedPending = true;
    }
    this.changed();
  }

  requestEscalation(by: string, reason: string, level?: number): void {
    if (this.closedForPaging()) {
      this.ignore(`escalate from ${by}: the incident is resolved (${reason})`);
      return;
    }
    this.escalate(level ?? this.data.escalationLevel + 1, `escalated by ${by}: ${reason}`, [], true);
  }

  requestResolve(by: string, reason?: string): void {
    // While a run closes to continue as new, a resolve is kept: the snapshot carries it to the next run.
    if (this.resolution || this.data.resolveRequested) {
      this.ignore(`resolve from ${by}: already ${this.resolution ? 'resolved' : 'resolving'}`);
      return;
    }
    this.data.resolveRequested = { by, ...(reason === undefined ? {} : { reason }) };
    this.record('note', `resolve requested by ${by}${reason ? `: ${reason}` : ''}`);
    this.changed();
  }

  // --- Hotfix (the runbook's "Code Issues") -------------------------------------

  /** Why `by` may not decide for this incident (or supply a hotfix) under the approval policy, or undefined when they may. */
  private refuseApprover(by: string): string | undefined {
    if (by.startsWith('policy:')) return `"${by}" is reserved for the approval policy`;
    if (this.policyLoading) return 'the approval policy is being loaded from the worker: send it again in a moment';
    const allowed = this.config.approval.approvers;
    if (allowed.length > 0 && !allowed.includes(by)) {
      return `${by} is not an allowed approver for ${this.config.service.namespace}/${this.config.service.deployment} (allowed: ${allowed.join(', ')})`;
    }
    return undefined;
  }

  /** Why a hotfix image cannot be taken now, or undefined when it can. */
  refuseHotfix(req: { by: string }): string | undefined {
    const notAllowed = this.refuseApprover(req.by);
    if (notAllowed) return notAllowed;
    if (this.resolution || this.closing === 'resolve' || this.data.resolveRequested) return 'the incident is resolved or resolving';
    if (this.phase === 'monitoring') return 'the service is restored and monitored: ship the image through the normal release';
    if (this.data.hotfix) return `a hotfix image (${this.data.hotfix.image}) from ${this.data.hotfix.by} is already waiting to be proposed`;
    return undefined;
  }

  /** Records a hotfix image refuseHotfix() allowed: the lifecycle dry-runs it and asks for approval. */
  requestHotfix(req: { by: string; image: string; container?: string | undefined; comment?: string | undefined }): string {
    this.data.hotfix = {
      by: req.by,
      image: req.image,
      ...(req.container ? { container: req.container } : {}),
      ...(req.comment ? { comment: req.comment } : {}),
    };
    const next = this.pending ? `after action #${this.pending.action} is decided (it awaits approval now)` : 'now: dry-run, then an approval request';
    this.record('action', `hotfix image ${req.image}${req.container ? ` for container ${req.container}` : ''} supplied by ${req.by}; proposed ${next}`);
    this.changed();
    return next;
  }

  /** Why action `req.action` cannot be proposed again now, or undefined when it can. */
  refuseReproposal(req: { by: string; action: number }): string | undefined {
    const notAllowed = this.refuseApprover(req.by);
    if (notAllowed) return notAllowed;
    if (this.resolution || this.closing === 'resolve' || this.data.resolveRequested) return 'the incident is resolved or resolving';
    const record = this.data.actions.find((a) => a.n === req.action);
    if (!record) return `unknown action #${req.action}: this incident has ${this.data.actions.length} action(s)`;
    if (record.outcome !== 'expired') return `action #${record.n} is ${record.outcome}: only an action whose approval expired can be proposed again`;
    if (this.data.escalationLevel < 2)
      return `the incident is at L${this.data.escalationLevel}: an expired action is proposed again from L2, by the people paged there`;
    if (this.pending) return `action #${this.pending.action} awaits approval now: decide it first`;
    if (this.phase === 'monitoring') return 'the service is restored and monitored';
    if (this.data.reproposal || this.data.hotfix) return "a person's proposal is already waiting to be taken";
    return undefined;
  }

  /** Records a re-proposal refuseReproposal() allowed: the lifecycle looks again, dry-runs it and asks for approval. */
  requestReproposal(req: { by: string; action: number; comment?: string | undefined }): { command: string; next: string } {
    const record = this.data.actions.find((a) => a.n === req.action);
    this.data.reproposal = { by: req.by, action: req.action, ...(req.comment ? { comment: req.comment } : {}) };
    const next = 'now: the service is looked at again, then a new dry-run and an approval request';
    this.record('action', `#${req.action} (${record?.command ?? ''}) proposed again by ${req.by}${req.comment ? `: ${req.comment}` : ''}`);
    this.changed();
    return { command: record?.command ?? '', next };
  }

  takeReproposal(): IncidentData['reproposal'] {
    const reproposal = this.data.reproposal;
    delete this.data.reproposal;
    return reproposal;
  }

  /** The hotfix request, taken by the lifecycle that proposes it. */
  takeHotfix(): IncidentData['hotfix'] {
    const hotfix = this.data.hotfix;
    delete this.data.hotfix;
    return hotfix;
  }

  // --- Decisions -------------------------------------------------------------

  /** An approve or reject signal: refused ones are recorded and ignored (a signal has nobody to answer). */
  decideFromSignal(request: DecisionRequest, approved: boolean): void {
    const refusal = this.refuseDecision(request, approved) ?? this.refuseUnsigned(request, approved);
    if (refusal) {
      this.ignore(`${approved ? 'approve' : 'reject'} from ${request.by}: ${refusal}`);
      return;
    }
    this.applyDecision(request, approved);
  }

  /**
   * Why a decision cannot be taken, or undefined when it can. The first valid decision wins;
   * under the two-person rule the first approval waits for a second approver (a rejection decides).
   */
  refuseDecision(req: DecisionRequest, approved: boolean): string | undefined {
    const notAllowed = this.refuseApprover(req.by);
    if (notAllowed) return notAllowed;
    const n = req.action ?? this.pending?.action;
    if (n === undefined) return 'no action is awaiting approval';
    const record = this.data.actions.find((a) => a.n === n);
    if (!record) return `unknown action #${n}: this incident has ${this.data.actions.length} action(s)`;
    if (record.decision) return `action #${n} was already ${record.decision.approved ? 'approved' : 'rejected'} by ${record.decision.by}`;
    if (this.pending?.action !== n) return `action #${n} is not awaiting approval (${record.outcome})`;
    if (approved && record.requestedBy === req.by) {
      return `${req.by} asked for action #${n} (${record.command}) and may not approve it: another approver must`;
    }
    if (approved && record.approvals?.some((a) => a.by === req.by)) {
      return `${req.by} approved action #${n} already: it needs ${this.config.approval.approvalsRequired} distinct approvers, so another person must approve it`;
    }
    return undefined;
  }

  /**
   * Why a decision refuseDecision() allowed does not count because it is not signed by an
   * approval channel the policy names, or undefined when it counts (or the policy names none).
   * Unlike other refusals, the caller records this one on the timeline: someone tried to
   * decide in a person's name without that person's channel.
   */
  refuseUnsigned(req: DecisionRequest, approved: boolean): string | undefined {
    const keys = this.config.approval.decisionKeys;
    if (Object.keys(keys).length === 0) return undefined;
    const record = this.data.actions.find((a) => a.n === (req.action ?? this.pending?.action));
    if (!record) return undefined;
    const decision = approved ? 'approve' : 'reject';
    const why = refuseSignature(keys, { actionKey: record.idempotencyKey, decision, by: req.by, comment: req.comment }, req.signature, Date.now());
    if (!why) return undefined;
    return `${decision} of #${record.n} in the name of ${req.by} refused: ${why}. This worker counts only decisions signed by an approval channel: decide through the receiver's decisions API (\`incident ${decision}\` with INCIDENT_API_URL set), not straight to Temporal`;
  }

  /** Records a decision refuseDecision() allowed. */
  applyDecision(req: DecisionRequest, approved: boolean): DecisionOutcome {
    const n = req.action ?? this.pending?.action ?? 0;
    const record = this.data.actions.find((a) => a.n === n);
    if (!record) throw new Error(`unknown action #${n}`);
    const at = iso(Date.now());
    const comment = req.comment ? `: ${req.comment}` : '';
    const approvals = [...(record.approvals ?? []), { approved, by: req.by, at, ...(req.comment ? { comment: req.comment } : {}) }];
    const required = this.config.approval.approvalsRequired;
    if (approved && approvals.length < required) {
      // The two-person rule: this approval is kept (and carried to the next run) until a second person's.
      record.approvals = approvals;
      if (this.pending?.action === n) this.pending.approvedBy = approvals.map((a) => a.by);
      const needs = `${required - approvals.length} more approver(s), not ${approvals.map((a) => a.by).join(' or ')}, must approve before it is applied`;
      this.record('approval', `#${n} approved by ${req.by} (${approvals.length} of ${required})${comment}; ${needs}`);
      this.changed();
      return { action: n, approved: false, by: req.by, at, command: record.command, needs };
    }
    const by = approved ? approvals.map((a) => a.by).join(' and ') : req.by;
    record.decision = { approved, by, at, ...(req.comment ? { comment: req.comment } : {}) };
    this.record(
      'approval',
      `#${n} ${approved ? 'approved' : 'rejected'} by ${req.by}${approved && approvals.length > 1 ? ` (${approvals.length} of ${required}: ${by})` : ''}${comment}`,
    );
    this.changed();
    return { action: n, approved, by, at, command: record.command };
  }

  /** Input that was refused: on the timeline, and nothing else. */
  ignore(reason: string): void {
    this.record('ignored', reason);
    this.changed();
  }

  // --- Views -----------------------------------------------------------------

  record(kind: TimelineKind, text: string): void {
    const d = this.data;
    d.timeline.push({ at: iso(Date.now()), kind, text: text.slice(0, 400) });
    // Keep how it started and what happened last; count what falls out in between.
    if (d.timeline.length > this.config.limits.maxTimelineEntries) {
      d.timeline.splice(keptTimelineHead, 1);
      d.timelineOmitted += 1;
    }
  }

  status(): IncidentStatus {
    const c = this.config;
    const d = this.data;
    return {
      incidentId: this.id,
      dedupKey: this.dedupKey,
      ...(c.incidentNumber ? { incidentNumber: c.incidentNumber } : {}),
      service: c.service,
      phase: this.phase,
      ...(this.closing ? { closing: this.closing } : {}),
      severity: d.severity,
      openedAt: iso(d.openedAt),
      ...(d.acknowledged ? { acknowledged: d.acknowledged } : {}),
      ...(d.restoredAt ? { restoredAt: iso(d.restoredAt) } : {}),
      ...(this.resolvedAt ? { resolvedAt: iso(this.resolvedAt) } : {}),
      ...(this.resolution ? { resolution: this.resolution } : {}),
      alert: d.alert,
      findingsSummary: d.findingsSummary,
      investigations: d.investigations,
      ...(d.diagnosis ? { diagnosis: d.diagnosis } : {}),
      ...(this.pending ? { pendingApproval: this.pending } : {}),
      actions: d.actions,
      escalationLevel: d.escalationLevel,
      ...(d.customerImpact ? { customers: { ...d.customerImpact, ...(d.publicState ? { statusPage: d.publicState } : {}) } } : {}),
      ...(this.monitor ? { monitor: this.monitor } : {}),
      timers: Object.values(this.timers)
        .sort((a, b) => a.at - b.at)
        .map((t) => ({ label: t.label, at: iso(t.at) })),
      timeline: d.timeline,
      timelineOmitted: d.timelineOmitted,
      run: d.run,
      ...(d.major ? { major: d.major } : {}),
    };
  }

  incidentRecord(): IncidentRecord {
    const c = this.config;
    const d = this.data;
    return {
      incidentId: this.id,
      ...(c.incidentNumber ? { incidentNumber: c.incidentNumber } : {}),
      service: c.service,
      severity: d.severity,
      alert: c.alert satisfies Alert,
      openedAt: iso(d.openedAt),
      ...(d.acknowledged ? { acknowledged: d.acknowledged } : {}),
      ...(d.restoredAt ? { restoredAt: iso(d.restoredAt) } : {}),
      resolvedAt: iso(this.resolvedAt ?? Date.now()),
      resolution: this.resolution ?? 'manual',
      ...(this.resolvedBy ? { resolvedBy: this.resolvedBy } : {}),
      escalationLevel: d.escalationLevel,
      ...(d.diagnosis ? { diagnosis: d.diagnosis } : {}),
      findingsSummary: d.findingsSummary,
      ...(d.rcaLogs?.length ? { rcaLogs: d.rcaLogs } : {}),
      ...(d.rcaEvents?.length ? { rcaEvents: d.rcaEvents } : {}),
      actions: d.actions,
      timeline: d.timeline,
      timelineOmitted: d.timelineOmitted,
    };
  }

  /** After every change: the projection keeps the UI current. */
  changed(): void {
    this.run.changed?.(this);
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

/** `approvers: alice, bob; auto-approved in default: scale` (anyone, nothing when empty). */
function describePolicy(policy: ApprovalPolicy, namespace: string): string {
  const auto = policy.autoApprove[namespace] ?? [];
  const two = policy.approvalsRequired > 1 ? `; ${policy.approvalsRequired} distinct approvers per change` : '';
  const keys = Object.keys(policy.decisionKeys);
  const signed = keys.length > 0 ? `; decisions count only signed by ${keys.join(', ')}` : '';
  return `approvers: ${policy.approvers.join(', ') || 'anyone'}${two}${signed}; auto-approved in ${namespace}: ${auto.join(', ') || 'nothing'}`;
}
