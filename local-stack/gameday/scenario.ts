// One game-day scenario through the real path, on a running local stack:
// break the sandbox's service, send the runbook's alert to the receiver as
// Alertmanager would, and let the incident run: investigate, approve by policy,
// apply, verify, monitor, resolve, start its follow-up. Where no safe automatic
// fix exists the incident must be handed to people: then the people's part is
// played (the sandbox is healed by hand and the incident resolved by hand).
// Either way the follow-up's tasks are completed so nothing stays open, the
// alert is resolved as Alertmanager would, and the sandbox is healthy again for
// the next scenario.
import { tasksQuery } from '../../workflows/messages.js';
import type { IncidentOutcome, IncidentStatus } from '../../workflows/records.js';
import { patiently, waitFor } from '../processes.js';
import { alertSettleMs, breakService, handedToHumans, incidentStatus, outageLimitMs, seconds, sendAlert, type RunningStack } from '../start.js';
import { ChaosMonkey, type ChaosEvent, type ChaosRecord } from './chaos.js';
import { checkMessages, checkWrites, readOutbox, type AppliedChange, type MessageCheck, type OutboxMessage, type WriteCheck } from './exactly-once.js';
import { isOpen, viewWorkflow } from './observe.js';
import type { ExpectedOutcome, ScenarioExpectation } from './scenarios.js';

export interface ScenarioResult {
  scenario: string;
  expected: { diagnosis: string; outcome: ExpectedOutcome };
  incidentId: string;
  incidentNumber: number | null;
  diagnosis: string | null;
  /** Applied changes, as the kubectl commands they stand for. */
  actions: string[];
  outcome: 'recovered' | 'handed-over' | 'failed';
  resolution: string | null;
  ok: boolean;
  /** What went wrong, if anything. */
  problems: string[];
  /** Break → incident opened (includes the alert rule's settle time). */
  detectionSeconds: number | null;
  /** Incident opened → restored by the applied fix. */
  timeToMitigateSeconds: number | null;
  /** Incident opened → handed to people (no safe automatic fix). */
  timeToHandOverSeconds: number | null;
  /** Incident opened → resolved (for hand-overs: by the game day's people, after healing). */
  timeToResolveSeconds: number | null;
  followUp: { workflowId: string | null; started: boolean; report: string | null; closed: boolean };
  chaos: ChaosRecord[];
  applied: AppliedChange[];
  writes: WriteCheck;
  messages: MessageCheck;
}

