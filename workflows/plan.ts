// plan(diagnosis, findings, history, context): the next step, as a pure function.
// It takes the diagnosis's candidates in order, skips the ones already tried in
// this incident (whatever their outcome) and the ones the guardrails forbid, and
// turns the first remaining one into a concrete mutation whose every value the
// workflow chose (target revision, replica count, restart timestamp). When none
// is left it escalates: never a blind mutation past the list.
import type { Findings, MitigationAction, MitigationKind, ServiceRef } from './domain.js';
import type { Candidate, Diagnosis, Remedy } from './diagnose.js';
import type { ActionRecord } from './records.js';
import { mutationCommand } from './mitigations.js';
import { canonicalJson } from './json.js';
import { formatMemory, parseMemory, parseQuantity } from './units.js';

/**
 * The runbook's values. "Increase memory limits if OOMKilled" patches limits.memory
 * to 4Gi; "Resource Issues" (Resolution step 2) patches requests and limits to these.
 * The memory ceiling (MEMORY_CEILING) still caps every memory value.
 */
export const runbookResources = {
  oomMemoryLimit: '4Gi',
  requests: { memory: '1Gi', cpu: '500m' },
  limits: { memory: '4Gi', cpu: '2000m' },
} as const;

export interface PlanContext {
  service: ServiceRef;
  guardrails: { maxReplicas: number; memoryCeiling: string };
  /** The action kinds the approval policy auto-approves in this service's namespace. */
  autoApprove: readonly MitigationKind[];
  /** Workflow time, ISO-8601: restart timestamps come from it, never from the activity's clock. */
  now: string;
  maxAttempts: number;
  /**
   * Incidents started before the runbook's values: an OOM doubles the limit (capped by
   * the ceiling) instead of setting the runbook's 4Gi (workflows/incident.ts, patched()).
   */
  legacyMemoryDoubling?: boolean;
}

export type PlanStep =
  | {
      kind: 'mitigate';
      action: MitigationAction;
      command: string;
      why: string;
      approval: 'auto' | 'human';
      humanFix?: string;
      /** The person who asked for it (a hotfix): they may not approve it. */
      requestedBy?: string;
    }
  | { kind: 'escalate'; reason: string; evidence: string[] }
  /** Nothing is broken: verify, then monitor. */
  | { kind: 'verify'; reason: string };

export type Attempt = Pick<ActionRecord, 'action' | 'outcome'>;

export function plan(diagnosis: Diagnosis, findings: Findings, history: readonly Attempt[], ctx: PlanContext): PlanStep {
  if (diagnosis.category === 'healthy') return { kind: 'verify', reason: diagnosis.cause };
  if (history.length >= ctx.maxAttempts) {
    return { kind: 'escalate', reason: `${history.length} mitigation attempts reached the cap of ${ctx.maxAttempts}`, evidence: diagnosis.evidence };
  }
  const skipped: string[] = [];
  for (const candidate of diagnosis.candidates) {
    const { remedy } = candidate;
    if (remedy.kind === 'escalate') return { kind: 'escalate', reason: remedy.reason, evidence: [...diagnosis.evidence, ...skipped].slice(0, 12) };
    const concrete = concretize(remedy, findings, ctx);
    // One rollback per incident: a second one would undo the first ("previous" is then the revision we left).
    if (
      'action' in concrete &&
      concrete.action.kind === 'rollout-undo' &&
      history.some((h) => h.action.kind === 'rollout-undo' && h.outcome !== 'rejected' && h.outcome !== 'no-change')
    ) {
      skipped.push(`skipped rollout-undo: a rollback was already applied in this incident`);
      continue;
    }
    if ('skip' in concrete) {
      skipped.push(`skipped ${remedy.kind}: ${concrete.skip}`);
      continue;
    }
    if (history.some((h) => sameChange(h.action, concrete.action))) continue;
    return {
      kind: 'mitigate',
      action: concrete.action,
      command: mutationCommand(ctx.service, concrete.action),
      why: concrete.note ? `${candidate.why}; ${concrete.note}` : candidate.why,
      approval: approvalFor(candidate, concrete.action, ctx),
      ...(remedy.kind === 'restart' && remedy.humanFix ? { humanFix: remedy.humanFix } : {}),
    };
  }
  return { kind: 'escalate', reason: 'no safe candidate left to try', evidence: [...diagnosis.evidence, ...skipped].slice(0, 12) };
}

/** Auto-approval only for a known cause, never for a guess or a step that needs a human first. */
function approvalFor(candidate: Candidate, action: MitigationAction, ctx: PlanContext): 'auto' | 'human' {
  const needsHuman = candidate.ladder === true || (candidate.remedy.kind === 'restart' && candidate.remedy.humanFix !== undefined);
  return !needsHuman && ctx.autoApprove.includes(action.kind) ? 'auto' : 'human';
}

type Concrete = { action: MitigationAction; note?: string } | { skip: string };

