// The major incident: one parent per common cause in a cluster (workflows/common-cause.ts),
// ID major-<cluster>-<hash of the cause> (messages.ts majorIncidentId), opened by the first
// child incident's joinMajorIncident activity (signal-with-start) and joined by the others.
//
//   join (first)  ─► "lead": the child pages L1 as usual
//   join (second) ─► MAJOR: the lead is folded too; from here the parent pages L2 at +15 min
//                    and L3 at +30 min from the lead's page (once each, for the whole storm,
//                    while any child is not restored) and posts one status every 15 minutes
//                    with every child and its phase
//   join (later)  ─► "folded": the child does not page nor post status itself
//   every child resolved ─► the parent resolves (its pages too) and ends
//   a child ended without resolving (terminated by hand, failed) ─► found by a check
//                    every 5 minutes and no longer waited for
//
// Each child still investigates, mitigates and verifies its own recovery; it tells the
// parent its phase (childPhase signal). The parent carries the lead's diagnosis, which
// the others share. Bounded: one join and a few phase changes per child.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { IncidentActivities } from '../activities/types.js';
import type { Notification } from './domain.js';
import {
  childPhaseSignal,
  joinMajorSignal,
  majorRoleSignal,
  majorStatusQuery,
  type ChildPhase,
  type MajorChild,
  type MajorIncidentInput,
  type MajorJoin,
  type MajorRole,
  type MajorStatus,
} from './messages.js';
import { majorDetails } from './major-render.js';
import { commsOptions } from './retry.js';
import { IncidentPhase } from './search-attributes.js';
import { clock, formatDuration, iso } from './units.js';

const comms = proxyActivities<IncidentActivities>(commsOptions);

/** How often the parent checks that its unresolved children still run. */
const childCheckInterval = 5 * 60_000;

const maxTimeline = 100;

export interface MajorIncidentOutcome {
  majorId: string;
  major: boolean;
  children: number;
  escalationLevel: number;
  resolvedAt: string;
  /** Runs of the parent (continue-as-new keeps a storm of hundreds of services small). */
  runs: number;
}

/** A child with nothing left to wait for: resolved, or ended without saying so. */
function childDone(c: MajorChild): boolean {
  return c.phase === 'resolved' || c.ended !== undefined;
}

/** The parent's state: plain data and transitions; the workflow below drives it. */
export class MajorIncidentModel {
  readonly children: MajorChild[] = [];
  readonly outbox: Notification[] = [];
  /** Signals to children, sent in order by the workflow. */
  readonly replies: { to: string; role: MajorRole }[] = [];
  readonly timeline: { at: string; text: string }[] = [];
  openedAt = Date.now();
  majorAt: number | undefined;
  /** The lead's page: the ladder counts from here. */
  firstPageAt: number | undefined;
  resolvedAt: number | undefined;
  escalationLevel = 1;
  diagnosis: MajorJoin['diagnosis'] | undefined;
  durations: MajorJoin['durations'] | undefined;
  severity: Notification['severity'] = 'critical';
  closing = false;
  /** Messages sent so far: each one's id is `<dedupKey>/message-<n>`, across runs. */
  sent = 0;
  /** The next status update of the stream (set once it is major). */
  nextStatusAt: number | undefined;

  constructor(
    readonly input: MajorIncidentInput,
    private readonly dedupKey: string,
    private readonly onChange: (m: MajorIncidentModel) => void = () => undefined,
  ) {
    this.record(`opened for ${input.cause.label} in ${input.cluster}`);
  }

  changed(): void {
    this.onChange(this);
  }

  get isMajor(): boolean {
    return this.majorAt !== undefined;
  }

  get ref(): string {
    return `MAJOR-${this.input.majorId.slice('major-'.length)}`;
  }

  join(j: MajorJoin): void {
    if (typeof j?.incidentId !== 'string') return;
    const known = this.children.find((c) => c.incidentId === j.incidentId);
    if (known) {
      // A retried join, or a child's next run: the same answer again.
      this.replies.push({ to: known.incidentId, role: this.roleOf(known) });
      return;
    }
    const lead = this.children.length === 0;
    const child: MajorChild = {
      incidentId: j.incidentId,
      service: j.service,
      title: j.title,
      role: lead ? 'lead' : 'folded',
      joinedAt: iso(Date.now()),
      phase: j.phase,
      restored: false,
      diagnosis: `${j.diagnosis.category}: ${j.diagnosis.cause}`.slice(0, 240),
    };
    this.children.push(child);
    if (lead) {
      this.diagnosis = { ...j.diagnosis, evidence: j.diagnosis.evidence.slice(0, 10) };
      this.durations = j.durations;
      this.severity = j.severity;
      this.firstPageAt = Date.now();
      this.record(`${j.service.deployment} leads (${j.title}): it pages L1 as usual`);
    } else {
      this.record(`${j.service.deployment} folded in (${j.diagnosis.category}): it does not page`);
    }
    this.replies.push({ to: child.incidentId, role: this.roleOf(child) });
    if (this.children.length === 2 && !this.isMajor) this.declareMajor();
    this.changed();
  }

