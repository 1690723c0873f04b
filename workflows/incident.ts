// The incident workflow: the "Service Down" runbook as durable code, one run per
// affected service (workflow ID incident/<cluster>/<namespace>/<deployment>).
//
//   alert ─► investigate ─► diagnose ─► plan ─► approval ─► apply (dry-run first) ─► verify
//              ▲                                                                     │
//              └────────── not recovered: next candidate / re-investigate / escalate ◄┘
//   restored ─► monitor 30 min (regression → investigate again) ─► resolve ─► post-incident
//
// Alongside, for as long as it is open: pages (L1 at once, L2 at 15 min, L3 at
// 30 min unless restored), a status update every 15 min, and every notification
// sent without blocking the lifecycle.
//
// History stays bounded: at most limits.maxInvestigations rounds and
// limits.maxMitigationAttempts actions per incident, at most 120 monitor samples
// per round, approval waits of at most 4 h, a capped timeline; and a run whose
// history reached limits.continueAsNewAfterEvents (2,000) continues as new with
// the incident's snapshot at its next safe point: before an investigation,
// between plan steps, and in every wait (for people, for an approval, between
// monitor samples), so signals alone can never fill a run. Between two safe
// points a run adds at most one investigation and one mitigation step (~100
// events) plus the signals that arrive meanwhile; a default lifecycle is ~460.
//
// Changing this file changes running incidents: guard a change with
// patched('<id>') and keep the replay tests in test/replay passing.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { ActivityFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { IncidentActivities } from '../activities/types.js';
import { investigationCommands } from './kubectl.js';
import { diagnose, investigationFailed, summarizeFindings } from './diagnose.js';
import type { CustomerImpact, Findings, MitigationAction, MutationPreview, MutationRequest, Notification, VerificationResult } from './domain.js';
import { IncidentInputSchema, describeIssues, type IncidentConfig, type IncidentInput } from './input.js';
import { listen } from './handlers.js';
import { childPhaseSignal, incidentSearchAttributes, majorIncidentId, majorRoleSignal, postIncidentWorkflowId } from './messages.js';
import { commonCause } from './common-cause.js';
import { acquireLease, listenForLeaseAnswers, releaseLease } from './lease.js';
import { IncidentModel } from './model/incident.js';
import { restoreSnapshot, type ApprovalWait, type MonitorProgress, type ResumePoint } from './model/snapshot.js';
import { mitigations } from './mitigations.js';
import { commsOptions, policyOptions, readOptions, rolloutWaitRetryPolicy, writeOptions } from './retry.js';
import {
  assessSample,
  describeSample,
  describeThresholds,
  judgeSample,
  monitorThresholds,
  restartsBaseline,
  type MonitorThresholds,
} from './health-verdict.js';
import { hotfixStep, reproposalStep } from './hotfix.js';
import { plan, type PlanStep } from './plan.js';
import { postIncidentWorkflow } from './post-incident.js';
import { overwrittenValues, pendingRestores, restoreStep } from './config-restore.js';
import type { ActionRecord, IncidentOutcome } from './records.js';
import { clampJsonBytes, notificationSummary, staticSummaryBudget, tasksDetails } from './render.js';
import { project } from './projection.js';
import { clock, formatDuration, iso } from './units.js';

// Retries of every activity, and why they are what they are: workflows/retry.ts.
const reads = proxyActivities<IncidentActivities>(readOptions);
const writes = proxyActivities<IncidentActivities>(writeOptions);
const comms = proxyActivities<IncidentActivities>(commsOptions);
const policies = proxyActivities<IncidentActivities>(policyOptions);

/**
 * The incident lifecycle. `resume` is only passed by continue-as-new: the incident's
 * snapshot (model/snapshot.ts), validated and migrated before anything else runs.
 */
export async function incidentWorkflow(input: IncidentInput, resume?: unknown): Promise<IncidentOutcome> {
  const config = parseInput(input);
  const info = workflowInfo();
  // A snapshot carries decisions and applied actions: only this incident's own previous run may hand one over.
  if (resume !== undefined && !info.continuedFromExecutionRunId) {
    throw ApplicationFailure.nonRetryable("a snapshot is only accepted from the incident's own continue-as-new, not in a start request", 'BadRequest');
  }
  const snapshot = resume === undefined ? undefined : restoreSnapshot(resume);
  const state = new IncidentModel(
    config,
    {
      workflowId: info.workflowId,
      firstRunId: info.firstExecutionRunId,
      startTime: info.startTime.getTime(),
      // In this order: each patched() call of a new run writes its marker to history.
      features: {
        continuesWhileWaiting: patched('continue-as-new-while-waiting'),
        crashSafe: patched('crash-safety'),
        keepsInputWhileClosing: patched('input-while-closing'),
        customerComms: patched('comms-customer-impact'),
        majorIncident: patched('fleet-major-incident'),
        foldedQuiet: patched('fleet-folded-quiet'),
      },
      changed: project,
    },
    snapshot,
  );
  listen(state);
  if (state.features.majorIncident) setHandler(majorRoleSignal, (role) => state.takeMajorRole(role));
  listenForLeaseAnswers();
  // Who may approve and what is applied without a human come from the worker, never from the
  // input (whoever starts a workflow writes that). Runs from before used the input's policy.
  if (patched('approval-policy-from-worker')) await loadApprovalPolicy(state);

  const background = [deliverNotifications(state), escalationLadder(state), statusUpdates(state)];
  if (state.features.customerComms) background.push(slaWatch(state));
  // A storm: L1 waits for the first diagnosis (at most the hold), which may fold it into a major incident.
  if (state.features.majorIncident) background.push(pageOrFold(state), reportToMajor(state));
  // Runbook, Escalation Level 1: "Service completely down: page on-call engineer", at once.
  else if (!resume) state.escalate(1, 'service down: paging the on-call engineer');

  const end = await respond(state, snapshot?.resumeAt ?? 'investigate');

  if (end.kind === 'continue') {
    // Input that arrives from here on is kept: the snapshot is taken last, undelivered messages included.
    state.close('continue');
    await Promise.all(background);
    await condition(allHandlersFinished);
    return continueAsNew<typeof incidentWorkflow>(config, state.snapshot(end.resumeAt));
  }

  // Runbook emergency option 3's LOG_LEVEL=DEBUG is put back before the incident closes (exactly once: the restore is an action of the record).
  if (pendingRestores(state.data.actions).length > 0 && patched('monitor-restore-log-level')) await restoreOverwrittenConfig(state);
  state.resolve(end.resolution, end.by, end.reason);
  state.close('resolve');
  await Promise.all(background);
  const postIncidentId = await startPostIncident(state);
  await condition(allHandlersFinished);
  return {
    incidentId: state.id,
    resolution: end.resolution,
    resolvedAt: iso(state.resolvedAt ?? Date.now()),
    ...(state.data.restoredAt ? { restoredAt: iso(state.data.restoredAt) } : {}),
    escalationLevel: state.data.escalationLevel,
    actionsApplied: state.data.actions.filter((a) => a.appliedAt).length,
    postIncidentWorkflowId: postIncidentId,
  };
}

