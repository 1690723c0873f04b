// The incident workflow's input: the service, the alert that opened it, and the
// policy the plan must respect. Durations default to the runbook's figures, so a
// caller that passes only the service and the alert runs the runbook as written.
// The parsed form (durations in ms, every default filled in) is itself a valid
// input, so continue-as-new can pass it on unchanged.
import { z } from 'zod';
import { MitigationActionSchema, ServiceRefSchema, type MitigationKind } from './domain.js';
import { parseDuration, parseMemory } from './units.js';
import { KeyIdSchema, PublicKeySchema } from './decision-signature.js';

export const SeveritySchema = z.enum(['critical', 'error', 'warning', 'info']);
export type Severity = z.infer<typeof SeveritySchema>;

/** The alert as the receiver maps it from Alertmanager (one alert of a webhook group). */
export const AlertSchema = z.object({
  name: z.string().min(1).max(200),
  severity: SeveritySchema,
  summary: z.string().max(2000).default(''),
  labels: z.record(z.string(), z.string().max(500)).default({}),
  startsAt: z.iso.datetime({ offset: true }),
  fingerprint: z.string().min(1).max(128),
});
export type Alert = z.infer<typeof AlertSchema>;

export const MitigationKindSchema = z.enum(MitigationActionSchema.options.map((option) => option.shape.kind.value) as [MitigationKind, ...MitigationKind[]]);

/** A duration as milliseconds or as text ("90s", "15m", "24h", "7d"). */
export const DurationSchema = z
  .union([z.number().int().positive(), z.string().refine((text) => parseDuration(text) !== undefined, 'a duration such as "15m", "24h" or "7d"')])
  .transform((value) => (typeof value === 'number' ? value : (parseDuration(value) ?? 0)))
  .refine((ms) => ms > 0, 'a positive duration');

/** A memory quantity as parseMemory reads it; the worker's MEMORY_CEILING and the activities' guardrails use this same schema. */
export const MemoryQuantitySchema = z.string().refine((q) => parseMemory(q) !== undefined, 'a Kubernetes memory quantity such as "4Gi" or "4G"');

/** Hard caps that keep one incident's history bounded (see the README of workflows/incident.ts). */
export const LimitsSchema = z
  .object({
    /** Mitigation attempts per incident (approved, rejected, expired or failed all count). */
    maxMitigationAttempts: z.number().int().min(1).max(20).default(8),
    /** Investigation rounds per incident (the first one, one per failed fix, one per regression). */
    maxInvestigations: z.number().int().min(1).max(20).default(6),
    /** Timeline entries kept in state (the first ones and the newest; the rest are counted). */
    maxTimelineEntries: z.number().int().min(20).max(1000).default(200),
    /** History length at which a run continues as new at its next safe point. */
    continueAsNewAfterEvents: z.number().int().min(200).max(40_000).default(2_000),
  })
  .prefault({});

/**
 * Who may approve or reject a mitigation (empty: anyone), per namespace the action kinds
 * applied without a human, and how many distinct people must approve a change (2: the
 * two-person rule; one rejection is enough to stop it).
 */
export const ApprovalPolicySchema = z.object({
  approvers: z.array(z.string().min(1).max(200)).max(100).default([]),
  autoApprove: z.record(z.string(), z.array(MitigationKindSchema)).default({}),
  approvalsRequired: z.number().int().min(1).max(2).default(1),
  /**
   * Public keys (by key ID) of the approval channels whose signed decisions count. Not empty:
   * every decision must be signed by one (workflows/decision-signature.ts); empty: unsigned decisions count.
   */
  decisionKeys: z.record(KeyIdSchema, PublicKeySchema).default({}),
});
export type ApprovalPolicy = z.output<typeof ApprovalPolicySchema>;

