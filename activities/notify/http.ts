// POSTs a notification or report once and classifies the answer: 2xx done; 429,
// 5xx and network failures retryable (NotificationUnavailable, retried by the
// activity's retry policy, a 429's or 503's Retry-After setting the delay); any
// other 4xx permanent. Messages name the channel, never the URL (a Slack webhook
// URL is itself a secret).
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../injected-deps.js';
import { describeFetchError } from '../service-dependencies.js';
import { redact, truncate } from '../redact.js';
import { FailureTypes } from '../types.js';

const { NotificationUnavailable } = FailureTypes;

/** `idempotencyKey`: sent as the Idempotency-Key header, so a retry after a lost 2xx can be recognised. */
export async function postJson(deps: ActivityDeps, channel: string, url: string, payload: object, idempotencyKey?: string): Promise<string> {
  let response: Response;
  try {
    response = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(deps.probes.httpTimeoutMs),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(`${channel}: no answer from the endpoint (${describeFetchError(err)}); retrying`, NotificationUnavailable);
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return text;
  const said = text ? `: ${truncate(redact.text(text), 200)}` : '';
  if (response.status === 429 || response.status >= 500) {
    const retryAfter = Number(response.headers.get('retry-after'));
    throw ApplicationFailure.create({
      message: `${channel}: the endpoint answered ${response.status}${said}; retrying`,
      type: NotificationUnavailable,
      nextRetryDelay: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    });
  }
  throw ApplicationFailure.nonRetryable(
    `${channel}: the endpoint refused the message with ${response.status}${said}; check the ${channel} URL or key in the worker's configuration`,
    FailureTypes.NotificationRejected,
  );
}