async function loadApprovalPolicy(state: IncidentModel): Promise<void> {
  state.loadingApprovalPolicy();
  const policy = await policies.approvalPolicy.executeWithOptions({ summary: 'the approval policy of the worker' }, [state.config.service]);
  state.adoptApprovalPolicy(policy);
}

function parseInput(input: IncidentInput): IncidentConfig {
  const parsed = IncidentInputSchema.safeParse(input);
  // A bad input fails the workflow with a clear message instead of retrying a workflow task forever.
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid incident input: ${describeIssues(parsed.error)}`, 'BadRequest');
  return parsed.data;
}

/** The run's history is long enough to continue as new at the next safe point. */
function historyIsLong(state: IncidentModel): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= state.config.limits.continueAsNewAfterEvents;
}

/** A wait (approval, monitor) ends early to continue as new: signals must never fill one run's history. */
function shouldContinueWhileWaiting(state: IncidentModel): boolean {
  return state.features.continuesWhileWaiting && historyIsLong(state);
}

type End = { kind: 'resolved'; resolution: 'mitigated' | 'recovered' | 'manual'; by?: string; reason?: string } | { kind: 'continue'; resumeAt: ResumePoint };

const freshMonitor: ResumePoint = { monitor: { sample: 0, badInARow: 0 } };

/** The runbook's loop. Each pass investigates (capped), waits for people or an approval, or monitors a recovery. */
async function respond(state: IncidentModel, start: ResumePoint): Promise<End> {
  let next: ResumePoint = start;
  for (;;) {
    if (state.data.resolveRequested) {
      cancelOpenApproval(state, next);
      return { kind: 'resolved', resolution: 'manual', ...state.data.resolveRequested };
    }
    // Runs from before continue-as-new could carry a monitor keep monitoring to its end.
    const canContinue = typeof next === 'string' || 'approval' in next || state.features.continuesWhileWaiting;
    if (canContinue && historyIsLong(state)) return { kind: 'continue', resumeAt: next };
    if (next === 'investigate') {
      next = await investigateAndMitigate(state);
    } else if (next === 'wait') {
      next = await waitForPeople(state);
    } else if ('approval' in next) {
      next = await resumeApproval(state, next.approval);
    } else {
      const result = await monitorRecovery(state, next.monitor);
      if (result === 'stable') return { kind: 'resolved', resolution: state.data.restoredByAction ? 'mitigated' : 'recovered' };
      next = typeof result === 'object' ? result : result === 'regression' ? 'investigate' : 'wait';
    }
  }
}

/** A hand resolution while an approval was carried over: the action is cancelled, never applied. */
function cancelOpenApproval(state: IncidentModel, next: ResumePoint): void {
  if (typeof next === 'string' || !('approval' in next)) return;
  const record = state.data.actions.find((a) => a.n === next.approval.action);
  if (record && !record.decision && record.outcome === 'awaiting-approval') state.finishAction(record, 'cancelled', 'the incident was resolved by hand');
}

// --- Investigation, diagnosis, plan ------------------------------------------

async function investigateAndMitigate(state: IncidentModel): Promise<ResumePoint> {
  if (state.data.investigations >= state.config.limits.maxInvestigations) {
    if (state.data.hotfix) state.ignore(`hotfix image ${state.takeHotfix()?.image ?? ''} not proposed: the investigation cap is reached`);
    if (state.data.reproposal) state.ignore(`#${state.takeReproposal()?.action ?? ''} not proposed again: the investigation cap is reached`);
    state.handOver(`${state.data.investigations} investigations reached the cap: the automation stops here`, state.data.diagnosis?.evidence ?? []);
    return 'wait';
  }
  state.setPhase('investigating');
  // Runbook Communication: customers are looked at once per investigation; the status page follows them.
  if (state.features.customerComms) await lookAtCustomers(state);
  const findings = await investigate(state);
  if ('errors' in findings) {
    // Without findings there is no container to check the image against: the person sends it again.
    if (state.data.hotfix) state.ignore(`hotfix image ${state.takeHotfix()?.image ?? ''} not proposed: the investigation failed; send it again`);
    if (state.data.reproposal) state.ignore(`#${state.takeReproposal()?.action ?? ''} not proposed again: the investigation failed; send it again`);
    const diagnosis = investigationFailed(findings.errors);
    state.setDiagnosis(diagnosis);
    state.firstCause ??= null;
    state.handOver(diagnosis.cause, diagnosis.evidence);
    return 'wait';
  }
  // The runbook's own values: an OOM gets limits.memory 4Gi (not double), and pods starved
  // of CPU get the "Resource Issues" requests and limits. Incidents from before keep doubling.
  const runbookResources = patched('fixes-runbook-resources');
  // A "401" in a log line's timestamp is not an HTTP 401: incidents from before read it as one.
  const statusCode401 = patched('diagnose-401-as-status');
  // Crashing pods after a recent rollout: a failed dependency probe their logs do not echo no longer wins over the rollback.
  const rolloutOverSilentDependency = patched('crash-rollout-over-silent-dependency');
  const diagnosis = diagnose(findings, { resourceStarvation: runbookResources, statusCode401, rolloutOverSilentDependency });
  state.setDiagnosis(diagnosis);
  if (state.features.majorIncident) state.firstCause ??= commonCause(diagnosis) ?? null;

  // Bounded: each pass records an action (plan never repeats one) and plan caps the attempts.
  for (;;) {
    if (state.data.resolveRequested) return 'wait';
    // A safe point (no approval open, no activity running): a long history continues as new, re-investigating.
    if (historyIsLong(state)) return 'investigate';
    // A person's hotfix image, or an expired action a person proposes again, goes before the plan's next candidate (incidents from before never had one).
    const hotfix = state.data.hotfix !== undefined && patched('fixes-hotfix-image') ? state.takeHotfix() : undefined;
    const reproposal = !hotfix && state.data.reproposal ? state.takeReproposal() : undefined;
    const proposed = hotfix ? hotfixStep(hotfix, findings, state.config) : reproposal ? reproposalStep(reproposal, state.data.actions) : undefined;
    // Who asked for a hotfix may not approve it; hotfixes proposed before that rule could be approved by them.
    if (proposed && 'requestedBy' in proposed && !patched('hotfix-requester-may-not-approve')) delete proposed.requestedBy;
    if (proposed && 'refused' in proposed) {
      state.ignore(proposed.refused);
      continue;
    }
    const step =
      proposed ??
      plan(diagnosis, findings, state.data.actions, {
        service: state.config.service,
        guardrails: state.config.guardrails,
        autoApprove: state.config.approval.autoApprove[state.config.service.namespace] ?? [],
        now: iso(Date.now()),
        maxAttempts: state.config.limits.maxMitigationAttempts,
        ...(runbookResources ? {} : { legacyMemoryDoubling: true }),
      });
    if (step.kind === 'escalate') {
      state.handOver(step.reason, step.evidence);
      return 'wait';
    }
    if (step.kind === 'verify') {
      const verification = await verify(state, undefined, restartsBaseline(undefined, findings));
      if (verification.recovered) {
        state.markRestored(false, verification.restarts);
        return freshMonitor;
      }
      state.handOver(`the findings look healthy but verification fails: ${failedChecks(verification)}`, diagnosis.evidence);
      return 'wait';
    }
    const result = await mitigate(state, step, findings);
    if (typeof result === 'object') return result;
    if (result === 'recovered') return freshMonitor;
    if (result === 'not-recovered') return 'investigate';
    if (result === 'expired' || result === 'cancelled') return 'wait';
    // rejected, no-change, failed: the next candidate, with the same findings.
  }
}

