// Slack as an approval channel: a click on Approve / Reject / Acknowledge under an
// approval request (activities/notify/payloads.ts draws the buttons), and the
// `/incident list|show|approve|reject|ack` slash command, come here signed by Slack
// with the app's signing secret (verified with Bolt's own check: HMAC-SHA256 over
// the raw body, within 5 minutes). A replayed request is refused. The Slack user is
// mapped to a person (SLACK_USERS), and a decision is signed and sent as the
// decisions API does (signAndDecide), so the incident counts it. Slack wants an
// answer within 3 s: the request is acknowledged at once, and what happened goes
// back through the response_url: the message updated in place with who decided, a
// line in the channel, or a note only the person sees saying why nothing was done.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isValidSlackRequest } from '@slack/bolt';
import { z } from 'zod';
import type { DecisionButtonValue } from '../../activities/notify/payloads.js';
import { signAndDecide, type DecisionsApiOptions } from './decisions.js';
import { incidentTable, incidentView } from '../cli/render.js';

/** Slack's window for a request's timestamp, and how long a seen signature is remembered (a replay inside it is refused). */
const replayWindowMs = 5 * 60_000;

export interface SlackChannelOptions extends Omit<DecisionsApiOptions, 'people'> {
  signingSecret: string;
  /** Slack user ID → approver name. */
  users: ReadonlyMap<string, string>;
  /** Where response_urls may point (Slack's own host); a signed payload naming another is refused. */
  responseOrigin?: string;
  fetch?: typeof fetch;
}

const InteractionSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1) }),
  response_url: z.url(),
  actions: z
    .array(z.object({ action_id: z.enum(['approve', 'reject', 'acknowledge']), value: z.string().max(2000) }))
    .min(1)
    .max(1),
  message: z.object({ blocks: z.array(z.record(z.string(), z.unknown())).optional() }).optional(),
});

/** A slash command as Slack posts it (form fields). */
const SlashCommandSchema = z.object({
  command: z.string().min(1).max(100),
  text: z.string().max(3000).default(''),
  user_id: z.string().min(1),
  response_url: z.url(),
});

const slashUsage = (command: string) =>
  [
    `\`${command} list\`: open incidents`,
    `\`${command} show INC-42\`: what an incident is doing`,
    `\`${command} approve INC-42 #N [comment]\` or \`reject …\`: decide action #N, the one awaiting approval`,
    `\`${command} ack INC-42\`: acknowledge it`,
  ].join('\n');

/** Slack shows at most this much of a message's text: longer answers are cut, saying where to read the rest. */
const slackTextLimit = 3_500;
const codeBlock = (text: string) =>
  `\`\`\`${text.length > slackTextLimit ? `${text.slice(0, slackTextLimit)}\n… (cut: \`incident show\` has it all)` : text}\`\`\``;

const ButtonValueSchema = z.object({ incident: z.string().min(1).max(300), action: z.number().int().positive() }) satisfies z.ZodType<DecisionButtonValue>;