  private roleOf(child: MajorChild): MajorRole {
    const base = { majorId: this.input.majorId, cause: this.input.cause.label };
    // Once the storm is major, the lead is folded too: the parent's ladder stands for it.
    if (child.role === 'lead' && this.isMajor) return { ...base, role: 'folded', leadFolded: true };
    return { ...base, role: child.role };
  }

  private declareMajor(): void {
    this.majorAt = Date.now();
    const lead = this.children[0];
    if (lead) this.replies.push({ to: lead.incidentId, role: this.roleOf(lead) });
    this.record(`MAJOR: a second service failed with ${this.input.cause.label}; the parent pages and posts status for all`);
    this.send(
      'chat',
      'major-declared',
      `${this.ref}: major incident, ${this.input.cause.label} (${this.children.length} services)`,
      this.body('Major incident declared: the services below share one cause; pages and status updates come from here.'),
    );
  }

  childPhase(p: ChildPhase): void {
    const child = this.children.find((c) => c.incidentId === p?.incidentId);
    if (!child) return;
    if (child.phase === p.phase && child.restored === p.restored) return;
    child.phase = p.phase;
    child.restored = p.restored;
    if (p.phase === 'resolved') this.record(`${child.service.deployment} resolved (${this.resolvedCount()}/${this.children.length})`);
    this.changed();
  }

  resolvedCount(): number {
    return this.children.filter((c) => c.phase === 'resolved').length;
  }

  allResolved(): boolean {
    return this.children.length > 0 && this.children.every(childDone);
  }

  allRestored(): boolean {
    return this.children.every((c) => c.restored || childDone(c));
  }

  /** Children still awaited: neither resolved nor ended. */
  awaited(): string[] {
    return this.children.filter((c) => !childDone(c)).map((c) => c.incidentId);
  }

  /** A child's workflow ended without reporting resolved: the storm no longer waits for it. */
  childEnded(incidentId: string, status: string): void {
    const child = this.children.find((c) => c.incidentId === incidentId);
    if (!child || childDone(child)) return;
    child.ended = status;
    this.record(`${child.service.deployment} ended without resolving (${status}): no longer waited for`);
    this.changed();
  }

  page(level: number, reason: string): void {
    this.escalationLevel = level;
    this.record(`L${level}: ${reason}`);
    this.send('pager', 'trigger', `[L${level}] ${this.ref}: ${this.input.cause.label}: ${reason}`, this.body(reason), level);
    this.changed();
  }

  postStatus(): void {
    const now = Date.now();
    this.send(
      'chat',
      'status-update',
      `${this.ref}: ${this.resolvedCount()}/${this.children.length} resolved, open ${formatDuration(now - this.openedAt)}`,
      this.body(`Status at ${iso(now)}`),
    );
  }

  resolve(): void {
    this.resolvedAt = Date.now();
    this.closing = true;
    const ended = this.children.filter((c) => c.ended !== undefined).length;
    this.record(`resolved: all ${this.children.length} services resolved${ended ? ` (${ended} ended without resolving)` : ''}`);
    if (this.isMajor) {
      if (this.escalationLevel > 1)
        this.send('pager', 'resolve', `${this.ref}: resolved`, this.body('Resolved: every service recovered'), this.escalationLevel);
      this.send('chat', 'resolved', `${this.ref}: resolved (${this.children.length} services)`, this.body('Resolved: every service recovered'));
    }
    this.changed();
  }

  private body(headline: string): string {
    const lines = this.children.map(
      (c) =>
        `- ${c.service.namespace}/${c.service.deployment}: ${c.ended ? `ended (${c.ended})` : c.phase}${c.restored ? ' (restored)' : ''}${c.role === 'lead' ? ' (lead)' : ''}`,
    );
    return [
      `**${headline}**`,
      `Cause: ${this.input.cause.label} · cluster ${this.input.cluster} · L${this.escalationLevel}`,
      ...(this.diagnosis ? [`Diagnosis: ${this.diagnosis.category}: ${this.diagnosis.cause}`] : []),
      `Services (${this.children.length}, ${this.resolvedCount()} resolved):`,
      ...lines.slice(0, 60),
      ...(lines.length > 60 ? [`- … and ${lines.length - 60} more`] : []),
    ].join('\n');
  }

  private send(channel: Notification['channel'], event: string, summary: string, body: string, level?: number): void {
    this.outbox.push({
      channel,
      event,
      incidentId: this.input.majorId,
      dedupKey: this.dedupKey,
      id: `${this.dedupKey}/message-${++this.sent}`,
      severity: this.severity,
      ...(level ? { level } : {}),
      summary: summary.slice(0, 300),
      body,
    });
  }