/** Runbook Investigation steps 1-5, plus health and events, all at once. */
async function investigate(state: IncidentModel): Promise<Findings | { errors: string[] }> {
  const s = state.config.service;
  const cmd = investigationCommands(s);
  const collectedAt = iso(Date.now());
  const results = await Promise.allSettled([
    reads.inspectWorkload.executeWithOptions({ summary: cmd.inspectWorkload }, [s]),
    reads.collectLogs.executeWithOptions({ summary: cmd.collectLogs }, [s, { tailLines: 500, sinceSeconds: 3600 }]),
    reads.inspectResources.executeWithOptions({ summary: cmd.inspectResources }, [s]),
    reads.inspectConfiguration.executeWithOptions({ summary: cmd.inspectConfiguration }, [s]),
    reads.checkDependencies.executeWithOptions({ summary: cmd.checkDependencies }, [s]),
    reads.checkServiceHealth.executeWithOptions({ summary: cmd.checkServiceHealth }, [s]),
    reads.recentEvents.executeWithOptions({ summary: cmd.recentEvents }, [s]),
  ] as const);
  const [workload, logs, resources, config, dependencies, health, events] = results;
  if (
    workload.status === 'fulfilled' &&
    logs.status === 'fulfilled' &&
    resources.status === 'fulfilled' &&
    config.status === 'fulfilled' &&
    dependencies.status === 'fulfilled' &&
    health.status === 'fulfilled' &&
    events.status === 'fulfilled'
  ) {
    const findings: Findings = {
      collectedAt,
      workload: workload.value,
      logs: logs.value,
      resources: resources.value,
      config: config.value,
      dependencies: dependencies.value,
      health: health.value,
      events: events.value,
    };
    state.setFindings(summarizeFindings(findings), { logs: findings.logs.contextExcerpts, events: findings.events.events });
    return findings;
  }
  const names = Object.keys(cmd);
  const errors = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i] ?? `step ${i}`}: ${errorMessage(r.reason)}`] : []));
  state.setFindings(errors.map((e) => `failed: ${e}`));
  return { errors };
}

// --- Mitigation: dry-run, approval, apply, verify ----------------------------

type MitigationResult = 'recovered' | 'not-recovered' | 'rejected' | 'expired' | 'cancelled' | 'no-change' | 'failed';

/** Proposes the step, previews it, and takes it through approval, apply and verify; or returns the approval to carry over. */
async function mitigate(state: IncidentModel, step: Extract<PlanStep, { kind: 'mitigate' }>, findings: Findings): Promise<MitigationResult | ResumePoint> {
  const record = state.addAction(step);
  // What a diagnostic config change overwrites, noted before it is applied: put back when the incident ends.
  const overwrites = step.action.kind === 'patch-config-map' ? overwrittenValues(step.action, findings) : undefined;
  if (overwrites && patched('monitor-restore-log-level')) state.noteOverwrites(record, overwrites);
  const request = mutationRequest(state, record, 'dry-run');

  // The server-side dry-run comes first: the approval request shows exactly this change.
  try {
    state.setPreview(record, await writes.previewMutation.executeWithOptions({ summary: `dry-run: ${step.command}` }, [request]));
  } catch (err) {
    state.finishAction(record, 'failed', `dry-run refused: ${errorMessage(err)}`);
    return 'failed';
  }
  if (record.preview && !record.preview.wouldChange) {
    state.finishAction(record, 'no-change', 'the dry-run shows the object already in that state');
    return 'no-change';
  }

  let wait: ApprovalWait = {
    action: record.n,
    expiresAt: Date.now() + state.config.durations.approvalTimeout,
    // L1 held for the diagnosis counts as paged: a timeout escalates to L2, as it did when L1 went out at once.
    askedLevel: state.holdingPage ? Math.max(1, state.data.escalationLevel) : state.data.escalationLevel,
    restartsBaseline: restartsBaseline(step.action, findings),
  };
  let decision = await approval(state, record, wait, false);
  for (;;) {
    if (decision === 'continue') return { approval: wait };
    if (decision !== 'approved') return decision;
    const result = await applyAndVerify(state, record, wait.restartsBaseline);
    if (result === 'preview-changed' && !record.preview?.wouldChange) return noLongerNeeded(state, record);
    if (result !== 'needs-person' && result !== 'preview-changed') return result;
    // The governor's cooldown, or the object changed since the approved dry-run: the same action, asked (again) of a person.
    wait = askAgain(state, wait);
    decision = await approval(state, record, wait, false);
  }
}

/** The object changed since the approved dry-run, and a dry-run now shows nothing to do. */
function noLongerNeeded(state: IncidentModel, record: ActionRecord): 'no-change' {
  state.finishAction(record, 'no-change', 'the object changed since the approved dry-run and is already in the requested state');
  return 'no-change';
}

/** A new approval wait for an action the governor handed to a person. */
function askAgain(state: IncidentModel, wait: ApprovalWait): ApprovalWait {
  return { ...wait, expiresAt: Date.now() + state.config.durations.approvalTimeout, askedLevel: state.data.escalationLevel };
}

/** An approval carried over from the previous run: wait for the rest of its time, then as mitigate() would. */
async function resumeApproval(state: IncidentModel, wait: ApprovalWait): Promise<ResumePoint> {
  const record = state.data.actions.find((a) => a.n === wait.action);
  // Nothing to resume (a snapshot from elsewhere): look at the service again.
  if (!record) return 'investigate';
  let current = wait;
  let decision = await approval(state, record, current, true);
  for (;;) {
    if (decision === 'continue') return { approval: current };
    if (decision === 'expired' || decision === 'cancelled') return 'wait';
    // The findings this plan came from stayed in the previous run: after a rejection, look again.
    if (decision === 'rejected') return 'investigate';
    const result = await applyAndVerify(state, record, current.restartsBaseline);
    if (result === 'preview-changed' && !record.preview?.wouldChange) {
      noLongerNeeded(state, record);
      return 'investigate';
    }
    if (result !== 'needs-person' && result !== 'preview-changed')
      return result === 'recovered' ? freshMonitor : result === 'cancelled' ? 'wait' : 'investigate';
    current = askAgain(state, current);
    decision = await approval(state, record, current, false);
  }
}

function mutationRequest(state: IncidentModel, record: ActionRecord, approvedBy: string, approvedChanges?: string[]): MutationRequest {
  return {
    service: state.config.service,
    action: record.action,
    idempotencyKey: record.idempotencyKey,
    approvedBy,
    ...(approvedChanges ? { approvedChanges } : {}),
  };
}

/** The dry-run a failed apply found instead of the approved one (ApprovedPreviewChanged), or undefined for any other failure. */
function changedPreview(err: unknown): MutationPreview | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== 'ApprovedPreviewChanged') return undefined;
  const preview = cause.details?.[0] as MutationPreview | undefined;
  return preview && Array.isArray(preview.changes) ? preview : undefined;
}

async function applyAndVerify(
  state: IncidentModel,
  record: ActionRecord,
  baseline: number,
): Promise<'recovered' | 'not-recovered' | 'cancelled' | 'failed' | 'needs-person' | 'preview-changed'> {
  // Auto-approval does not wait, so a hand resolution may have landed meanwhile: never apply after it.
  if (state.data.resolveRequested) {
    state.finishAction(record, 'cancelled', 'the incident was resolved by hand');
    return 'cancelled';
  }
  // Fleet scale: the cluster's governor grants a change lease first (budget per window, busy
  // workload or shared dependency, freezes, the cooldown after an automatic fix).
  if (!patched('fleet-governor-lease')) return applyVerifyAndRecord(state, record, baseline);
  const gate = await acquireLease(state, record);
  if (gate.kind === 'needs-person') {
    state.requirePerson(record, gate.reason);
    return 'needs-person';
  }
  if (gate.kind !== 'granted') {
    state.finishAction(record, 'cancelled', `not applied: ${gate.reason}`);
    if (gate.kind !== 'resolved') state.handOver(`#${record.n} not applied: ${gate.reason}`, state.data.diagnosis?.evidence ?? []);
    return 'cancelled';
  }
  const result = await applyVerifyAndRecord(state, record, baseline);
  await releaseLease(state, record, result);
  return result;
}

