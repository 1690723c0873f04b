// How fast the simulated world moves. Everything derives from two knobs so a
// rollout completes in about `rolloutMs` and a crash-looping container restarts
// every `crashLoopMs`; tests and game days stay quick, demos can slow down.

export interface Timing {
  readonly rolloutMs: number;
  readonly crashLoopMs: number;
  /** Controller and kubelet loop period. */
  readonly tickMs: number;
  /** Pod sandbox and image set-up, before the container starts. */
  readonly startMs: number;
  /** From container start to the first successful readiness probe. */
  readonly readyMs: number;
  /** Graceful termination of a deleted pod. */
  readonly terminateMs: number;
  /** How long a container that fails at start-up runs before it exits. */
  readonly failRunMs: number;
  /** How long a container whose memory need exceeds its limit runs before the OOM kill (before it can be ready). */
  readonly oomRunMs: number;
  /** Seeded deployments' progressDeadlineSeconds: real clusters use 600 s, far too slow for a sandbox. */
  readonly progressDeadlineSeconds: number;
}

export function resolveTiming(options: { rolloutMs?: number; crashLoopMs?: number } = {}): Timing {
  const rolloutMs = Math.max(50, options.rolloutMs ?? 1000);
  const crashLoopMs = Math.max(50, options.crashLoopMs ?? 1000);
  return {
    rolloutMs,
    crashLoopMs,
    tickMs: Math.min(50, Math.max(10, Math.round(Math.min(rolloutMs, crashLoopMs) / 20))),
    startMs: Math.round(rolloutMs * 0.25),
    readyMs: Math.round(rolloutMs * 0.35),
    terminateMs: Math.round(rolloutMs * 0.2),
    failRunMs: Math.round(rolloutMs * 0.15),
    oomRunMs: Math.round(rolloutMs * 0.25),
    progressDeadlineSeconds: Math.max(5, Math.ceil((rolloutMs * 15) / 1000)),
  };
}