export const IncidentInputSchema = z
  .object({
    service: ServiceRefSchema,
    alert: AlertSchema,
    /** Human-friendly number (INC-42), kept as the IncidentNumber search attribute. */
    incidentNumber: z.number().int().positive().optional(),
    /**
     * Ignored by incidents started since the policy moved to the worker: each loads its
     * worker's (the `approvalPolicy` activity). Still accepted from older clients, and
     * carried by the runs of incidents from before.
     */
    approval: ApprovalPolicySchema.prefault({}),
    /** Guardrails the plan respects before the activities enforce them again. */
    guardrails: z
      .object({
        maxReplicas: z.number().int().min(1).max(1000).default(10),
        memoryCeiling: MemoryQuantitySchema.default('4Gi'),
      })
      .prefault({}),
    durations: z
      .object({
        /** Runbook, Resolution step 4: "Monitor for 30 minutes to ensure stability". */
        monitor: DurationSchema.default(30 * 60_000),
        sampleInterval: DurationSchema.default(60_000),
        /** Runbook, Escalation: L2 when not restored within 15 minutes, L3 after 30. */
        escalationL2: DurationSchema.default(15 * 60_000),
        escalationL3: DurationSchema.default(30 * 60_000),
        /** Runbook, Communication: "Post status updates every 15 minutes". */
        statusInterval: DurationSchema.default(15 * 60_000),
        /**
         * The L1 page waits for the first diagnosis (a storm's later services are folded into a
         * major incident and do not page), but never longer than this after the alert.
         */
        pageHold: DurationSchema.default(30_000),
        approvalTimeout: DurationSchema.default(15 * 60_000),
        rolloutTimeout: DurationSchema.default(5 * 60_000),
        /** Runbook, Post-Incident Actions: within 24 hours, 1 week, 1 month. */
        taskDue: z
          .object({
            immediate: DurationSchema.default(24 * 3_600_000),
            followUp: DurationSchema.default(7 * 86_400_000),
            longTerm: DurationSchema.default(30 * 86_400_000),
          })
          .prefault({}),
        /** A reminder this long before a task group is due (not in the runbook: our choice). */
        reminderLead: DurationSchema.default(4 * 3_600_000),
        /** Overdue tasks go to L2 at the due time and to L3 this long after it. */
        overdueEscalation: DurationSchema.default(24 * 3_600_000),
      })
      .prefault({}),
    /** When a monitor sample counts as a regression. */
    regression: z
      .object({
        maxErrorRate: z.number().min(0).max(1).default(0.05),
        /** A fixed p99 threshold; unset, it is derived from the service's p99 before the incident (latencyFactor). */
        maxP99LatencyMs: z.number().positive().optional(),
        /** Unhealthy samples in a row that re-open mitigation (restarts beyond restartTolerance do at once). */
        consecutiveBadSamples: z.number().int().min(1).max(10).default(2),
        /** The p99 threshold is the service's own p99 before the incident times this. */
        latencyFactor: z.number().min(1).default(2),
        /** The p99 threshold when no baseline could be read (no Prometheus, or no data before the alert). */
        defaultMaxP99LatencyMs: z.number().positive().default(10_000),
        /** New restarts during the monitor that are only noted (a pod rescheduled once); one more re-opens at once. */
        restartTolerance: z.number().int().min(0).default(1),
        /** Active agents below this share of the count before the incident are bad; with no baseline, zero agents are. */
        minActiveAgentsRatio: z.number().min(0).max(1).default(0.5),
      })
      .prefault({}),
    limits: LimitsSchema,
    /** Runbook Escalation Level 3 and Communication: when customers count as affected and when to tell them. */
    customers: z
      .object({
        /** How often a held-back L3 (customers not affected) looks at customers again. */
        recheck: DurationSchema.default(5 * 60_000),
        /** The SLA's outage budget: an outage this long breaches it. */
        slaBudget: DurationSchema.default(60 * 60_000),
        /** A breach is imminent this long before the budget is spent: customers are notified then, if affected. */
        slaWarning: DurationSchema.default(15 * 60_000),
      })
      .prefault({}),
  })
  .superRefine((input, ctx) => {
    const d = input.durations;
    if (d.monitor / d.sampleInterval > 120) {
      ctx.addIssue({
        code: 'custom',
        path: ['durations', 'sampleInterval'],
        message: 'at most 120 monitor samples (monitor / sampleInterval): the history stays bounded',
      });
    }
    // An approval wait cannot continue as new (a decision is pending), and status updates keep coming
    // during it: these two caps keep one run's history bounded.
    if (d.approvalTimeout > 4 * 3_600_000) {
      ctx.addIssue({ code: 'custom', path: ['durations', 'approvalTimeout'], message: 'at most 4h: an emergency approval that waits longer should escalate' });
    }
    if (d.statusInterval < 5 * 60_000) {
      ctx.addIssue({ code: 'custom', path: ['durations', 'statusInterval'], message: 'at least 5m between status updates' });
    }
    if (d.escalationL3 <= d.escalationL2) {
      ctx.addIssue({ code: 'custom', path: ['durations', 'escalationL3'], message: 'L3 must come after L2' });
    }
    if (input.customers.slaWarning >= input.customers.slaBudget) {
      ctx.addIssue({ code: 'custom', path: ['customers', 'slaWarning'], message: 'the SLA warning must come before the budget is spent' });
    }
    if (d.reminderLead >= d.taskDue.immediate) {
      ctx.addIssue({ code: 'custom', path: ['durations', 'reminderLead'], message: 'the reminder must come before the first tasks are due' });
    }
    if (!(d.taskDue.immediate < d.taskDue.followUp && d.taskDue.followUp < d.taskDue.longTerm)) {
      ctx.addIssue({ code: 'custom', path: ['durations', 'taskDue'], message: 'task groups are due in order: immediate < followUp < longTerm' });
    }
  });

/** What a caller passes (durations as text or ms, defaults optional). */
export type IncidentInput = z.input<typeof IncidentInputSchema>;
/** What the workflow works with: every default filled in, durations in ms. */
export type IncidentConfig = z.output<typeof IncidentInputSchema>;

/** Problems shown of one zod error; the rest are counted. */
const shownIssues = 5;

/**
 * The one way a zod error becomes text people read (workflow input, signals and
 * updates, snapshots, the worker's and client's environment): "path: message" per
 * problem, joined by "; ", at most five and then how many more. `root` names what
 * a problem without a path is about.
 */
export function describeIssues(error: z.ZodError, root = '(root)'): string {
  const shown = error.issues.slice(0, shownIssues).map((issue) => `${issue.path.length ? issue.path.join('.') : root}: ${issue.message}`);
  const more = error.issues.length - shown.length;
  return [...shown, ...(more > 0 ? [`and ${more} more`] : [])].join('; ');
}