/** Applies the approved action and verifies it (Resolution step 3). */
async function applyVerifyAndRecord(
  state: IncidentModel,
  record: ActionRecord,
  baseline: number,
): Promise<'recovered' | 'not-recovered' | 'cancelled' | 'failed' | 'preview-changed'> {
  state.setPhase('mitigating');
  // A person approved the dry-run they saw: the apply writes only if a dry-run now shows the same.
  const approvedChanges = record.approval === 'human' && record.preview && patched('approval-binds-dry-run') ? record.preview.changes : undefined;
  try {
    const result = await writes.applyMutation.executeWithOptions({ summary: record.command }, [
      mutationRequest(state, record, record.decision?.by ?? 'unknown', approvedChanges),
    ]);
    state.applied(record, result);
  } catch (err) {
    const changed = changedPreview(err);
    if (changed) {
      state.previewChanged(record, changed, errorMessage(err));
      return 'preview-changed';
    }
    state.finishAction(record, 'failed', errorMessage(err));
    return 'failed';
  }

  const verification = state.features.crashSafe
    ? await unlessResolvedByHand(state, () => verify(state, record.action, baseline))
    : await verify(state, record.action, baseline);
  if (verification === 'resolved') {
    state.finishAction(record, 'cancelled', 'applied; its verification was stopped because the incident was resolved by hand');
    return 'cancelled';
  }
  if (verification.recovered) {
    state.finishAction(record, 'recovered');
    state.markRestored(true, verification.restarts);
    return 'recovered';
  }
  state.finishAction(record, 'not-recovered', `${failedChecks(verification)} (diagnosis was ${state.data.diagnosis?.category ?? 'unknown'})`);
  return 'not-recovered';
}

/**
 * Runs `work` (a rollout wait can take minutes) and cancels it as soon as a person
 * resolves the incident by hand: nothing then goes on in the incident's name.
 */
async function unlessResolvedByHand<T>(state: IncidentModel, work: () => Promise<T>): Promise<T | 'resolved'> {
  const scope = new CancellationScope();
  let finished = false;
  const watch = condition(() => finished || state.data.resolveRequested !== undefined).then(() => {
    if (!finished) scope.cancel();
  });
  try {
    const result = await scope.run(work);
    return state.data.resolveRequested ? 'resolved' : result;
  } catch (err) {
    if (isCancellation(err) && state.data.resolveRequested) return 'resolved';
    throw err;
  } finally {
    finished = true;
    await watch;
  }
}

/**
 * Every mutation waits for a person unless the policy auto-approves it. No decision in time: escalate, never apply.
 * 'continue': the history is long, and the approval, still open, goes on in a new run.
 */