function concretize(remedy: Exclude<Remedy, { kind: 'escalate' }>, f: Findings, ctx: PlanContext): Concrete {
  switch (remedy.kind) {
    case 'raise-memory': {
      const current = remedy.currentLimit === undefined ? undefined : parseMemory(remedy.currentLimit);
      const ceiling = parseMemory(ctx.guardrails.memoryCeiling);
      // A zero limit is no limit for the kubelet: doubling it changes nothing.
      if (current === undefined || current <= 0)
        return { skip: `container ${remedy.container} has no memory limit to raise${remedy.currentLimit === undefined ? '' : ` (${remedy.currentLimit})`}` };
      if (ceiling === undefined || current >= ceiling)
        return { skip: `memory limit ${formatMemory(current)} is at the ceiling ${ctx.guardrails.memoryCeiling}` };
      if (ctx.legacyMemoryDoubling)
        return { action: { kind: 'set-resources', container: remedy.container, limits: { memory: formatMemory(Math.min(current * 2, ceiling)) } } };
      // The runbook's quick fix: limits.memory 4Gi, never above the ceiling.
      const wanted = parseMemory(runbookResources.oomMemoryLimit) ?? 0;
      if (current >= wanted) return { skip: `memory limit ${formatMemory(current)} is already at or above the runbook's ${runbookResources.oomMemoryLimit}` };
      const limit = clampMemory(runbookResources.oomMemoryLimit, ctx);
      return {
        action: { kind: 'set-resources', container: remedy.container, limits: { memory: limit.value } },
        ...(limit.note ? { note: limit.note } : {}),
      };
    }
    case 'runbook-resources':
      return runbookResourcesFix(remedy, ctx);
    case 'rollout-undo':
      if (remedy.toRevision >= f.workload.currentRevision)
        return { skip: `revision ${remedy.toRevision} is not older than the current ${f.workload.currentRevision}` };
      return { action: { kind: 'rollout-undo', toRevision: remedy.toRevision } };
    case 'restart':
      return { action: { kind: 'rollout-restart', restartedAt: ctx.now } };
    case 'restore-config-map':
      return { action: { kind: 'restore-config-map', name: remedy.name, keys: remedy.keys, restartedAt: ctx.now } };
    case 'scale': {
      const replicas = Math.min(remedy.replicas, ctx.guardrails.maxReplicas);
      if (replicas <= f.workload.desiredReplicas)
        return { skip: `already at ${f.workload.desiredReplicas} replicas (target ${replicas}, max ${ctx.guardrails.maxReplicas})` };
      return { action: { kind: 'scale', replicas } };
    }
    case 'fix-selector':
      if (Object.keys(remedy.selector).length === 0) return { skip: 'the pods carry no labels to select' };
      return { action: { kind: 'set-service-selector', service: remedy.service ?? ctx.service.deployment, selector: remedy.selector } };
    case 'debug-logging':
      return { action: { kind: 'patch-config-map', name: remedy.configMap, data: { LOG_LEVEL: 'DEBUG' }, restartedAt: ctx.now } };
  }
}

/** A memory quantity of the runbook, capped by the ceiling (and saying so when it is). */
function clampMemory(quantity: string, ctx: PlanContext): { value: string; note?: string } {
  const wanted = parseMemory(quantity) ?? 0;
  const ceiling = parseMemory(ctx.guardrails.memoryCeiling) ?? 0;
  if (wanted <= ceiling) return { value: quantity };
  return { value: formatMemory(ceiling), note: `the runbook's ${quantity} is clamped to the memory ceiling ${ctx.guardrails.memoryCeiling} (MEMORY_CEILING)` };
}

/**
 * The runbook's "Resource Issues" patch (requests 1Gi/500m, limits 4Gi/2000m) for a
 * container starved by its own requests and limits. Only raises: a quantity already
 * at or above the runbook's stays out of the patch; memory stays under the ceiling.
 */
function runbookResourcesFix(remedy: Extract<Remedy, { kind: 'runbook-resources' }>, ctx: PlanContext): Concrete {
  const notes: string[] = [];
  const pick = (kind: 'requests' | 'limits', resource: 'cpu' | 'memory'): string | undefined => {
    const target = runbookResources[kind][resource];
    const currentText = remedy.current[kind][resource];
    const current = currentText === undefined ? undefined : resource === 'memory' ? parseMemory(currentText) : parseQuantity(currentText);
    const wanted = resource === 'memory' ? (parseMemory(target) ?? 0) : (parseQuantity(target) ?? 0);
    if (current !== undefined && current >= wanted) return undefined;
    if (resource === 'cpu') return target;
    const clamped = clampMemory(target, ctx);
    if (current !== undefined && current >= (parseMemory(clamped.value) ?? 0)) return undefined;
    if (clamped.note) notes.push(`${kind}.memory: ${clamped.note}`);
    return clamped.value;
  };
  const quantities = (kind: 'requests' | 'limits'): { cpu?: string; memory?: string } | undefined => {
    const cpu = pick(kind, 'cpu');
    const memory = pick(kind, 'memory');
    if (cpu === undefined && memory === undefined) return undefined;
    return { ...(cpu === undefined ? {} : { cpu }), ...(memory === undefined ? {} : { memory }) };
  };
  const requests = quantities('requests');
  const limits = quantities('limits');
  if (!requests && !limits) return { skip: `container ${remedy.container} already has the runbook's requests and limits (or more)` };
  return {
    action: { kind: 'set-resources', container: remedy.container, ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
    ...(notes.length ? { note: notes.join('; ') } : {}),
  };
}

/** Two actions are the same change when they differ at most in the restart timestamp. */
export function sameChange(a: MitigationAction, b: MitigationAction): boolean {
  return changeKey(a) === changeKey(b);
}

function changeKey(action: MitigationAction): string {
  const { restartedAt: _ignored, ...rest } = action as MitigationAction & { restartedAt?: string };
  return canonicalJson(rest);
}