export interface ScenarioSettings {
  timeoutMs: number;
  chaos?: ChaosEvent[];
  say: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const who = 'gameday';

/** Polls `probe` until it returns a value; undefined after `timeoutMs`. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

export async function runScenario(stack: RunningStack, expectation: ScenarioExpectation, settings: ScenarioSettings): Promise<ScenarioResult> {
  const { sandbox, service, workflowId, incidents } = stack;
  const client = incidents.client;
  const name = expectation.scenario;
  const say = (line: string) => settings.say(`[${name}] ${line}`);
  const problems: string[] = [];
  const auditFrom = sandbox.audit().length;
  const result: ScenarioResult = {
    scenario: name,
    expected: { diagnosis: expectation.diagnosis, outcome: expectation.outcome },
    incidentId: workflowId,
    incidentNumber: null,
    diagnosis: null,
    actions: [],
    outcome: 'failed',
    resolution: null,
    ok: false,
    problems,
    detectionSeconds: null,
    timeToMitigateSeconds: null,
    timeToHandOverSeconds: null,
    timeToResolveSeconds: null,
    followUp: { workflowId: null, started: false, report: null, closed: false },
    chaos: [],
    applied: [],
    writes: checkWrites([], []),
    messages: checkMessages([]),
  };

  let startsAt: string | undefined;
  try {
    // Break, let the outage settle as an alert rule's `for:` would, and fire the alert.
    const brokeAt = Date.now();
    say(`breaking ${service.namespace}/${service.deployment}`);
    await breakService(stack, name);
    await sleep(alertSettleMs);
    startsAt = new Date().toISOString();
    say('sending the ServiceDown alert to the receiver, as Alertmanager would');
    await sendAlert(stack, 'firing', startsAt, say);

    // The incident this alert opened: a new run of the service's workflow (the one before is closed).
    const opened = await eventually(async () => {
      const s = await incidentStatus(incidents, workflowId, say);
      return s.alert.startsAt === startsAt ? s : undefined;
    }, 120_000);
    if (!opened) {
      throw new Error('no incident opened for the alert within 120 s');
    }
    const ref = opened.incidentNumber ? `INC-${opened.incidentNumber}` : workflowId;
    result.incidentNumber = opened.incidentNumber ?? null;
    result.detectionSeconds = Math.round((Date.parse(opened.openedAt) - brokeAt) / 100) / 10;
    say(`${ref} opened`);

    let handedOver = false;
    // The closed incident's outcome names its follow-up; read from Temporal's history (no worker needed).
    let outcomeOf: Promise<IncidentOutcome> | undefined;
    const outcome = () =>
      (outcomeOf ??= client
        .withDeadline(Date.now() + 10_000, () => client.workflow.getHandle<() => Promise<IncidentOutcome>>(workflowId).result())
        .catch((err: unknown) => {
          outcomeOf = undefined;
          throw err;
        }));
    const followUpOf = () =>
      outcome().then(
        (o) => o.postIncidentWorkflowId,
        () => undefined,
      );
    const monkey = settings.chaos?.length
      ? new ChaosMonkey(
          {
            scenario: name,
            client,
            workflowId,
            followUpId: () => followUpOf(),
            sandbox,
            auditFrom,
            outboxDir: stack.outboxDir,
            incidentRef: ref,
            worker: stack.worker,
            temporal: stack.temporal.process,
            handedOver: () => handedOver,
            say,
          },
          settings.chaos,
        )
      : undefined;

    try {
      // Until the incident is resolved, or handed to people.
      let status: IncidentStatus = opened;
      const deadline = Date.now() + settings.timeoutMs;
      let lastPhase = '';
      for (;;) {
        status = await incidentStatus(incidents, workflowId, say, ref);
        if (status.phase !== lastPhase) say(`phase ${(lastPhase = status.phase)}`);
        if (status.phase === 'resolved') break;
        if (handedToHumans(status)) {
          handedOver = true;
          result.timeToHandOverSeconds = seconds(status.openedAt, handOverTime(status) ?? new Date().toISOString());
          say(`handed over: ${status.pendingApproval?.humanFix ?? status.timeline.filter((e) => e.kind === 'escalation').at(-1)?.text ?? status.phase}`);
          break;
        }
        if (Date.now() > deadline) {
          problems.push(`still ${status.phase} after ${settings.timeoutMs / 1000} s`);
          break;
        }
        await sleep(1_000);
      }

      if (status.phase !== 'resolved') {
        // People take over: they fix what automation must not (the sandbox is healed by hand) and close the incident.
        await monkey?.reached('handed-over');
        say('playing the people: healing the sandbox by hand, then resolving the incident');
        sandbox.heal(service.deployment);
        await waitFor(async () => sandbox.isRecovered(service.deployment), 'the sandbox to heal', 120_000).catch((err: unknown) => problems.push(String(err)));
        await patiently(() => incidents.resolve(workflowId, who, 'game day: fixed by hand (the sandbox was healed)'), {
          what: `the resolve signal of ${ref}`,
          giveUpAfterMs: outageLimitMs,
          say,
        });
      }

      // The incident closes and starts its follow-up.
      const closed = await eventually(async () => {
        const view = await viewWorkflow(client, workflowId);
        return view && !isOpen(view) ? view : undefined;
      }, 180_000);
      if (!closed) problems.push('the incident did not close within 180 s');
      else if (closed.status !== 'COMPLETED') problems.push(`the incident ended ${closed.status}`);
      const final = await incidentStatus(incidents, workflowId, say, ref);
      const ended = closed?.status === 'COMPLETED' ? await patiently(outcome, { what: `the outcome of ${ref}`, giveUpAfterMs: outageLimitMs, say }) : undefined;

      result.diagnosis = final.diagnosis?.category ?? null;
      result.resolution = final.resolution ?? null;
      result.applied = final.actions.filter((a) => a.appliedAt).map((a) => ({ idempotencyKey: a.idempotencyKey, command: a.command }));
      result.actions = result.applied.map((a) => a.command);
      result.timeToMitigateSeconds = final.resolution === 'mitigated' ? seconds(final.openedAt, final.restoredAt) : null;
      result.timeToResolveSeconds = seconds(final.openedAt, final.resolvedAt);
      say(`resolved (${final.resolution ?? '?'})${result.actions.length ? `: ${result.actions.join('; ')}` : ''}`);

      if (ended) await followUp(stack, ended.postIncidentWorkflowId, ref, result, monkey, say);
    } finally {
      result.chaos = (await monkey?.finish()) ?? [];
    }
  } catch (err) {
    // A scenario that cannot go on is a failed scenario; the stack is cleaned up for the next one.
    problems.push(`aborted: ${err instanceof Error ? err.message : String(err)}`);
    say(`aborted: ${err instanceof Error ? err.message : String(err)}`);
    // Nothing of it may stay open: the next scenario's alert would join it.
    if (isOpen(await viewWorkflow(client, workflowId))) {
      await incidents.resolve(workflowId, who, 'game day: the scenario was aborted').catch((e: unknown) => problems.push(`could not resolve it: ${String(e)}`));
    }
  }

  // Alertmanager sends the resolved alert once the service is up: no incident is open for it any more.
  if (startsAt !== undefined) {
    const answer = (await sendAlert(stack, 'resolved', startsAt, say, new Date().toISOString()).catch((err: unknown) => String(err))) as
      { incidents?: { result?: string }[] } | string;
    const delivered = typeof answer === 'string' ? answer : answer.incidents?.[0]?.result;
    if (delivered !== 'no-open-incident') problems.push(`the resolved alert was answered ${String(delivered)}, not no-open-incident`);
  }
  await cleanUp(stack, say, problems);

  // Exactly once, for this incident: its writes, and its messages (by its dedup keys).
  result.writes = checkWrites(sandbox.audit().slice(auditFrom), result.applied);
  const ref = result.incidentNumber ? `INC-${result.incidentNumber}` : workflowId;
  result.messages = checkMessages(incidentMessages(readOutbox(stack.outboxDir), ref, workflowId));

  judge(result, expectation);
  say(`${result.ok ? 'ok' : 'NOT OK'}: ${result.outcome}${problems.length ? ` (${problems.join('; ')})` : ''}`);
  return result;
}

/** The follow-up started: it drafts the summary and posts its tasks; the game day completes them so it closes. */
async function followUp(
  stack: RunningStack,
  id: string,
  ref: string,
  result: ScenarioResult,
  monkey: ChaosMonkey | undefined,
  say: (line: string) => void,
): Promise<void> {
  const client = stack.incidents.client;
  result.followUp.workflowId = id;
  await monkey?.reached('follow-up');
  const drafted = await eventually(async () => {
    const s = await client.withDeadline(Date.now() + 10_000, () => client.workflow.getHandle(id).query(tasksQuery));
    return s.reportLocation ? s : undefined;
  }, 180_000);
  const posted = await eventually(async () => readOutbox(stack.outboxDir).find((m) => m.event === 'post-incident-tasks' && m.summary.includes(ref)), 120_000);
  result.followUp.started = drafted !== undefined && posted !== undefined;
  result.followUp.report = drafted?.reportLocation ?? null;
  if (!drafted) result.problems.push('the follow-up did not draft the incident summary within 180 s');
  if (!posted) result.problems.push('the follow-up did not post its tasks within 120 s');
  if (!drafted) return;
  say(`follow-up ${id}: summary drafted at ${drafted.reportLocation ?? '?'}; completing its ${drafted.tasks.length} tasks`);
  for (const task of drafted.tasks.filter((t) => !t.done)) {
    await patiently(() => stack.incidents.completeTask(id, task.id, who, 'game day'), { what: `task ${task.id} of ${id}`, giveUpAfterMs: outageLimitMs, say });
  }
  const ended = await eventually(async () => {
    const view = await viewWorkflow(client, id);
    return view && !isOpen(view) ? view : undefined;
  }, 180_000);
  result.followUp.closed = ended?.status === 'COMPLETED';
  if (!result.followUp.closed) result.problems.push(`the follow-up did not complete (${ended?.status ?? 'still running after 180 s'})`);
  const done = await eventually(async () => readOutbox(stack.outboxDir).find((m) => m.event === 'post-incident-complete' && m.summary.includes(ref)), 60_000);
  if (!done) result.problems.push('the follow-up did not post that its tasks are done');
}

/** Heals the sandbox (whatever the incident did) so the next scenario starts from a healthy service. */
async function cleanUp(stack: RunningStack, say: (line: string) => void, problems: string[]): Promise<void> {
  const { sandbox, service } = stack;
  sandbox.heal(service.deployment);
  await waitFor(async () => sandbox.isRecovered(service.deployment), 'the sandbox to be healthy again', 120_000).catch((err: unknown) => {
    problems.push(String(err));
    say(String(err));
  });
}

/** When the incident was handed over: the hand-over's timeline entry, or the human-fix approval's request. */
function handOverTime(s: IncidentStatus): string | undefined {
  if (s.pendingApproval?.humanFix) return s.pendingApproval.requestedAt;
  return s.timeline.filter((e) => e.kind === 'escalation' && /handed over/.test(e.text)).at(-1)?.at;
}

/** The incident's messages: its own dedup keys (found from messages that name it) and its follow-up's. */
export function incidentMessages(all: OutboxMessage[], ref: string, workflowId: string): OutboxMessage[] {
  const keys = new Set(all.filter((m) => m.summary.includes(ref) && m.dedupKey !== `${workflowId}/post-incident`).map((m) => m.dedupKey));
  return all.filter((m) => keys.has(m.dedupKey) || (m.dedupKey === `${workflowId}/post-incident` && m.summary.includes(ref)));
}

function judge(result: ScenarioResult, expectation: ScenarioExpectation): void {
  const problems = result.problems;
  const handedOver = result.timeToHandOverSeconds !== null;
  result.outcome = result.resolution === 'mitigated' ? 'recovered' : handedOver ? 'handed-over' : 'failed';
  if (result.diagnosis !== expectation.diagnosis) problems.push(`diagnosed ${result.diagnosis ?? 'nothing'}, expected ${expectation.diagnosis}`);
  if (result.outcome !== expectation.outcome) problems.push(`${result.outcome}, expected ${expectation.outcome}`);
  if (expectation.outcome === 'recovered' && expectation.action && !result.actions.some((a) => expectation.action?.test(a))) {
    problems.push(`no applied action matches ${String(expectation.action)} (applied: ${result.actions.join('; ') || 'none'})`);
  }
  // Handed over means nothing was changed: the automation had no safe fix.
  if (expectation.outcome === 'handed-over' && result.actions.length > 0) problems.push(`handed over, yet applied ${result.actions.join('; ')}`);
  if (!result.followUp.started) problems.push('no follow-up started');
  if (!result.writes.ok) problems.push('a change was not written exactly once');
  if (!result.messages.ok) problems.push('a message was delivered twice');
  result.ok = problems.length === 0;
}