async function approval(
  state: IncidentModel,
  record: ActionRecord,
  wait: ApprovalWait,
  reopened: boolean,
): Promise<'approved' | 'rejected' | 'expired' | 'cancelled' | 'continue'> {
  if (record.approval === 'auto') {
    if (!record.decision) state.approveByPolicy(record);
    return 'approved';
  }
  const timeout = state.config.durations.approvalTimeout;
  // Each request asks under the worker's policy of now (people change, keys rotate), not the run's start.
  if (!reopened && patched('approval-policy-per-request')) {
    state.loadingApprovalPolicy();
    const policy = await policies.approvalPolicy.executeWithOptions({ summary: 'the approval policy of the worker, for this request' }, [state.config.service]);
    state.refreshApprovalPolicy(policy);
  }
  if (reopened) state.reopenApproval(record, wait.expiresAt);
  else state.openApproval(record, wait.expiresAt);
  state.setTimer('main', `approval of #${record.n} expires`, wait.expiresAt);
  // A decision may have landed while the previous run was closing: then there is nothing to wait for.
  if (state.decisionFor(record.n) === undefined) {
    await condition(
      () => state.decisionFor(record.n) !== undefined || state.data.resolveRequested !== undefined || shouldContinueWhileWaiting(state),
      Math.max(1, wait.expiresAt - Date.now()),
      {
        summary: `wait for approval of #${record.n} (${formatDuration(timeout)}, then escalate): ${record.command}`.slice(0, 200),
      },
    );
  }
  state.clearTimer('main');
  const decision = state.decisionFor(record.n);
  // Still open while this run closes: a decision that arrives meanwhile is taken and carried over.
  if (!decision && !state.data.resolveRequested && Date.now() < wait.expiresAt && shouldContinueWhileWaiting(state)) return 'continue';
  state.closeApproval();
  if (decision?.approved) return 'approved';
  if (decision) {
    state.finishAction(record, 'rejected', decision.comment ? `rejected by ${decision.by}: ${decision.comment}` : `rejected by ${decision.by}`);
    return 'rejected';
  }
  if (state.data.resolveRequested) {
    state.finishAction(record, 'cancelled', 'the incident was resolved by hand');
    return 'cancelled';
  }
  state.finishAction(record, 'expired', `no decision within ${formatDuration(timeout)}`);
  const reason = `no decision on #${record.n} within ${formatDuration(timeout)} (not applied): ${record.command}`;
  // One level above the people who were asked; if the ladder got there first, page that level again.
  if (wait.askedLevel + 1 > state.data.escalationLevel && wait.askedLevel < 3) state.escalate(wait.askedLevel + 1, reason);
  else state.handOver(reason, []);
  return 'expired';
}

/** Runbook Resolution step 3: rollout complete, pods ready without new restarts, health endpoints, metrics. */
async function verify(state: IncidentModel, action: MitigationAction | undefined, restarts: number): Promise<VerificationResult> {
  state.setPhase('verifying');
  const s = state.config.service;
  // Only what rolls pods out has a rollout to wait for (a selector change has none).
  if (action && mitigations[action.kind].rollsOut) {
    const timeoutSeconds = Math.round(state.config.durations.rolloutTimeout / 1000);
    try {
      const rollout = await reads.waitForRollout.executeWithOptions(
        {
          summary: `kubectl -n ${s.namespace} rollout status deployment/${s.deployment} --timeout=${timeoutSeconds}s`,
          startToCloseTimeout: state.config.durations.rolloutTimeout + 60_000,
          heartbeatTimeout: '5s',
          retry: rolloutWaitRetryPolicy,
          // Cancelled by a hand resolution: wait until the worker has really stopped watching (a heartbeat away).
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        },
        [s, { timeoutSeconds }],
      );
      state.record('verification', rollout.message);
    } catch (err) {
      state.record('verification', `rollout status failed: ${errorMessage(err)}`);
    }
  }
  const result = await verifyOnce(state, restarts);
  // A selector change reaches the service's endpoints a moment later (the endpoints controller): look again once before judging it.
  if (!result.recovered && state.features.crashSafe && action && mitigations[action.kind].reachesEndpointsLate) {
    await sleep(5_000);
    return verifyOnce(state, restarts);
  }
  return result;
}

async function verifyOnce(state: IncidentModel, restarts: number): Promise<VerificationResult> {
  const s = state.config.service;
  try {
    const result = await reads.verifyRecovery.executeWithOptions(
      { summary: `verify deployment/${s.deployment}: rollout, pods ready, no new restarts, /health/live, /health/ready, /metrics` },
      [s, { restartsBaseline: restarts }],
    );
    state.recordVerification(result);
    return result;
  } catch (err) {
    const result: VerificationResult = { recovered: false, checks: [{ name: 'verifyRecovery', ok: false, detail: errorMessage(err) }], restarts: 0 };
    state.recordVerification(result);
    return result;
  }
}

/**
 * Puts back what diagnostic config changes overwrote (emergency option 3's LOG_LEVEL),
 * each as its own action: dry-run, apply by its key, verify. The action is recorded
 * before anything runs, so a retry, a worker restart or a replay never adds a second one.
 */
async function restoreOverwrittenConfig(state: IncidentModel): Promise<void> {
  for (const original of pendingRestores(state.data.actions)) {
    const step = restoreStep(original, state.config.service, iso(Date.now()));
    if (!step) continue;
    const record = state.addAction(step);
    state.approveRestore(record, original.n);
    try {
      state.setPreview(
        record,
        await writes.previewMutation.executeWithOptions({ summary: `dry-run: ${step.command}` }, [mutationRequest(state, record, 'dry-run')]),
      );
      if (record.preview && !record.preview.wouldChange) {
        state.finishAction(record, 'no-change', `the config map already holds what it held before #${original.n}`);
        continue;
      }
    } catch (err) {
      state.finishAction(record, 'failed', `${errorMessage(err)}; put it back by hand: ${record.command}`);
      continue;
    }
    // A restore is a change like any other: the cluster's governor grants it a lease (a freeze holds it too).
    const leased = patched('fleet-governor-lease-restore');
    if (leased) {
      const gate = await acquireLease(state, record, { whileResolving: true });
      if (gate.kind !== 'granted') {
        state.finishAction(record, 'cancelled', `not restored: ${gate.reason}; put it back by hand: ${record.command}`);
        continue;
      }
    }
    try {
      state.applied(
        record,
        await writes.applyMutation.executeWithOptions({ summary: record.command }, [mutationRequest(state, record, record.decision?.by ?? 'unknown')]),
      );
    } catch (err) {
      state.finishAction(record, 'failed', `${errorMessage(err)}; put it back by hand: ${record.command}`);
      if (leased) await releaseLease(state, record, 'failed');
      continue;
    }
    const verification = await verify(state, record.action, 0);
    if (verification.recovered) state.finishAction(record, 'recovered', `restored what #${original.n} overwrote`);
    else state.finishAction(record, 'not-recovered', `restored what #${original.n} overwrote, but ${failedChecks(verification)}`);
    if (leased) await releaseLease(state, record, verification.recovered ? 'recovered' : 'not-recovered');
  }
}