  record(text: string): void {
    this.timeline.push({ at: iso(Date.now()), text: text.slice(0, 400) });
    if (this.timeline.length > maxTimeline) this.timeline.splice(10, 1);
  }

  status(): MajorStatus {
    return {
      majorId: this.input.majorId,
      cause: this.input.cause,
      cluster: this.input.cluster,
      major: this.isMajor,
      phase: this.resolvedAt !== undefined ? 'resolved' : this.isMajor ? 'major' : 'open',
      openedAt: iso(this.openedAt),
      ...(this.majorAt ? { majorAt: iso(this.majorAt) } : {}),
      ...(this.resolvedAt ? { resolvedAt: iso(this.resolvedAt) } : {}),
      ...(this.children[0] ? { leadId: this.children[0].incidentId } : {}),
      escalationLevel: this.escalationLevel,
      ...(this.diagnosis ? { diagnosis: this.diagnosis } : {}),
      children: this.children,
      timeline: this.timeline,
    };
  }
}

/** What a major incident carries to its next run (continue-as-new): everything but the input. */
export interface MajorSnapshot {
  children: MajorChild[];
  replies: MajorIncidentModel['replies'];
  outbox: Notification[];
  timeline: MajorIncidentModel['timeline'];
  openedAt: number;
  majorAt?: number | undefined;
  firstPageAt?: number | undefined;
  nextStatusAt?: number | undefined;
  escalationLevel: number;
  diagnosis?: MajorJoin['diagnosis'] | undefined;
  durations?: MajorJoin['durations'] | undefined;
  severity: Notification['severity'];
  sent: number;
  runs: number;
}

function snapshotOf(m: MajorIncidentModel, runs: number): MajorSnapshot {
  return {
    children: m.children,
    replies: m.replies,
    outbox: m.outbox,
    timeline: m.timeline,
    openedAt: m.openedAt,
    majorAt: m.majorAt,
    firstPageAt: m.firstPageAt,
    nextStatusAt: m.nextStatusAt,
    escalationLevel: m.escalationLevel,
    diagnosis: m.diagnosis,
    durations: m.durations,
    severity: m.severity,
    sent: m.sent,
    runs,
  };
}

function restore(m: MajorIncidentModel, s: MajorSnapshot): void {
  m.children.push(...s.children);
  m.replies.push(...s.replies);
  m.outbox.push(...s.outbox);
  m.timeline.splice(0, m.timeline.length, ...s.timeline);
  m.openedAt = s.openedAt;
  m.majorAt = s.majorAt;
  m.firstPageAt = s.firstPageAt;
  m.nextStatusAt = s.nextStatusAt;
  m.escalationLevel = s.escalationLevel;
  m.diagnosis = s.diagnosis;
  m.durations = s.durations;
  m.severity = s.severity;
  m.sent = s.sent;
  m.record(`run ${s.runs + 1} continues the major incident (history kept small)`);
}

/** A run this long continues as new with the snapshot (a storm of hundreds of services). */
function historyIsLong(input: MajorIncidentInput): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= (input.continueAsNewAfterEvents ?? 2_000);
}

export async function majorIncidentWorkflow(input: MajorIncidentInput, resume?: MajorSnapshot): Promise<MajorIncidentOutcome> {
  const info = workflowInfo();
  let shownPhase = 'open';
  const m = new MajorIncidentModel(input, `${info.workflowId}/${info.firstExecutionRunId}`, (model) => {
    const s = model.status();
    setCurrentDetails(majorDetails(s));
    if (s.phase !== shownPhase) {
      shownPhase = s.phase;
      upsertSearchAttributes([{ key: IncidentPhase, value: s.phase }]);
    }
  });
  m.openedAt = info.startTime.getTime();
  const runs = (resume?.runs ?? 0) + 1;
  if (resume) restore(m, resume);
  setHandler(joinMajorSignal, (j) => m.join(j));
  setHandler(childPhaseSignal, (p) => m.childPhase(p));
  setHandler(majorStatusQuery, () => m.status());
  m.changed();

  const background = [deliver(m), tellChildren(m), ladder(m), statusStream(m)];
  // Parents opened before this check wait for every child's own report (a terminated child held them open).
  if (patched('major-child-liveness')) background.push(watchChildren(m));
  await condition(() => m.allResolved() || historyIsLong(input));
  if (!m.allResolved()) {
    // Everything pending (answers to children, messages) is carried: the snapshot is taken last.
    m.closing = true;
    await Promise.all(background);
    await condition(allHandlersFinished);
    return continueAsNew<typeof majorIncidentWorkflow>(input, snapshotOf(m, runs));
  }
  m.resolve();
  await Promise.all(background);
  await condition(allHandlersFinished);
  return {
    majorId: input.majorId,
    major: m.isMajor,
    children: m.children.length,
    escalationLevel: m.escalationLevel,
    resolvedAt: iso(m.resolvedAt ?? Date.now()),
    runs,
  };
}

