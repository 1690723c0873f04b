// The incident's message handlers: each validates its payload with the schema in
// messages.ts, then calls the model. A bad signal is recorded on the timeline and
// ignored (a signal has nobody to answer). The decide update answers: its
// validator refuses a bad or refused decision before anything is written to
// history, and every failure it or the handler raises is an ApplicationFailure,
// which fails the update, never the workflow task.
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import { describeIssues } from './input.js';
import type { IncidentModel } from './model/incident.js';
import {
  AcknowledgeSignalSchema,
  AlertBatchSignalSchema,
  AlertFiredSignalSchema,
  AlertResolvedSignalSchema,
  ApprovalSignalSchema,
  DecideRequestSchema,
  EscalateSignalSchema,
  HotfixRequestSchema,
  NoteSignalSchema,
  ResolveSignalSchema,
  acknowledgeSignal,
  addNoteSignal,
  alertFiredSignal,
  alertResolvedSignal,
  alertsSignal,
  approveSignal,
  decideUpdate,
  escalateSignal,
  hotfixUpdate,
  reproposeUpdate,
  ReproposeRequestSchema,
  type ReproposeOutcome,
  rejectSignal,
  resolveSignal,
  statusQuery,
  type DecisionOutcome,
  type HotfixOutcome,
} from './messages.js';

/** The type of a refused decide update's failure. */
export const DecisionRefused = 'DecisionRefused';

export function listen(model: IncidentModel): void {
  // Approve and reject signals (people's tools send them) take the same path as the update; a refused one is recorded.
  setHandler(approveSignal, (raw) => {
    const p = parseSignal(model, ApprovalSignalSchema, raw, 'approve');
    if (p) model.decideFromSignal(p, true);
  });
  setHandler(rejectSignal, (raw) => {
    const p = parseSignal(model, ApprovalSignalSchema, raw, 'reject');
    if (p) model.decideFromSignal(p, false);
  });
  setHandler(decideUpdate, (raw) => decide(model, raw), { validator: (raw) => void validDecision(model, raw) });
  setHandler(hotfixUpdate, (raw) => hotfix(model, raw), { validator: (raw) => void validHotfix(model, raw) });
  setHandler(reproposeUpdate, (raw) => repropose(model, raw), { validator: (raw) => void validReproposal(model, raw) });
  setHandler(acknowledgeSignal, (raw) => {
    const p = parseSignal(model, AcknowledgeSignalSchema, raw, 'acknowledge');
    if (p) model.acknowledge(p.by);
  });
  setHandler(addNoteSignal, (raw) => {
    const p = parseSignal(model, NoteSignalSchema, raw, 'addNote');
    if (p) model.addNote(p.by, p.text);
  });
  setHandler(alertFiredSignal, (raw) => {
    const alert = parseSignal(model, AlertFiredSignalSchema, raw, 'alertFired');
    if (alert) model.takeAlerts([alert], [], 1);
  });
  setHandler(alertResolvedSignal, (raw) => {
    const p = parseSignal(model, AlertResolvedSignalSchema, raw, 'alertResolved');
    if (p) model.takeAlerts([], [p], 1);
  });
  setHandler(alertsSignal, (raw) => {
    const batch = parseSignal(model, AlertBatchSignalSchema, raw, 'alerts');
    if (batch) model.takeAlerts(batch.firing, batch.resolved, batch.received);
  });
  setHandler(escalateSignal, (raw) => {
    const p = parseSignal(model, EscalateSignalSchema, raw, 'escalate');
    if (p) model.requestEscalation(p.by, p.reason, p.level);
  });
  setHandler(resolveSignal, (raw) => {
    const p = parseSignal(model, ResolveSignalSchema, raw, 'resolve');
    if (p) model.requestResolve(p.by, p.reason);
  });
  setHandler(statusQuery, () => model.status());
}

/** The decide update's validator: throwing refuses the update, and nothing is written to history. */
function validDecision(model: IncidentModel, raw: unknown): z.output<typeof DecideRequestSchema> {
  const parsed = DecideRequestSchema.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`bad decide request: ${describeIssues(parsed.error, '(payload)')}`, DecisionRefused);
  const refusal = model.refuseDecision(parsed.data, parsed.data.decision === 'approve');
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, DecisionRefused);
  return parsed.data;
}

function decide(model: IncidentModel, raw: unknown): DecisionOutcome {
  // Validated already; checked again because another decision may have landed in between.
  const request = validDecision(model, raw);
  const approved = request.decision === 'approve';
  // Checked here, not in the validator, so that the attempt is on the timeline.
  const unsigned = model.refuseUnsigned(request, approved);
  if (unsigned) {
    model.ignore(unsigned);
    throw ApplicationFailure.nonRetryable(unsigned, DecisionRefused);
  }
  return model.applyDecision(request, approved);
}

/** An update's request, parsed and allowed by the model (`refuse` says why not); a refusal fails the update, and nothing is recorded. */
function validRequest<S extends z.ZodType>(schema: S, what: string, raw: unknown, refuse: (request: z.output<S>) => string | undefined): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`bad ${what} request: ${describeIssues(parsed.error, '(payload)')}`, DecisionRefused);
  const refusal = refuse(parsed.data);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, DecisionRefused);
  return parsed.data;
}

/** The proposeHotfix update's validator: a bad image reference, an unlisted approver or a closed incident is refused. */
function validHotfix(model: IncidentModel, raw: unknown): z.output<typeof HotfixRequestSchema> {
  return validRequest(HotfixRequestSchema, 'hotfix', raw, (r) => model.refuseHotfix(r));
}

function hotfix(model: IncidentModel, raw: unknown): HotfixOutcome {
  const request = validHotfix(model, raw);
  const next = model.requestHotfix(request);
  return { image: request.image, ...(request.container ? { container: request.container } : {}), by: request.by, next };
}

/** The repropose update's validator: an unknown action, an unlisted approver or a closed incident is refused. */
function validReproposal(model: IncidentModel, raw: unknown): z.output<typeof ReproposeRequestSchema> {
  return validRequest(ReproposeRequestSchema, 'repropose', raw, (r) => model.refuseReproposal(r));
}

function repropose(model: IncidentModel, raw: unknown): ReproposeOutcome {
  const request = validReproposal(model, raw);
  const { command, next } = model.requestReproposal(request);
  return { action: request.action, command, by: request.by, next };
}

function parseSignal<S extends z.ZodType>(model: IncidentModel, schema: S, raw: unknown, signal: string): z.output<S> | undefined {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  model.ignore(`bad ${signal} payload: ${describeIssues(parsed.error, '(payload)')}`);
  return undefined;
}
