// The decisions API: the approval channel that establishes who a person is (their
// own bearer token, known here only by its SHA-256) and signs what they decided, so
// the incident can tell their decision from one sent straight to Temporal in their
// name (workflows/decision-signature.ts). The signature binds the action the person
// was shown (its key), approve or reject, their name and comment, for 5 minutes.
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { signDecision } from '../../workflows/decision-signature.js';
import type { DecisionOutcome, IncidentStatus } from '../../workflows/messages.js';
import { IncidentNotFound, type IncidentRow } from '../incidents.js';

/** How long a signature the API makes may be used: enough for the update to reach the incident. */
const signatureLifetimeMs = 5 * 60_000;

export interface DecisionsApiOptions {
  /** Person by the SHA-256 (hex) of their token. */
  people: ReadonlyMap<string, string>;
  key: { keyId: string; secretKey: string };
  incidents: {
    /** Open incidents (Slack's `/incident list`). */
    list(options: { open?: boolean; limit?: number }): Promise<IncidentRow[]>;
    status(ref: string): Promise<IncidentStatus>;
    acknowledge(ref: string, by: string): Promise<void>;
    decide(
      ref: string,
      decision: 'approve' | 'reject',
      by: string,
      options: { action?: number; comment?: string; signature?: unknown },
    ): Promise<DecisionOutcome>;
  };
  log: Logger;
  clock?: () => number;
}

export const DecisionBodySchema = z.strictObject({
  /** INC-42, 42 or the workflow ID. */
  incident: z.string().min(1).max(300),
  decision: z.enum(['approve', 'reject']),
  /** The action the person was shown; omitted: the one awaiting approval now. */
  action: z.number().int().positive().optional(),
  comment: z.string().max(2000).optional(),
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The person a bearer token names, or undefined. */
export function personOf(header: string | undefined, people: ReadonlyMap<string, string>): string | undefined {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  return token ? people.get(sha256(token)) : undefined;
}

export interface DecisionAnswer {
  /** The HTTP status the decisions API answers with. */
  status: 200 | 403 | 404 | 409;
  outcome?: DecisionOutcome;
  error?: string;
}

/**
 * `by`'s decision on the action awaiting approval in `incident`, signed and sent: what every
 * approval channel (the decisions API, Slack) does once it knows who the person is.
 */
export async function signAndDecide(
  options: Pick<DecisionsApiOptions, 'key' | 'incidents' | 'log' | 'clock'>,
  by: string,
  request: { incident: string; decision: 'approve' | 'reject'; action?: number | undefined; comment?: string | undefined },
  via: string,
): Promise<DecisionAnswer> {
  const { incident, decision, action, comment } = request;
  let status: IncidentStatus;
  try {
    status = await options.incidents.status(incident);
  } catch (err) {
    if (err instanceof IncidentNotFound || err instanceof WorkflowNotFoundError) return { status: 404, error: `no incident ${incident}: ${err.message}` };
    throw err;
  }
  const pending = status.pendingApproval;
  if (!pending?.actionKey) return { status: 409, error: `nothing in ${incident} awaits approval now (phase: ${status.phase})` };
  if (action !== undefined && action !== pending.action) {
    return { status: 409, error: `action #${action} of ${incident} is not awaiting approval: #${pending.action} is (${pending.command})` };
  }
  const now = (options.clock ?? Date.now)();
  const signature = signDecision(options.key, { actionKey: pending.actionKey, decision, by, comment }, new Date(now + signatureLifetimeMs));
  try {
    const outcome = await options.incidents.decide(incident, decision, by, { action: pending.action, ...(comment ? { comment } : {}), signature });
    options.log.info({ incident, action: pending.action, decision, by, via, needs: outcome.needs }, 'decision signed and taken');
    return { status: 200, outcome };
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const refusal = err.cause?.message ?? err.message;
    options.log.warn({ incident, action: pending.action, decision, by, via, refusal }, 'decision refused by the incident');
    // The person may not decide here (policy), or the action moved on (decided, expired): neither is helped by retrying.
    const forbidden = /not an allowed approver|may not approve|approved action #\d+ already/.test(refusal);
    return { status: forbidden ? 403 : 409, error: refusal };
  }
}

export function registerDecisionsApi(app: FastifyInstance, options: DecisionsApiOptions): void {
  const people = new WeakMap<FastifyRequest, string>();
  // Before the body is read: an unknown token gets nothing parsed.
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const person = personOf(req.headers.authorization, options.people);
    if (person === undefined) {
      await reply
        .code(401)
        .send({ error: 'missing or unknown bearer token: use your own token (INCIDENT_API_TOKEN; `incident token <name>` makes one for APPROVER_TOKENS)' });
      return;
    }
    people.set(req, person);
  };

  app.post('/decisions', { onRequest: authenticate }, async (req, reply) => {
    const parsed = DecisionBodySchema.safeParse(req.body);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return reply.code(422).send({ error: `not a decision: ${detail.slice(0, 3).join('; ')}; send {incident, decision: approve|reject, action?, comment?}` });
    }
    const answer = await signAndDecide(options, people.get(req) ?? '', parsed.data, 'api');
    return reply.code(answer.status).send(answer.outcome ?? { error: answer.error });
  });
}
