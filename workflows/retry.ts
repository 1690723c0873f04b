// How activities are retried, for both workflows: one base policy, and the
// option sets built on it. Temporal's activity retries are the one layer that
// retries: the activities classify a failure (activities/types.ts, FailureTypes)
// and throw; they do not retry it themselves. So every retry is counted in the
// history (the attempt and the last failure of each activity), waits with a
// backoff that survives a worker crash, and is bounded here and only here: an
// apply meets transient trouble at most 8 times (one PATCH per attempt), where the
// call, a write loop and this policy used to allow 3 × 5 × 8 = 120. A 429's
// Retry-After reaches Temporal as the failure's nextRetryDelay. (A 409 is no
// trouble but the API server's "read again": the write step re-reads and decides
// again in place, at most 4 times per attempt; activities/mutations.ts.)
//
// Changing these options does not break replay (they are not compared with the
// history), but it changes how long running incidents wait: say why.
import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import { nonRetryableFailureTypes } from '../activities/types.js';

/** 1 s, doubling, at most 30 s between attempts; permanent failures (nonRetryableFailureTypes) end at once. */
export const baseRetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: nonRetryableFailureTypes,
} as const satisfies RetryPolicy;

/** Every activity heartbeats at least every second: a dead worker's attempt is retried after 5 s, not at its timeout. */
const heartbeatTimeout = '5s';

/** Investigation, verification and monitor samples: cheap and safe to repeat; 5 attempts over about 15 s, then the step is reported failed, not guessed around. */
export const readOptions = {
  startToCloseTimeout: '30s',
  heartbeatTimeout,
  retry: { ...baseRetryPolicy, maximumAttempts: 5 },
} as const satisfies ActivityOptions;

/**
 * Preview and apply: idempotent by key, so retrying a lost reply is safe; 8 attempts
 * over about a minute and a half.
 */
export const writeOptions = {
  startToCloseTimeout: '60s',
  heartbeatTimeout,
  retry: { ...baseRetryPolicy, maximumAttempts: 8 },
} as const satisfies ActivityOptions;

/** Notifications must not hold the incident back: 10 attempts over about 2½ minutes, then recorded as failed. */
export const commsOptions = {
  startToCloseTimeout: '30s',
  heartbeatTimeout,
  retry: { ...baseRetryPolicy, maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/** `rollout status` polls for its own deadline and tolerates failed polls; a whole attempt that fails is tried 3 times. */
export const rolloutWaitRetryPolicy = { ...baseRetryPolicy, maximumAttempts: 3 } as const satisfies RetryPolicy;

/**
 * The post-incident follow-up's notifications and summary draft: nobody waits on
 * them, so up to a minute between attempts, 10 attempts (about 4 minutes); the
 * draft is tried again later on top of that (reportRetryDelays).
 */
export const followUpOptions = {
  startToCloseTimeout: '60s',
  heartbeatTimeout,
  retry: { ...baseRetryPolicy, maximumInterval: '1m', maximumAttempts: 10 },
} as const satisfies ActivityOptions;

/**
 * The worker's approval policy, read from its configuration at the start of every run: cheap,
 * and the incident cannot go on without it, so it is tried until a worker answers.
 */
export const policyOptions = {
  startToCloseTimeout: '10s',
  heartbeatTimeout,
  retry: { ...baseRetryPolicy, maximumInterval: '10s' },
} as const satisfies ActivityOptions;