// --- Monitor (Resolution step 4) ---------------------------------------------

/** 'continue' (a MonitorProgress): the history is long; the monitor goes on in a new run from the same sample. */
async function monitorRecovery(state: IncidentModel, from: MonitorProgress): Promise<'stable' | 'regression' | 'interrupted' | ResumePoint> {
  state.setPhase('monitoring');
  const { monitor, sampleInterval } = state.config.durations;
  const samples = Math.ceil(monitor / sampleInterval);
  const s = state.config.service;
  // New restarts are counted from what verification saw when it declared the service restored.
  const baseline = state.data.restartsAtRestore;
  let badInARow = from.badInARow;
  // The traffic counters of the sample before: the workflow keeps them, so any worker can take the next sample.
  let counters = from.counters;
  // Monitors from before judge error rate (and p99 only when configured) and take any new restart as a regression.
  const thresholds = from.thresholds ?? (patched('monitor-key-metrics') ? await decideThresholds(state) : undefined);
  let noted = '';
  state.setMonitor(from.sample, samples);
  for (let i = from.sample + 1; i <= samples; i++) {
    state.setTimer('main', `monitor sample ${i}/${samples}`, Date.now() + sampleInterval);
    const interrupted = await condition(
      () => state.data.resolveRequested !== undefined || state.data.refired || shouldContinueWhileWaiting(state),
      sampleInterval,
      {
        summary: `monitor ${s.deployment}: sample ${i}/${samples} in ${formatDuration(sampleInterval)}`,
      },
    );
    state.clearTimer('main');
    if (interrupted) {
      if (!state.takeRefire())
        return state.data.resolveRequested
          ? 'interrupted'
          : { monitor: { sample: i - 1, badInARow, ...(counters ? { counters } : {}), ...(thresholds ? { thresholds } : {}) } };
      state.markRegressed('the alert fired again');
      return 'regression';
    }
    const sample = await reads.sampleHealth
      .executeWithOptions({ summary: `sample health of deployment/${s.deployment} (${i}/${samples})` }, [s, counters ? { previous: counters } : {}])
      .catch((err: unknown) => errorMessage(err));
    if (typeof sample === 'string') {
      badInARow += 1;
      state.setMonitor(i, samples, `sample failed: ${sample}`);
      if (badInARow >= state.config.regression.consecutiveBadSamples) {
        state.markRegressed(`${badInARow} samples in a row failed: ${sample}`);
        return 'regression';
      }
      continue;
    }
    counters = sample.counters;
    const verdict: { bad: boolean; regression: boolean; reasons: string[]; notes?: string[] } = thresholds
      ? judgeSample(sample, thresholds, baseline, badInARow, state.config.regression.consecutiveBadSamples)
      : assessSample(sample, baseline, badInARow, state.config.regression);
    state.setMonitor(i, samples, describeSample(sample));
    // The evidence: what was measured against which threshold, on the timeline (the thresholds' sources were recorded at the start).
    // A tolerated restart is noted once, not on every sample after it.
    const notes = (verdict.notes ?? []).join(', ');
    if (thresholds && (verdict.bad || notes !== noted) && !verdict.regression && (verdict.bad || notes !== '')) {
      state.record('monitor', `sample ${i}/${samples}: ${describeSample(sample)}; ${[...verdict.reasons, ...(notes ? [notes] : [])].join(', ')}`);
    }
    noted = notes;
    if (verdict.regression) {
      state.markRegressed(verdict.reasons.join(', '));
      return 'regression';
    }
    badInARow = verdict.bad ? badInARow + 1 : 0;
  }
  state.record('monitor', `stable for ${formatDuration(monitor)} (${samples} samples)`);
  return 'stable';
}

/**
 * Runbook step 4's key metrics and their thresholds for this monitor: the service's
 * p99 and active agents before the incident (Prometheus, over a window ending at the
 * alert's start) give the defaults; a baseline that cannot be read leaves the
 * documented fallbacks (input.ts `regression`). Recorded on the timeline.
 */
async function decideThresholds(state: IncidentModel): Promise<MonitorThresholds> {
  const s = state.config.service;
  const baseline = await reads.metricsBaseline
    .executeWithOptions({ summary: `baseline of deployment/${s.deployment}: p99 latency and active agents before ${state.data.alert.startsAt}` }, [
      s,
      { before: state.data.alert.startsAt },
    ])
    .catch((err: unknown) => ({ from: `unreadable: ${errorMessage(err)}` }));
  const thresholds = monitorThresholds(state.config.regression, baseline);
  state.record('monitor', `watching ${s.deployment}: ${describeThresholds(thresholds)}`);
  return thresholds;
}

// --- Waiting for people ------------------------------------------------------

/** Escalated: the people paged decide. An alert that resolves is verified; a new firing re-investigates. */
async function waitForPeople(state: IncidentModel): Promise<ResumePoint> {
  state.setPhase('escalated');
  state.clearTimer('main');
  await condition(
    () =>
      state.data.resolveRequested !== undefined ||
      state.data.alertResolvedPending ||
      state.data.refired ||
      state.data.hotfix !== undefined ||
      state.data.reproposal !== undefined ||
      historyIsLong(state),
  );
  if (state.data.resolveRequested || historyIsLong(state)) return 'wait';
  // A hotfix image from a person, or an expired action proposed again: look at the service again, then dry-run it and ask for approval.
  if (state.data.hotfix || state.data.reproposal) return 'investigate';
  if (state.takeRefire()) return 'investigate';
  state.takeAlertResolved();
  // Restarts during the outage do not count against the recovery: take today's count as the baseline.
  const now = await reads.sampleHealth
    .executeWithOptions({ summary: `sample health of deployment/${state.config.service.deployment} (alert resolved)` }, [state.config.service])
    .catch(() => undefined);
  const verification = await verify(state, undefined, now?.restarts ?? 0);
  if (verification.recovered) {
    state.markRestored(false, verification.restarts);
    return freshMonitor;
  }
  state.record('verification', `the alert resolved but the service is not up: ${failedChecks(verification)}`);
  return 'wait';
}

// --- Alongside the lifecycle -------------------------------------------------

