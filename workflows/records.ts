// What the incident keeps and shows: the status query's answer, the action log,
// the timeline, the record handed to the post-incident workflow, and its tasks.
// Plain JSON only (they cross query, continue-as-new and child boundaries).
import type { LogExcerpt, MitigationAction, MutationPreview, PublicState, ServiceEvent, ServiceRef } from './domain.js';
import type { CommonCause, DiagnosisCategory, Symptom } from './diagnose.js';
import type { Alert, Severity } from './input.js';

export const incidentPhases = ['investigating', 'awaiting-approval', 'mitigating', 'verifying', 'monitoring', 'escalated', 'resolved'] as const;
export type IncidentPhase = (typeof incidentPhases)[number];

export type ActionOutcome =
  | 'awaiting-approval'
  /** Approved (or auto-approved) and being applied / verified. */
  | 'applying'
  | 'rejected'
  /** No decision before the approval timeout: escalated, never applied. */
  | 'expired'
  /** The incident was resolved by hand while the action waited. */
  | 'cancelled'
  /** The dry-run showed the object already in the requested state: nothing to apply. */
  | 'no-change'
  /** The preview or the apply failed (guardrail, RBAC, invalid object). */
  | 'failed'
  | 'not-recovered'
  | 'recovered';

export interface Decision {
  approved: boolean;
  by: string;
  at: string;
  comment?: string;
}

export interface ActionRecord {
  /** Action number within the incident (the idempotency key ends with it). */
  n: number;
  action: MitigationAction;
  /** The kubectl command it stands for. */
  command: string;
  why: string;
  approval: 'auto' | 'human';
  /** What a human must do before this action can help (e.g. restore a secret key). */
  humanFix?: string;
  idempotencyKey: string;
  preview?: MutationPreview;
  requestedAt: string;
  decision?: Decision;
  /** Under the two-person rule: the approvals given so far, before the one that decides. */
  approvals?: Decision[];
  /** The person who asked for this change (a hotfix image): they may not approve it. */
  requestedBy?: string;
  outcome: ActionOutcome;
  /** Why it failed or did not recover (failed checks, error message). */
  detail?: string;
  appliedAt?: string;
  finishedAt?: string;
  /**
   * The values this action overwrites, as the findings showed them when it was planned
   * (null: the key was absent): put back when the incident ends, by an action of its own.
   */
  overwrites?: Record<string, string | null>;
  /** This action puts back what action #restoresAction overwrote. */
  restoresAction?: number;
}

export interface PendingApproval {
  action: number;
  kind: MitigationAction['kind'];
  command: string;
  why: string;
  humanFix?: string;
  /** The server-side dry-run of exactly this change. */
  preview: { command: string; changes: string[]; wouldChange: boolean };
  requestedAt: string;
  expiresAt: string;
  /** Who may decide; empty means anyone. */
  approvers: string[];
  /** What a signed decision names (the action's idempotency key: incident, first run, action); absent in older runs. */
  actionKey?: string;
  /** Distinct approvals the change needs (2: the two-person rule); absent in older runs: 1. */
  approvalsRequired?: number;
  /** Who approved it so far, while more approvals are needed. */
  approvedBy?: string[];
  /** Who asked for it (they may not approve it). */
  requestedBy?: string;
  /** Decisions count only signed by an approval channel (the receiver's decisions API). */
  signedDecisions?: boolean;
}

export type TimelineKind =
  | 'opened'
  | 'alert'
  | 'phase'
  | 'investigation'
  | 'diagnosis'
  | 'approval'
  | 'action'
  | 'verification'
  | 'monitor'
  | 'escalation'
  | 'ack'
  | 'note'
  | 'notification'
  | 'ignored'
  | 'resolved';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  text: string;
}

export interface DiagnosisSummary {
  category: DiagnosisCategory;
  symptom: Symptom;
  cause: string;
  evidence: string[];
  /** The cause many services can share (diagnose.ts); absent in incidents of earlier releases. */
  commonCause?: CommonCause;
}

