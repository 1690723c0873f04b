// The remediation governor: one long-lived workflow per cluster (ID governor/<cluster>)
// that grants change leases before any mutation is applied. Incidents ask through the
// requestChangeLease activity (signal-with-start), wait for the answer signalled back,
// apply, and release. The rules are workflows/model/governor.ts; this file is the
// shell: handlers, the wake-ups (a lease's TTL, a wait's bound, the budget's window),
// the answers, and continue-as-new with the whole state.
//
// Leases are workflow state: a worker crash loses none, and a lease whose holder died
// (terminated, stuck) ends at its TTL, when the next waiting request is granted.
import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import {
  FreezeRequestSchema,
  Governor,
  GovernorPolicySchema,
  LeaseReleaseSchema,
  LeaseRequestSchema,
  UnfreezeRequestSchema,
  newGovernorState,
  type GovernorPolicyInput,
  type GovernorState,
  type LeaseAnswer,
} from './model/governor.js';
import { freezeSignal, governorStatusQuery, leaseAnswerSignal, releaseLeaseSignal, requestLeaseSignal, unfreezeSignal } from './messages.js';

export interface GovernorInput {
  cluster: string;
  /** The worker's policy (absent when the CLI starts it with a freeze: the defaults until a request brings the worker's). */
  policy?: GovernorPolicyInput;
}

const GovernorInputSchema = z.object({ cluster: z.string().min(1).max(200), policy: GovernorPolicySchema.optional() });

/** `resume` is only passed by continue-as-new: the state of the run before. */
export async function remediationGovernorWorkflow(input: GovernorInput, resume?: GovernorState): Promise<void> {
  const config = GovernorInputSchema.parse(input);
  const state = resume ? { ...resume, run: resume.run + 1 } : newGovernorState(config.cluster, config.policy ?? {});
  const governor = new Governor(state);
  let dirty = true;
  // A bad message is ignored (nobody to answer a signal); the incident's own wait is bounded.
  setHandler(requestLeaseSignal, (request) => {
    const parsed = LeaseRequestSchema.safeParse(request);
    if (parsed.success) governor.request(parsed.data, Date.now());
    dirty = true;
  });
  setHandler(releaseLeaseSignal, (release) => {
    const parsed = LeaseReleaseSchema.safeParse(release);
    if (parsed.success) governor.release(parsed.data, Date.now());
    dirty = true;
  });
  setHandler(freezeSignal, (request) => {
    const parsed = FreezeRequestSchema.safeParse(request);
    if (parsed.success) governor.freeze(parsed.data, Date.now());
    dirty = true;
  });
  setHandler(unfreezeSignal, (request) => {
    const parsed = UnfreezeRequestSchema.safeParse(request);
    if (parsed.success) governor.unfreeze(parsed.data);
    dirty = true;
  });
  setHandler(governorStatusQuery, () => governor.status(Date.now()));

  // The next wake-up is a timer left to fire, never cancelled when a message comes first: a cancel that
  // crosses the timer firing is refused by the time-skipping test server, which then stalls for ever
  // (sdk-java#3088), and the governor is woken by messages all the time. A stale wake-up runs the loop once more.
  const alarms = patched('governor-uncancelled-wakeups');
  let alarmAt: number | undefined;
  let rung = false;
  const ringAt = (at: number): void => {
    if (alarmAt !== undefined && alarmAt <= at) return;
    alarmAt = at;
    void sleep(Math.max(1, at - Date.now())).then(() => {
      if (alarmAt === at) alarmAt = undefined;
      rung = true;
    });
  };

  for (;;) {
    dirty = false;
    governor.step(Date.now());
    await Promise.all(governor.outbox.splice(0).map(tell));
    const info = workflowInfo();
    if (!dirty && (info.continueAsNewSuggested || info.historyLength >= state.policy.continueAsNewAfterEvents)) {
      await condition(allHandlersFinished);
      // What arrived while the handlers finished is in the state: the next run decides it.
      return continueAsNew<typeof remediationGovernorWorkflow>({ cluster: state.cluster, policy: state.policy }, state);
    }
    if (dirty) continue;
    const wake = governor.nextWakeup(Date.now());
    if (alarms) {
      if (wake !== undefined) ringAt(wake);
      await condition(() => dirty || rung);
      rung = false;
    } else if (wake === undefined) await condition(() => dirty);
    else await condition(() => dirty, Math.max(1, wake - Date.now()));
  }
}

/** Signals the answer to the incident that asked; one that has ended cannot hear it (its lease, if any, expires). */
async function tell(answer: LeaseAnswer): Promise<void> {
  try {
    await getExternalWorkflowHandle(answer.holder).signal(leaseAnswerSignal, answer);
  } catch {
    // The holder is gone: nothing to tell.
  }
}