export function registerSlackChannel(app: FastifyInstance, options: SlackChannelOptions): void {
  const clock = options.clock ?? Date.now;
  const send = options.fetch ?? fetch;
  const origin = options.responseOrigin ?? 'https://hooks.slack.com';
  const seen = new Map<string, number>();

  const respond = async (url: string, body: object): Promise<void> => {
    try {
      const response = await send(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!response.ok) options.log.warn({ status: response.status }, 'Slack refused the response to a click');
    } catch (err) {
      options.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'Slack did not take the response to a click');
    }
  };
  const tell = (url: string, text: string) => respond(url, { response_type: 'ephemeral', replace_original: false, text });

  /** The raw body of a request Slack signed and that was not seen before; otherwise the 401 is sent and undefined returned. */
  const verified = async (req: FastifyRequest, reply: FastifyReply): Promise<string | undefined> => {
    const raw = typeof req.body === 'string' ? req.body : '';
    // Only Slack's exact form: Bolt reads the hash as whatever follows the first '=', so `v0=<hex>=x`
    // would verify too, and a replay dressed that way would not be the same header.
    const hash = /^v0=([0-9a-f]{64})$/.exec(String(req.headers['x-slack-signature'] ?? ''))?.[1];
    const timestamp = Number(req.headers['x-slack-request-timestamp']);
    const now = clock();
    const valid =
      hash !== undefined &&
      Number.isInteger(timestamp) &&
      // Bolt refuses a stale timestamp but not one from the future: both are refused here.
      timestamp * 1000 <= now + replayWindowMs &&
      isValidSlackRequest({
        signingSecret: options.signingSecret,
        body: raw,
        headers: { 'x-slack-signature': `v0=${hash}`, 'x-slack-request-timestamp': timestamp },
        nowMilliseconds: now,
      });
    if (!valid) {
      await reply.code(401).send({
        error: 'not signed by Slack, or signed more than 5 minutes from now: check SLACK_SIGNING_SECRET (the app\'s "Signing Secret") and the clock',
      });
      return undefined;
    }
    for (const [key, until] of seen) if (until <= now) seen.delete(key);
    // Remembered until its timestamp leaves the window: after that the timestamp check refuses it.
    const request = `${timestamp}:${hash}`;
    if (seen.has(request)) {
      await reply.code(401).send({ error: 'this exact request was received already: a replay is refused' });
      return undefined;
    }
    seen.set(request, timestamp * 1000 + replayWindowMs + 1_000);
    return raw;
  };

  app.register(async (scope) => {
    // The signature covers the raw body: keep it as Slack sent it.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => done(null, body));

    scope.post('/slack/interactions', async (req, reply) => {
      const raw = await verified(req, reply);
      if (raw === undefined) return reply;
      let payload: z.infer<typeof InteractionSchema>;
      let button: DecisionButtonValue;
      try {
        payload = InteractionSchema.parse(JSON.parse(new URLSearchParams(raw).get('payload') ?? ''));
        button = ButtonValueSchema.parse(JSON.parse(payload.actions[0]?.value ?? ''));
      } catch {
        return reply.code(422).send({ error: "not a block_actions interaction with one of this app's buttons (approve, reject, acknowledge)" });
      }
      if (new URL(payload.response_url).origin !== origin) {
        return reply.code(422).send({ error: `response_url is not on ${origin}` });
      }
      // Acknowledged now (Slack's 3 s); the outcome goes to response_url.
      await reply.code(200).send();
      void handle(payload, button).catch((err: unknown) => {
        options.log.error({ err: err instanceof Error ? err.message : String(err) }, 'a Slack click failed');
        return tell(payload.response_url, 'That click failed in the receiver: nothing was decided; try again, or use `incident approve`.');
      });
      return reply;
    });

    scope.post('/slack/commands', async (req, reply) => {
      const raw = await verified(req, reply);
      if (raw === undefined) return reply;
      const parsed = SlashCommandSchema.safeParse(Object.fromEntries(new URLSearchParams(raw)));
      if (!parsed.success) return reply.code(422).send({ error: 'not a slash command: want command, text, user_id and response_url' });
      const command = parsed.data;
      if (new URL(command.response_url).origin !== origin) return reply.code(422).send({ error: `response_url is not on ${origin}` });
      await reply.code(200).send();
      void slashCommand(command).catch((err: unknown) => {
        options.log.error({ err: err instanceof Error ? err.message : String(err), text: command.text.slice(0, 100) }, 'a Slack command failed');
        return tell(command.response_url, `\`${command.command} ${command.text}\` failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      return reply;
    });
  });

  /** The person a Slack user is (SLACK_USERS), or undefined after telling them nothing was done. */
  async function personOf(slackUser: string, responseUrl: string, context: Record<string, string>): Promise<string | undefined> {
    const person = options.users.get(slackUser);
    if (person === undefined) {
      options.log.warn({ slackUser, ...context }, 'Slack user not mapped to a person');
      await tell(responseUrl, `<@${slackUser}> is not mapped to a person here (SLACK_USERS): nothing was done.`);
    }
    return person;
  }

  /** `/incident list|show|approve|reject|ack`, as the person the Slack user is: the answer goes to the response_url. */
  async function slashCommand(command: z.infer<typeof SlashCommandSchema>): Promise<void> {
    const person = await personOf(command.user_id, command.response_url, { text: command.text.slice(0, 100) });
    if (person === undefined) return;
    const [verb = 'help', incident, ...rest] = command.text.trim().split(/\s+/).filter(Boolean);
    const needsIncident = ['show', 'approve', 'reject', 'ack'].includes(verb);
    if (!['list', 'show', 'approve', 'reject', 'ack'].includes(verb) || (needsIncident && !incident)) {
      await tell(
        command.response_url,
        `${verb === 'help' ? '' : `Not a command here: \`${command.command} ${command.text}\`\n`}${slashUsage(command.command)}`,
      );
      return;
    }
    const ref = incident ?? '';
    switch (verb) {
      case 'list': {
        const rows = await options.incidents.list({ open: true, limit: 25 });
        await tell(command.response_url, rows.length === 0 ? 'No open incidents.' : codeBlock(incidentTable(rows)));
        return;
      }
      case 'show':
        await tell(command.response_url, codeBlock(incidentView(await options.incidents.status(ref))));
        return;
      case 'ack':
        await options.incidents.acknowledge(ref, person);
        await respond(command.response_url, { response_type: 'in_channel', text: `${person} acknowledged ${ref} (Slack)` });
        return;
    }
    // approve / reject #N [comment]: the number the person was shown is required, so a command
    // typed (or replayed) after the incident moved on never decides an action they did not see.
    const action = /^#(\d+)$/.exec(rest[0] ?? '')?.[1];
    if (!action) {
      await tell(
        command.response_url,
        `Say which action: \`${command.command} ${verb} ${ref} #N\` (\`${command.command} show ${ref}\` shows the one awaiting approval)`,
      );
      return;
    }
    const comment = rest.slice(1).join(' ').slice(0, 2000) || undefined;
    const decision = verb === 'approve' ? 'approve' : 'reject';
    const answer = await signAndDecide(options, person, { incident: ref, decision, action: Number(action), comment }, 'slack-command');
    const outcome = answer.outcome;
    if (!outcome) {
      await tell(command.response_url, `Not done: ${answer.error ?? 'refused'}`);
      return;
    }
    await respond(command.response_url, {
      response_type: 'in_channel',
      text: outcome.needs
        ? `${person} approved #${outcome.action} of ${ref} (Slack); ${outcome.needs}`
        : `${outcome.approved ? ':white_check_mark: approved' : ':x: rejected'} by ${outcome.by} (Slack) at ${outcome.at}: #${outcome.action} of ${ref} \`${outcome.command}\``,
    });
  }

  async function handle(payload: z.infer<typeof InteractionSchema>, button: DecisionButtonValue): Promise<void> {
    const click = payload.actions[0]?.action_id ?? 'acknowledge';
    const person = await personOf(payload.user.id, payload.response_url, { incident: button.incident, click });
    if (person === undefined) return;
    if (click === 'acknowledge') {
      await options.incidents.acknowledge(button.incident, person);
      await respond(payload.response_url, { response_type: 'in_channel', replace_original: false, text: `${person} acknowledged ${button.incident}` });
      return;
    }
    const answer = await signAndDecide(options, person, { incident: button.incident, decision: click, action: button.action }, 'slack');
    const outcome = answer.outcome;
    if (!outcome) {
      await tell(payload.response_url, `Not done: ${answer.error ?? 'refused'}`);
      return;
    }
    if (outcome.needs) {
      await respond(payload.response_url, {
        response_type: 'in_channel',
        replace_original: false,
        text: `${person} approved #${outcome.action}; ${outcome.needs}`,
      });
      return;
    }
    // The request, updated in place: its buttons gone, who decided under it.
    const verdict = `${outcome.approved ? ':white_check_mark: approved' : ':x: rejected'} by ${outcome.by} (Slack) at ${outcome.at}: \`${outcome.command}\``;
    const kept = (payload.message?.blocks ?? []).filter((b) => b['type'] !== 'actions');
    await respond(payload.response_url, {
      replace_original: true,
      text: `#${outcome.action} ${outcome.approved ? 'approved' : 'rejected'} by ${outcome.by}`,
      blocks: [...kept, { type: 'context', elements: [{ type: 'mrkdwn', text: verdict }] }],
    });
  }
}
