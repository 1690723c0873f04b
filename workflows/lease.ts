// The incident's side of the remediation governor (workflows/governor.ts): ask for a
// change lease right before applying, wait for the answer (bounded), and release it
// when the change is verified or fails. Every wait and refusal goes on the timeline.
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { IncidentActivities } from '../activities/types.js';
import { leaseAnswerSignal } from './messages.js';
import { leaseScopes, type LeaseAnswer } from './model/governor.js';
import type { IncidentModel } from './model/incident.js';
import type { ActionRecord } from './records.js';
import { baseRetryPolicy } from './retry.js';
import { formatDuration } from './units.js';

// Signals to the governor: cheap and safe to repeat (it knows a request by its ID).
const governor = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '30s',
  heartbeatTimeout: '5s',
  retry: { ...baseRetryPolicy, maximumAttempts: 10 },
});

/** Beyond the governor's own bound on a wait: its refusal arrives first, unless it cannot answer at all. */
const answerMargin = 5 * 60_000;

// Per workflow execution (the SDK isolates module state per workflow).
const answers: LeaseAnswer[] = [];

/** The governor's answers, kept until the lease wait takes them. Registered at the incident's start. */
export function listenForLeaseAnswers(): void {
  setHandler(leaseAnswerSignal, (answer) => {
    if (typeof answer?.id === 'string') answers.push(answer);
  });
}

export type LeaseGate = { kind: 'granted' } | { kind: 'refused' | 'needs-person' | 'no-answer' | 'resolved'; reason: string };

/** Policy-approved (not by a person, not a restore approved with its action): the cooldown applies. */
export function isAutomatic(record: ActionRecord): boolean {
  return record.decision?.by === 'policy:auto';
}

/**
 * Asks the cluster's governor for a lease on this action and waits for its answer. A hand
 * resolution ends the wait, except for a restore (`whileResolving`), which is how resolving puts back what the incident overwrote.
 */
export async function acquireLease(state: IncidentModel, record: ActionRecord, options: { whileResolving?: boolean } = {}): Promise<LeaseGate> {
  const resolving = (): boolean => !options.whileResolving && state.data.resolveRequested !== undefined;
  const s = state.config.service;
  const request = {
    id: record.idempotencyKey,
    holder: state.id,
    service: s,
    scopes: leaseScopes(s, state.data.diagnosis),
    automatic: isAutomatic(record),
    command: record.command,
  };
  let maxWaitMs: number;
  try {
    ({ maxWaitMs } = await governor.requestChangeLease.executeWithOptions(
      { summary: `ask governor/${s.cluster} for a change lease on ${request.scopes.join(', ')}` },
      [request],
    ));
  } catch (err) {
    return { kind: 'no-answer', reason: `the change governor could not be asked: ${errorMessage(err)}` };
  }
  const deadline = Date.now() + maxWaitMs + answerMargin;
  const mine = (): boolean => answers.some((a) => a.id === request.id);
  for (;;) {
    const answered = await condition(() => mine() || resolving(), Math.max(1, deadline - Date.now()), {
      summary: `wait for governor/${s.cluster}'s change lease for #${record.n}`,
    });
    for (const answer of take(request.id)) {
      if (answer.kind === 'queued') {
        state.record('action', `#${record.n} waits for a change lease: ${answer.reason}`);
        continue;
      }
      if (answer.kind === 'granted') {
        state.record('action', `#${record.n} change lease granted by governor/${s.cluster} (${answer.reason})`);
        return { kind: 'granted' };
      }
      return { kind: answer.kind, reason: answer.reason };
    }
    if (resolving()) {
      await releaseLease(state, record, 'the incident was resolved by hand');
      return { kind: 'resolved', reason: 'the incident was resolved by hand' };
    }
    if (!answered) {
      await releaseLease(state, record, 'no answer in time');
      return { kind: 'no-answer', reason: `no answer from governor/${s.cluster} within ${formatDuration(maxWaitMs + answerMargin)}` };
    }
  }
}

/** Ends the lease (or the wait for one); a release that cannot be sent leaves the lease to its TTL. */
export async function releaseLease(state: IncidentModel, record: ActionRecord, outcome: string): Promise<void> {
  const s = state.config.service;
  try {
    await governor.releaseChangeLease.executeWithOptions({ summary: `release the change lease of #${record.n} (${outcome})` }, [
      {
        id: record.idempotencyKey,
        holder: state.id,
        service: s,
        automatic: isAutomatic(record),
        command: record.command,
        applied: record.appliedAt !== undefined,
        outcome,
      },
    ]);
  } catch (err) {
    state.record('action', `the change lease of #${record.n} was not released (${errorMessage(err)}): it ends at its TTL`);
  }
}

function take(id: string): LeaseAnswer[] {
  const taken = answers.filter((a) => a.id === id);
  const rest = answers.filter((a) => a.id !== id);
  answers.splice(0, answers.length, ...rest);
  return taken;
}

function errorMessage(err: unknown): string {
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  return (cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err)).slice(0, 300);
}
