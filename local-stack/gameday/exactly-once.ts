// The game day's exactly-once check, from what the outside world received:
//
// Changes: the sandbox's audit log has one entry per write that reached its
// Kubernetes API, with the idempotency key the written object carries. Every
// change the workflow applied must have been written once per object it
// touches: two real (not dry-run) writes of the same object under the same key
// are a change applied twice; an applied action with no write under its key is a
// change that was never made.
//
// Messages: every message the activities delivered is a line of
// OUTBOX_DIR/<channel>.jsonl. A message is delivered twice when two lines carry
// the same channel, incident (dedupKey), event, level and summary. Status updates
// are left out: they repeat by design (every 15 minutes, "still open"), so the
// same text twice can be correct. Every other message of an incident is sent at
// most once by the workflow (each page level once, each hand-over with its own
// reason, one resolve, one follow-up notice per task group), so a second copy can
// only come from an activity that delivered and was then retried.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry } from '../../sandbox/index.js';

export interface OutboxMessage {
  /** The message's own id, the same on every retry (messages of older workflow code have none). */
  id?: string;
  channel: string;
  sentAt: string;
  event: string;
  incidentId: string;
  dedupKey: string;
  level?: number;
  summary: string;
}

/** Every message in the outbox directory, in file order per channel. */
export function readOutbox(dir: string): OutboxMessage[] {
  if (!existsSync(dir)) return [];
  const messages: OutboxMessage[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    const channel = file.replace(/\.jsonl$/, '');
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      // A line cut by a kill mid-append would not parse: keep it visible as a message of its own.
      try {
        const m = JSON.parse(line) as Partial<OutboxMessage>;
        messages.push({
          ...(typeof m.id === 'string' ? { id: m.id } : {}),
          channel: m.channel ?? channel,
          sentAt: m.sentAt ?? '',
          event: m.event ?? '?',
          incidentId: m.incidentId ?? '?',
          dedupKey: m.dedupKey ?? '?',
          ...(m.level !== undefined ? { level: m.level } : {}),
          summary: m.summary ?? '',
        });
      } catch {
        messages.push({ channel, sentAt: '', event: 'unparseable-line', incidentId: '?', dedupKey: '?', summary: line.slice(0, 200) });
      }
    }
  }
  return messages;
}

export interface AppliedChange {
  idempotencyKey: string;
  command: string;
}

export interface DuplicateWrite {
  idempotencyKey: string;
  object: string;
  times: number;
  at: string[];
  /** The chaos kill between the first two copies, if any (filled in by the game day). */
  afterKill?: string;
}

export interface WriteCheck {
  /** Changes the workflows applied (action records with appliedAt). */
  applied: number;
  /** Real writes that reached the API (dry runs not counted). */
  realWrites: number;
  dryRuns: number;
  /** The same object written twice under one key. */
  duplicates: DuplicateWrite[];
  /** Applied changes with no real write under their key. */
  missing: AppliedChange[];
  /** Real writes under a key no applied change has (an apply that failed half-way, say): reported, not failed. */
  unclaimed: { idempotencyKey: string; object: string; at: string }[];
  /** Real writes without an idempotency key: nothing of ours should make one. */
  unkeyed: { object: string; at: string; fieldManager?: string }[];
  ok: boolean;
}

const objectOf = (e: AuditEntry) => `${e.resource}${e.subresource ? `/${e.subresource}` : ''}/${e.namespace ? `${e.namespace}/` : ''}${e.name}`;

export function checkWrites(audit: readonly AuditEntry[], applied: readonly AppliedChange[]): WriteCheck {
  const real = audit.filter((e) => !e.dryRun);
  const byKeyAndObject = new Map<string, AuditEntry[]>();
  for (const e of real) {
    if (e.idempotencyKey === undefined) continue;
    const k = `${e.idempotencyKey}\u0000${objectOf(e)}`;
    byKeyAndObject.set(k, [...(byKeyAndObject.get(k) ?? []), e]);
  }
  const duplicates = [...byKeyAndObject.values()]
    .filter((writes) => writes.length > 1)
    .map((writes) => ({
      idempotencyKey: writes[0]?.idempotencyKey ?? '',
      object: objectOf(writes[0] as AuditEntry),
      times: writes.length,
      at: writes.map((w) => w.time),
    }));
  const writtenKeys = new Set(real.flatMap((e) => (e.idempotencyKey ? [e.idempotencyKey] : [])));
  const appliedKeys = new Set(applied.map((a) => a.idempotencyKey));
  const missing = applied.filter((a) => !writtenKeys.has(a.idempotencyKey));
  const unclaimed = real
    .filter((e) => e.idempotencyKey !== undefined && !appliedKeys.has(e.idempotencyKey))
    .map((e) => ({ idempotencyKey: e.idempotencyKey ?? '', object: objectOf(e), at: e.time }));
  const unkeyed = real
    .filter((e) => e.idempotencyKey === undefined)
    .map((e) => ({ object: objectOf(e), at: e.time, ...(e.fieldManager ? { fieldManager: e.fieldManager } : {}) }));
  return {
    applied: applied.length,
    realWrites: real.length,
    dryRuns: audit.length - real.length,
    duplicates,
    missing,
    unclaimed,
    unkeyed,
    ok: duplicates.length === 0 && missing.length === 0 && unkeyed.length === 0,
  };
}

export interface DuplicateMessage {
  channel: string;
  event: string;
  dedupKey: string;
  level?: number;
  summary: string;
  times: number;
  sentAt: string[];
  /** The copies' message ids, where they carry one. */
  ids: string[];
  /** The chaos kill between the first two copies, if any (filled in by the game day). */
  afterKill?: string;
}

export interface MessageCheck {
  messages: number;
  /** Status updates, left out of the check (they repeat by design). */
  statusUpdates: number;
  duplicates: DuplicateMessage[];
  /** Lines that are not JSON (a write cut short). */
  unparseable: number;
  ok: boolean;
}

/** Events that repeat by design and are left out of the duplicate rule. */
export const repeatingEvents: ReadonlySet<string> = new Set(['status-update']);

export function checkMessages(messages: readonly OutboxMessage[]): MessageCheck {
  const groups = new Map<string, OutboxMessage[]>();
  let statusUpdates = 0;
  let unparseable = 0;
  for (const m of messages) {
    if (m.event === 'unparseable-line') {
      unparseable += 1;
      continue;
    }
    if (repeatingEvents.has(m.event)) {
      statusUpdates += 1;
      continue;
    }
    const k = [m.channel, m.dedupKey, m.event, m.level ?? '', m.summary].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const duplicates = [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g) => {
      const m = g[0] as OutboxMessage;
      return {
        channel: m.channel,
        event: m.event,
        dedupKey: m.dedupKey,
        ...(m.level !== undefined ? { level: m.level } : {}),
        summary: m.summary,
        times: g.length,
        sentAt: g.map((x) => x.sentAt),
        ids: g.flatMap((x) => (x.id ? [x.id] : [])),
      };
    });
  return { messages: messages.length, statusUpdates, duplicates, unparseable, ok: duplicates.length === 0 && unparseable === 0 };
}