export type Resolution =
  /** An action of ours restored the service and the monitor saw it stay up. */
  | 'mitigated'
  /** The service recovered without an action of ours (a human fixed it, the dependency came back). */
  | 'recovered'
  /** Closed by a human with the resolve signal. */
  | 'manual';

export interface IncidentStatus {
  incidentId: string;
  /** The pager's dedup key of this incident (L2 and L3 add /L2, /L3): an acknowledgement in the pager names it. */
  dedupKey?: string;
  incidentNumber?: number;
  service: ServiceRef;
  phase: IncidentPhase;
  /** Set while this run ends: to continue as new (everything pending is carried over), or to resolve. */
  closing?: 'continue' | 'resolve';
  severity: Severity;
  openedAt: string;
  acknowledged?: { by: string; at: string };
  restoredAt?: string;
  resolvedAt?: string;
  resolution?: Resolution;
  alert: {
    name: string;
    summary: string;
    fingerprint: string;
    startsAt: string;
    /** Distinct firings (a new startsAt or fingerprint); the opening alert is the first. */
    fired: number;
    /** alertFired signals received, repeats of a firing included (Alertmanager re-sends every repeat_interval). */
    deliveries: number;
    resolvedAt?: string;
  };
  /** Compact lines from the latest investigation. */
  findingsSummary: string[];
  investigations: number;
  diagnosis?: DiagnosisSummary;
  pendingApproval?: PendingApproval;
  actions: ActionRecord[];
  escalationLevel: number;
  /** The last customer-impact check, and what the status page shows (once customers were affected). */
  customers?: { affected: boolean; customerFacing: boolean; checkedAt: string; evidence: string[]; statusPage?: PublicState };
  monitor?: { samples: number; of: number; lastSample?: string };
  /** The timers the workflow waits on, soonest first. */
  timers: { label: string; at: string }[];
  timeline: TimelineEntry[];
  /** Timeline entries dropped to keep state small (the first and the newest are kept). */
  timelineOmitted: number;
  /** Runs of this incident (continue-as-new starts a new one). */
  run: number;
  /** The major incident this one is part of: lead (pages as usual) or folded (the parent pages and posts status). */
  major?: { id: string; role: 'lead' | 'folded'; cause: string; /** It was the storm's lead: its L1 page is the storm's. */ led?: boolean };
}

/** The incident's own record: what the summary report is drafted from. */
export interface IncidentRecord {
  incidentId: string;
  incidentNumber?: number;
  service: ServiceRef;
  severity: Severity;
  alert: Alert;
  openedAt: string;
  acknowledged?: { by: string; at: string };
  restoredAt?: string;
  resolvedAt: string;
  resolution: Resolution;
  resolvedBy?: string;
  escalationLevel: number;
  diagnosis?: DiagnosisSummary;
  findingsSummary: string[];
  /** RCA: log context around ERROR/FATAL lines from the latest investigation that found any (redacted, bounded). */
  rcaLogs?: LogExcerpt[];
  /** RCA: the service's latest events from the latest investigation that saw any. */
  rcaEvents?: ServiceEvent[];
  actions: ActionRecord[];
  timeline: TimelineEntry[];
  timelineOmitted: number;
}

export interface IncidentOutcome {
  incidentId: string;
  resolution: Resolution;
  resolvedAt: string;
  restoredAt?: string;
  escalationLevel: number;
  actionsApplied: number;
  postIncidentWorkflowId: string;
}

export type TaskGroup = 'immediate' | 'follow-up' | 'long-term';

export interface PostIncidentTask {
  id: string;
  group: TaskGroup;
  title: string;
  /** Who the task is for: a role, or the person who held it in this incident. */
  owner?: string;
  dueAt: string;
  done?: { by: string; at: string; note?: string };
  /** For the summary task: where the drafted report was written. */
  draft?: string;
}

export interface PostIncidentStatus {
  incidentId: string;
  reportLocation?: string;
  tasks: PostIncidentTask[];
  /** Reminders and overdue escalations sent, oldest first. */
  sent: { at: string; event: string; group: TaskGroup; level?: number }[];
  ignored: { at: string; reason: string }[];
}
