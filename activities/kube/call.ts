// Every Kubernetes API call goes through call(): it classifies failures the way
// the workflow's retry policy (workflows/retry.ts) needs them, and throws.
// Writes are retried by Temporal's activity retries alone, so each retry of a
// change shows in the history and an apply sends at most 8 PATCHes into trouble.
// A read that meets throttling or a server error is read again in place, twice at
// most (well under a second): a read activity makes up to 8 calls, and with one
// failing request in five an activity attempt would otherwise fail more often
// than not and redo all of them; reads change nothing, so repeating one is free.
//   401/403/404/400/422 → non-retryable ApplicationFailure saying what to do
//   409                 → retryable KubernetesConflict (the write step re-reads
//                         first: a 409 is the API server's "read again", not trouble)
//   429/5xx/timeouts/dropped connections → retryable KubernetesUnavailable
//                         (a 429's Retry-After becomes the next retry's delay)
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../types.js';
import { redact, truncate } from '../redact.js';
import type { KubeClients } from './cluster.js';

export interface KubeOp {
  /** The RBAC verb the call needs. */
  verb: 'get' | 'list' | 'patch';
  /** Resource as RBAC names it, with the subresource: deployments, pods/log, services/proxy. */
  resource: string;
  name?: string | undefined;
  namespace?: string | undefined;
}

const gerund: Record<KubeOp['verb'], string> = { get: 'reading', list: 'listing', patch: 'patching' };

function describeOp(op: KubeOp): string {
  return `${gerund[op.verb]} ${op.resource}${op.name ? `/${op.name}` : ''}${op.namespace ? ` in ${op.namespace}` : ''}`;
}

/** The `message` of a Kubernetes Status body, redacted and cut short; or the raw body's start. */
export function statusMessage(body: unknown): string {
  if (typeof body !== 'string' || body === '') return '';
  let message = body;
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: a proxy or load balancer answered; keep the text
  }
  return truncate(redact.text(message.trim()), 300);
}

function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  const value = headers?.['retry-after'];
  const seconds = value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

const networkCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

function isNetworkError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (
    err.name === 'AbortError' ||
    err.name === 'TimeoutError' ||
    err.name === 'FetchError' ||
    (typeof code === 'string' && networkCodes.has(code)) ||
    /socket hang up|network|ECONNRESET|ECONNREFUSED|timed? ?out/i.test(err.message)
  );
}

/** Turns any failure of a call into the ApplicationFailure the activity throws. */
export function classify(err: unknown, op: KubeOp, clients: Pick<KubeClients, 'cluster' | 'context'>): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const what = describeOp(op);
  if (err instanceof ApiException) {
    const code = err.code;
    const server = statusMessage(err.body);
    const said = server ? ` (API server: ${server})` : '';
    const kind = op.resource.split('/')[0] ?? op.resource;
    switch (code) {
      case 401:
        return ApplicationFailure.nonRetryable(
          `401 ${what}: the API server of cluster '${clients.cluster}' did not accept the worker's credentials (kubeconfig context '${clients.context}')${said}; refresh the kubeconfig token or the service account token`,
          FailureTypes.Forbidden,
        );
      case 403:
        return ApplicationFailure.nonRetryable(
          `403 ${what}: the worker's service account lacks '${op.verb}' on ${op.resource}${said}; grant it in deploy/kubernetes/rbac.yaml`,
          FailureTypes.Forbidden,
        );
      case 404:
        return ApplicationFailure.nonRetryable(
          `404 ${what}: not found${said}; check the alert's cluster, namespace and deployment labels`,
          FailureTypes.NotFound,
        );
      case 400:
      case 422:
        return ApplicationFailure.nonRetryable(
          `${code} ${what}: the API server refused the request as invalid${said}; fix the ${kind} change the action asks for`,
          FailureTypes.Invalid,
        );
      case 409:
        return ApplicationFailure.retryable(`409 ${what}: the object changed since it was read${said}; the next attempt reads it again`, FailureTypes.Conflict);
      default: {
        if (code < 500 && code !== 429 && code !== 408) {
          return ApplicationFailure.nonRetryable(
            `${code} ${what}: the API server refused the request${said}; this call cannot work as it is`,
            FailureTypes.Invalid,
          );
        }
        const reason = code === 429 ? 'the API server is throttling the worker' : code === 408 ? 'the request timed out' : 'the API server failed';
        return ApplicationFailure.create({
          message: `${code} ${what}: ${reason}${said}; retrying with backoff`,
          type: FailureTypes.KubernetesUnavailable,
          nextRetryDelay: code === 429 ? retryAfterMs(err.headers) : undefined,
        });
      }
    }
  }
  if (isNetworkError(err)) {
    return ApplicationFailure.retryable(
      `${what}: no answer from the API server of cluster '${clients.cluster}' (${truncate(redact.text(err.message), 200)}); retrying with backoff`,
      FailureTypes.KubernetesUnavailable,
    );
  }
  // A bug on our side (a malformed response, a thrown TypeError): let Temporal retry it, but say what.
  return ApplicationFailure.retryable(`${what}: ${err instanceof Error ? truncate(redact.text(err.message), 300) : String(err)}`, FailureTypes.Unexpected);
}

/** A 409: the object changed between the read and the write; nothing was written. */
export function isConflict(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureTypes.Conflict;
}

/** Throttling, a server error or no answer: worth asking again later (see rollout.ts). */
export function isTransient(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureTypes.KubernetesUnavailable;
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureTypes.NotFound;
}

/** Tries of one read before the activity's attempt fails (writes get one: Temporal retries them). */
const readTries = 3;
/** A Retry-After longer than this is left to Temporal's retry (the attempt fails with it as the delay). */
const longestPauseInPlaceMs = 2_000;

/** Runs one API call; a failure is thrown classified. A transient failure of a read is tried again in place first. */
export async function call<T>(clients: KubeClients, op: KubeOp, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const failure = classify(err, op, clients);
      const pauseMs = failure.nextRetryDelay == null ? 50 * 2 ** attempt + Math.random() * 50 : Number(failure.nextRetryDelay);
      if (op.verb === 'patch' || !isTransient(failure) || attempt >= readTries || pauseMs > longestPauseInPlaceMs) throw failure;
      clients.logger.warn('Kubernetes API read failed; reading again', { attempt, error: failure.message });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/** Like call(), but a 404 is an answer: undefined. */
export async function callOptional<T>(clients: KubeClients, op: KubeOp, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(clients, op, fn);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Like call(), for what a cluster may lawfully lack (metrics-server) or deny this
 * worker (RBAC without nodes or quotas): a 403 or 404 is a gap, recorded in
 * `gaps` with what it leaves unknown, and the investigation goes on without it.
 */
export async function callOrGap<T>(clients: KubeClients, op: KubeOp, fn: () => Promise<T>, gaps: string[], unknown: string): Promise<T | undefined> {
  try {
    return await call(clients, op, fn);
  } catch (err) {
    if (!(err instanceof ApplicationFailure) || (err.type !== FailureTypes.NotFound && err.type !== FailureTypes.Forbidden)) throw err;
    const why = err.type === FailureTypes.NotFound ? 'not served by this cluster' : `forbidden to the worker (no '${op.verb}' on ${op.resource})`;
    gaps.push(`${op.resource}: ${why}; ${unknown}`);
    return undefined;
  }
}