/** Runbook Escalation for the whole storm: L2 and L3 from the lead's page, once each, while a service is not restored. */
async function ladder(m: MajorIncidentModel): Promise<void> {
  await condition(() => m.isMajor || m.closing);
  const d = m.durations;
  if (!d || m.closing) return;
  for (const step of [
    { level: 2, after: d.escalationL2 },
    { level: 3, after: d.escalationL3 },
  ]) {
    const due = (m.firstPageAt ?? m.openedAt) + step.after;
    // Bounded: each pass waits for the due time, or for restored to change.
    while (!m.closing && m.escalationLevel < step.level) {
      if (m.allRestored()) {
        await condition(() => !m.allRestored() || m.closing);
        continue;
      }
      const remaining = due - Date.now();
      if (remaining <= 0) {
        const open = m.children.filter((c) => !c.restored && !childDone(c)).length;
        m.page(step.level, `${open} of ${m.children.length} services not restored within ${formatDuration(step.after)}`);
        break;
      }
      await condition(() => m.closing || m.allRestored(), remaining, {
        summary: `page L${step.level} for the storm at ${clock(due)} unless every service is restored`,
      });
    }
  }
}

/** Runbook Communication for the whole storm: one status every statusInterval once it is major. */
async function statusStream(m: MajorIncidentModel): Promise<void> {
  await condition(() => m.isMajor || m.closing);
  const interval = m.durations?.statusInterval ?? 15 * 60_000;
  m.nextStatusAt ??= (m.firstPageAt ?? m.openedAt) + interval;
  let due = m.nextStatusAt;
  while (!m.closing) {
    const closed = await condition(() => m.closing, Math.max(1, due - Date.now()), {
      summary: `status of ${m.children.length} services at ${clock(due)} (every ${formatDuration(interval)})`,
    });
    if (closed) break;
    m.postStatus();
    // After an outage, one catch-up update, then the usual cadence: never a burst.
    due += interval * Math.max(1, Math.ceil((Date.now() - due + 1) / interval));
    m.nextStatusAt = due;
  }
}

/** Every childCheckInterval, the awaited children that no longer run are let go (a child terminated by hand never reports). */
async function watchChildren(m: MajorIncidentModel): Promise<void> {
  while (!m.closing) {
    const closed = await condition(() => m.closing, childCheckInterval, { summary: 'check that the unresolved services still run' });
    if (closed) break;
    const awaited = m.awaited();
    if (awaited.length === 0) continue;
    try {
      for (const e of await comms.endedIncidents.executeWithOptions({ summary: `check ${awaited.length} unresolved services still run` }, [awaited])) {
        m.childEnded(e.incidentId, e.status);
      }
    } catch {
      // Temporal unreachable for the worker: the next check tries again.
    }
  }
}

/** Each child hears its role in order; the memo lists the children for the UI. */
async function tellChildren(m: MajorIncidentModel): Promise<void> {
  let listed = 0;
  for (;;) {
    await condition(() => m.replies.length > 0 || m.closing);
    const batch = m.replies.splice(0);
    // Concurrently: one slow or closed child never holds the others' answers back.
    await Promise.all(
      batch.map((reply) =>
        getExternalWorkflowHandle(reply.to)
          .signal(majorRoleSignal, reply.role)
          .catch(() => m.record(`could not tell ${reply.to} its role (${reply.role.role}): it pages on its own`)),
      ),
    );
    if (m.children.length !== listed) {
      listed = m.children.length;
      upsertMemo({ children: m.children.map((c) => c.incidentId) });
    }
    if (m.closing && m.replies.length === 0) break;
  }
}

/** Notifications in order per channel, never blocking the parent. */
async function deliver(m: MajorIncidentModel): Promise<void> {
  const queues = new Map<Notification['channel'], Promise<void>>();
  for (;;) {
    await condition(() => m.outbox.length > 0 || m.closing);
    for (let n = m.outbox.shift(); n; n = m.outbox.shift()) {
      const notification = n;
      const before = queues.get(notification.channel) ?? Promise.resolve();
      queues.set(
        notification.channel,
        before.then(() =>
          comms.notify
            .executeWithOptions({ summary: `${notification.channel} ${notification.event}: ${notification.summary}`.slice(0, 200) }, [notification])
            .catch(() => m.record(`failed to send ${notification.channel} ${notification.event}`)),
        ),
      );
    }
    if (m.closing && m.outbox.length === 0) break;
  }
  await Promise.all(queues.values());
}