/** Runbook Escalation: L2 at 15 min and L3 at 30 min, counted from the start, while not restored. */
async function escalationLadder(state: IncidentModel): Promise<void> {
  const d = state.config.durations;
  for (const step of [
    { level: 2, after: d.escalationL2 },
    { level: 3, after: d.escalationL3 },
  ]) {
    const due = state.data.openedAt + step.after;
    // Bounded: each pass waits for the due time or for a change of `restored`, which the investigation cap bounds.
    while (state.closing === undefined && state.data.escalationLevel < step.level) {
      // Folded into a major incident: the parent's ladder pages for this incident from here.
      if (state.isFolded()) break;
      if (state.data.restoredAt !== undefined) {
        state.clearTimer('escalation');
        await condition(() => state.data.restoredAt === undefined || state.closing !== undefined);
        continue;
      }
      const remaining = due - Date.now();
      if (remaining <= 0 && step.level === 3 && state.features.customerComms) {
        // Runbook Level 3: "Extended outage affecting customers". An unknown impact pages: better one page too many.
        const impact = await lookAtCustomers(state);
        if (state.data.restoredAt !== undefined || state.closing !== undefined) continue;
        if (impact && !impact.affected) {
          const { recheck } = state.config.customers;
          state.holdBackEscalation(step.level, impact, recheck);
          state.setTimer('escalation', `look at customers again (L${step.level} held back)`, Date.now() + recheck);
          await condition(() => state.data.restoredAt !== undefined || state.closing !== undefined || state.data.escalationLevel >= step.level, recheck, {
            summary: `L${step.level} held back (customers not affected): look again in ${formatDuration(recheck)}`,
          });
          continue;
        }
        const customers = impact ? `customers affected: ${impact.evidence[0] ?? ''}` : 'customer impact unknown';
        state.escalate(step.level, `not restored within ${formatDuration(step.after)}; ${customers}`);
        break;
      }
      if (remaining <= 0) {
        state.escalate(step.level, `not restored within ${formatDuration(step.after)}`);
        break;
      }
      state.setTimer('escalation', `page L${step.level} unless restored`, due);
      await condition(
        () => state.data.restoredAt !== undefined || state.closing !== undefined || state.data.escalationLevel >= step.level || state.isFolded(),
        remaining,
        {
          summary: `page L${step.level} at +${formatDuration(step.after)} (${clock(due)}) unless restored`,
        },
      );
    }
  }
  state.clearTimer('escalation');
}

/** Whether customers are affected now (activities/customer-impact.ts); undefined when the check itself failed. */
async function lookAtCustomers(state: IncidentModel): Promise<CustomerImpact | undefined> {
  const s = state.config.service;
  try {
    const impact = await reads.checkCustomerImpact.executeWithOptions(
      { summary: `customer impact of ${s.namespace}/${s.deployment}: customer-facing probe, SLO burn` },
      [s],
    );
    state.setCustomerImpact(impact);
    return impact;
  } catch (err) {
    state.record('notification', `customer impact unknown: ${errorMessage(err)}`);
    return undefined;
  }
}

/**
 * Runbook External Communication: "Customer notification: if SLA breach imminent".
 * Imminent: the outage (open and not restored) has lasted the SLA budget less its
 * warning; customers are told once, if the check finds them affected (else it looks again).
 */
async function slaWatch(state: IncidentModel): Promise<void> {
  const { slaBudget, slaWarning, recheck } = state.config.customers;
  const due = state.data.openedAt + slaBudget - slaWarning;
  const settled = (): boolean => state.data.restoredAt !== undefined || state.closing !== undefined;
  // Bounded: each pass waits for the due time, a recheck interval, or a change of `restored`.
  while (state.closing === undefined && state.data.customerNotifiedAt === undefined) {
    if (state.data.restoredAt !== undefined) {
      await condition(() => state.data.restoredAt === undefined || state.closing !== undefined);
      continue;
    }
    const remaining = due - Date.now();
    if (remaining > 0) {
      await condition(settled, remaining, {
        summary: `SLA breach imminent at ${clock(due)} (budget ${formatDuration(slaBudget)}): notify customers if affected`,
      });
      continue;
    }
    const impact = await lookAtCustomers(state);
    if (settled()) continue;
    if (impact?.affected) {
      state.notifyCustomers(slaBudget);
      break;
    }
    await condition(settled, recheck, { summary: `SLA breach imminent; customers not affected: look again in ${formatDuration(recheck)}` });
  }
}

/** Runbook Communication: "Post status updates every 15 minutes", while the incident is open. */
async function statusUpdates(state: IncidentModel): Promise<void> {
  while (state.closing === undefined) {
    const due = state.data.nextStatusAt;
    state.setTimer('status', 'status update', due);
    const closed = await condition(() => state.closing !== undefined || state.isFolded(), Math.max(1, due - Date.now()), {
      summary: `status update at ${clock(due)} (every ${formatDuration(state.config.durations.statusInterval)})`,
    });
    // Folded into a major incident: its one status stream covers this incident.
    if (state.isFolded()) {
      state.record('notification', `status updates come from the major incident ${state.data.major?.id ?? ''} from here`);
      break;
    }
    if (!closed) state.postStatusUpdate();
  }
  state.clearTimer('status');
}

/**
 * Sends the notifications in order per channel: a retried L2 page is delivered
 * before the pager's resolve, never after it; a slow chat webhook never delays a
 * page (each channel has its own queue). While the run closes it keeps sending
 * what people's input adds, until nothing is queued or in flight; what is added
 * after that stays in the outbox, which the snapshot carries to the next run.
 */
async function deliverNotifications(state: IncidentModel): Promise<void> {
  if (!state.features.crashSafe) return deliverNotificationsUnordered(state);
  const queues = new Map<Notification['channel'], Promise<void>>();
  let inFlight = 0;
  // Runs from before this drained only what was queued when closing began.
  const drained = (): boolean => !state.hasOutbound() && (!state.features.keepsInputWhileClosing || inFlight === 0);
  for (;;) {
    await condition(() => state.hasOutbound() || (state.closing !== undefined && drained()));
    for (let n = state.takeOutbound(); n; n = state.takeOutbound()) {
      const notification = n;
      const before = queues.get(notification.channel) ?? Promise.resolve();
      inFlight += 1;
      queues.set(
        notification.channel,
        before.then(() =>
          comms.notify
            .executeWithOptions({ summary: notificationSummary(notification) }, [notification])
            .catch((err: unknown) => state.record('notification', `failed to send ${notification.channel} ${notification.event}: ${errorMessage(err)}`))
            .finally(() => (inFlight -= 1)),
        ),
      );
    }
    if (state.closing !== undefined && drained()) break;
  }
  await Promise.all(queues.values());
}

