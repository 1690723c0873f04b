// Every activity heartbeats while it runs, so that a worker that dies in the
// middle of one is noticed after the activity's short heartbeatTimeout (seconds)
// and the activity is retried on another worker, instead of after its
// start-to-close timeout (up to a minute). The SDK throttles what it sends to
// Temporal; calling heartbeat() every second only keeps a fresh beat pending.
import { asyncLocalStorage } from '@temporalio/activity';

/** How often a running activity heartbeats: well inside the workflow's 5 s heartbeatTimeout. */
export const heartbeatIntervalMs = 1_000;

/** Reports progress: heartbeats `details` now, and they ride on every later beat. */
export type Progress = (details: unknown) => void;

/**
 * Runs `body`, heartbeating every `intervalMs` until it settles. Outside an
 * activity (a script or a test calling the function directly) it only runs `body`.
 */
export async function heartbeating<R>(body: (progress: Progress) => Promise<R>, intervalMs = heartbeatIntervalMs): Promise<R> {
  const context = asyncLocalStorage.getStore();
  if (!context) return body(() => undefined);
  let details: unknown;
  const progress: Progress = (next) => {
    details = next;
    context.heartbeat(details);
  };
  // A heartbeat is also how a running activity learns that it was cancelled or its workflow has closed.
  const timer = setInterval(() => context.heartbeat(details), intervalMs);
  try {
    return await body(progress);
  } finally {
    clearInterval(timer);
  }
}
