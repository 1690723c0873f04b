// The CLI's side of the receiver's decisions API: a decision sent there is made
// as the person the token names and signed by the receiver, so it counts where
// the workers ask for signed decisions (INCIDENT_DECISION_KEYS).
import type { DecisionOutcome } from '../../workflows/messages.js';

/** The API answered with an error: its status and message, as the receiver said them. */
export class DecisionsApiError extends Error {}

export async function decideThroughApi(
  api: { url: string; token: string | undefined },
  request: { incident: string; decision: 'approve' | 'reject'; action?: number | undefined; comment?: string | undefined },
  fetchImpl: typeof fetch = fetch,
): Promise<DecisionOutcome> {
  if (!api.token) throw new DecisionsApiError('INCIDENT_API_URL is set but INCIDENT_API_TOKEN is not: set your own token (the receiver knows you by it)');
  const url = new URL('decisions', api.url.endsWith('/') ? api.url : `${api.url}/`);
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch (err) {
    throw new DecisionsApiError(`cannot reach the decisions API at ${url.origin}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: string } & Partial<DecisionOutcome>;
  if (!response.ok) throw new DecisionsApiError(`refused (${response.status}): ${body.error ?? response.statusText}`);
  return body as DecisionOutcome;
}