/** Incidents started before ordered delivery: every notification its own concurrent activity, as they were. */
async function deliverNotificationsUnordered(state: IncidentModel): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    await condition(() => state.hasOutbound() || state.closing !== undefined);
    for (let n = state.takeOutbound(); n; n = state.takeOutbound()) {
      const notification = n;
      const sent: Promise<void> = comms.notify
        .executeWithOptions({ summary: notificationSummary(notification) }, [notification])
        .catch((err: unknown) => state.record('notification', `failed to send ${notification.channel} ${notification.event}: ${errorMessage(err)}`))
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    }
    if (state.closing !== undefined && !state.hasOutbound()) break;
  }
  await Promise.all(inFlight);
}

// --- A storm: folded into a major incident (workflows/major-incident.ts) -------

/**
 * L1 after the first diagnosis, never later than durations.pageHold after the alert. A
 * diagnosis with a common cause joins that cause's major incident and waits (within the
 * hold) for its answer: the lead pages as usual, a folded incident does not. No cause, no
 * answer, a parent that cannot be reached, or an investigation that hangs: it pages on its own.
 */
async function pageOrFold(state: IncidentModel): Promise<void> {
  // A next run: L1 was decided already (paged or folded).
  if (state.data.escalationLevel >= 1 || state.data.major) return;
  state.holdingPage = true;
  const due = state.data.openedAt + state.config.durations.pageHold;
  const left = (): number => Math.max(1, due - Date.now());
  const diagnosed = await condition(() => state.firstCause !== undefined || state.closing !== undefined || !state.holdingPage, left(), {
    summary: `page L1 after the diagnosis, at the latest at ${clock(due)}`,
  });
  if (state.closing !== undefined || !state.holdingPage) return;
  const cause = state.firstCause;
  if (!diagnosed || !cause) {
    state.releasePage(diagnosed ? 'no cause shared with other services' : `no diagnosis within ${formatDuration(state.config.durations.pageHold)}`);
    return;
  }
  const c = state.config;
  const majorId = majorIncidentId(c.service.cluster, cause.key);
  const diagnosis = state.data.diagnosis;
  // Within the hold, retries included: the page is never later than the hold for the parent's sake.
  const joins = proxyActivities<IncidentActivities>({
    scheduleToCloseTimeout: Math.max(1_000, left()),
    retry: { initialInterval: '1s', maximumAttempts: 3 },
  });
  try {
    await joins.joinMajorIncident.executeWithOptions({ summary: `join ${majorId}: ${cause.label}` }, [
      {
        major: { majorId, cluster: c.service.cluster, cause, continueAsNewAfterEvents: c.limits.continueAsNewAfterEvents },
        child: {
          incidentId: state.id,
          service: c.service,
          title: state.title,
          severity: state.data.severity,
          openedAt: iso(state.data.openedAt),
          phase: state.phase,
          paged: state.data.escalationLevel >= 1,
          diagnosis: { category: diagnosis?.category ?? 'unknown', cause: diagnosis?.cause ?? '', evidence: (diagnosis?.evidence ?? []).slice(0, 10) },
          durations: { escalationL2: c.durations.escalationL2, escalationL3: c.durations.escalationL3, statusInterval: c.durations.statusInterval },
        },
      },
    ]);
  } catch (err) {
    state.releasePage(`the major incident ${majorId} cannot be reached: ${errorMessage(err)}`);
    return;
  }
  const role = (): 'lead' | 'folded' | undefined => state.data.major?.role;
  await condition(() => role() !== undefined || state.closing !== undefined, left(), { summary: `await ${majorId}'s answer until ${clock(due)}` });
  if (state.closing !== undefined && role() === undefined) return;
  const answer = role();
  state.releasePage(
    answer === 'folded'
      ? `folded into ${majorId} (${cause.label}): the parent pages`
      : answer === 'lead'
        ? `first service with ${cause.label}`
        : `no answer from ${majorId} within the hold`,
  );
}

/** Tells the major incident this incident's phase on each change, and when it resolves. */
async function reportToMajor(state: IncidentModel): Promise<void> {
  let reported = '';
  const now = (): string => `${state.phase}/${state.data.restoredAt !== undefined}`;
  for (;;) {
    await condition(() => state.closing !== undefined || (state.data.major !== undefined && now() !== reported));
    const major = state.data.major;
    if (major && now() !== reported) {
      reported = now();
      await getExternalWorkflowHandle(major.id)
        .signal(childPhaseSignal, { incidentId: state.id, phase: state.phase, restored: state.data.restoredAt !== undefined })
        .catch((err: unknown) => state.record('notification', `could not tell ${major.id} this incident's phase: ${errorMessage(err)}`));
      continue;
    }
    if (state.closing !== undefined) return;
  }
}

// --- Post-incident -----------------------------------------------------------

async function startPostIncident(state: IncidentModel): Promise<string> {
  const c = state.config;
  // The service's next incident reuses the workflow ID, and the same alert re-sent can bring back the
  // number: only the first run ID is this incident's alone. Incidents from before replay with their ref.
  const byFirstRun = patched('post-incident-id-by-first-run');
  const workflowId = postIncidentWorkflowId(state.id, byFirstRun ? workflowInfo().firstExecutionRunId : state.ref);
  const input = {
    incident: state.incidentRecord(),
    due: c.durations.taskDue,
    reminderLead: c.durations.reminderLead,
    overdueEscalation: c.durations.overdueEscalation,
  };
  try {
    await startChild(postIncidentWorkflow, {
      workflowId,
      args: [input],
      // The follow-up outlives the incident by a month: it must survive the parent's completion.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: clampJsonBytes(`Post-incident follow-up: ${state.title}`, staticSummaryBudget),
      staticDetails: tasksDetails(state.title, []),
      typedSearchAttributes: incidentSearchAttributes(c, 'follow-up'),
    });
  } catch (err) {
    // Already there (a reset re-ran the close, or someone started it): its tasks go on there, and the
    // incident, resolved and its page resolved, must not end Failed for it.
    if (!byFirstRun || !(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    state.record('resolved', `post-incident follow-up not started: ${workflowId} already exists (its tasks go on there)`);
    return workflowId;
  }
  state.record('resolved', `post-incident follow-up started: ${workflowId}`);
  return workflowId;
}

// --- Helpers -----------------------------------------------------------------

function failedChecks(v: VerificationResult): string {
  return (
    v.checks
      .filter((c) => !c.ok)
      .map((c) => `${c.name}: ${c.detail}`)
      .join('; ') || 'no check passed'
  );
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    // ActivityFailure wraps the activity's own error: its message is the useful one.
    const cause = (err as Error & { cause?: unknown }).cause;
    return (cause instanceof Error ? cause.message : err.message).slice(0, 300);
  }
  return String(err).slice(0, 300);
}
